// Query parameters shared by the entity, query and temporal routes, parsed into
// what the stores and render_entity() take. Errors name the parameter.
#pragma once

#include <optional>
#include <string>

#include "common/status.hpp"
#include "model/entity.hpp"
#include "ngsild/api/call.hpp"
#include "ngsild/render.hpp"

namespace urbis::ngsild {

// options=keyValues|concise|normalized|sysAttrs (comma list), format=,
// attrs=, pick=, omit= (names converted with the request's context).
// `format` and options name at most one representation; pick and omit
// exclude each other, as do attrs and pick.
Result<RenderOptions> render_options(const Call& call);

// lang= (a language list as in Accept-Language: tags with optional ;q=),
// as tags by preference. Errors name the offending element.
Result<std::vector<std::string>> language_preferences(std::string_view text);

// geometryProperty= (GeoJSON answers): the stored name of the GeoProperty that
// becomes each Feature's geometry; "location" when absent.
Result<std::string> geometry_property(const Call& call);

// Whether ?options= contains `word` (e.g. "noOverwrite", "update", "replace").
bool has_option(const Call& call, std::string_view word);

// A non-negative integer parameter; nullopt when absent.
Result<std::optional<size_t>> size_param(const Call& call, std::string_view name);

// Boolean parameter ("true"/"false"); `fallback` when absent.
Result<bool> bool_param(const Call& call, std::string_view name, bool fallback);

// The entity of a request body with names converted to stored form. With
// `fragment`, id and type are optional (attribute bodies); otherwise an id
// must be a URI and a type is required.
Result<model::Entity> entity_from_body(const Call& call, const boost::json::value& body, bool fragment);

// Renames every attribute, sub-attribute and type of `e` with to_stored.
void names_to_stored(model::Entity& e, const Context& ctx);

}  // namespace urbis::ngsild
