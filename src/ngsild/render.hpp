// Rendering stored entities for NGSI-LD responses and notifications.
//
// The EntityStore keeps names (attributes, sub-attributes, types) in canonical
// stored form (see jsonld/context.hpp: Context::to_stored). A response shows
// them compacted against the request's @context, in one of the three
// representations of the API (ETSI GS CIM 009, 4.5):
//   normalized  every attribute with "type" and all members;
//   keyValues   attribute -> its value (Relationship -> object, GeoProperty ->
//               the GeoJSON geometry, LanguageProperty -> languageMap); an
//               attribute with several instances -> an array of values;
//   concise     like normalized without the "type" members; an attribute that
//               has nothing but its value is the bare value (a Property whose
//               value is a JSON object keeps {"value": ...} so it cannot be
//               mistaken for a structure).
// Members createdAt/modifiedAt appear (at every level) only with sys_attrs.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/entity.hpp"
#include "ngsild/jsonld/context.hpp"

namespace urbis::ngsild {

enum class EntityFormat : uint8_t { kNormalized, kKeyValues, kConcise };

struct RenderOptions {
  EntityFormat format = EntityFormat::kNormalized;
  bool sys_attrs = false;
  // Attributes to show, by STORED name (attrs / pick); nullopt = all.
  std::optional<std::set<std::string, std::less<>>> attrs;
  // Attributes to leave out, by stored name (omit).
  std::set<std::string, std::less<>> omit;
  // pick/omit may drop "id" and "type" too.
  bool show_id = true;
  bool show_type = true;
  // Names are compacted against this context; null = the core context.
  const Context* context = nullptr;
  // Add "@context": context->source() (application/ld+json bodies).
  bool with_context_member = false;
  // lang=: language tags by preference ("*" = any). When set, a
  // LanguageProperty is shown as a Property holding the string of the first
  // language it has, with a "lang" member naming it (keyValues: the string);
  // one it has none of falls back to "@none", then to its first language.
  std::vector<std::string> languages;
};

boost::json::object render_entity(const model::Entity& e, const RenderOptions& options);

// The GeoJSON representation (GS CIM 009, 4.5.16): a Feature whose "id" is the
// entity id, whose "geometry" is the value of the GeoProperty
// `geometry_property` (stored name; its default instance, else its first;
// null when the entity has none) and whose "properties" are the entity as
// render_entity() shows it, without "id" (its "type" is the entity type).
boost::json::object render_feature(const model::Entity& e, const RenderOptions& options,
                                   std::string_view geometry_property);

}  // namespace urbis::ngsild
