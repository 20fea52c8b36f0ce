#include "ngsild/render.hpp"

#include <boost/json.hpp>

#include <optional>
#include <utility>

#include "model/entity_json.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
using model::AttributeInstance;
using model::AttributeKind;

namespace {

std::string shown(const Context& ctx, const std::string& stored) { return ctx.from_stored(stored); }

// The members an instance has besides its value, in normalized form.
bool has_extras(const AttributeInstance& a, const RenderOptions& o) {
  return a.observed_at_ms || !a.unit_code.empty() || !a.dataset_id.empty() || !a.sub_attributes.empty() ||
         o.sys_attrs;
}

std::string_view value_member(AttributeKind k) {
  switch (k) {
    case AttributeKind::kRelationship: return "object";
    case AttributeKind::kLanguageProperty: return "languageMap";
    default: return "value";
  }
}

json::value render_instance(const AttributeInstance& a, const RenderOptions& o, const Context& ctx);

json::object render_instance_object(const AttributeInstance& a, const RenderOptions& o, const Context& ctx) {
  json::object out;
  if (o.format == EntityFormat::kNormalized) out["type"] = model::attribute_kind_name(a.kind);
  out[value_member(a.kind)] = a.value;
  if (a.observed_at_ms) out["observedAt"] = model::format_datetime_ms(*a.observed_at_ms);
  if (!a.unit_code.empty()) out["unitCode"] = a.unit_code;
  if (!a.dataset_id.empty()) out["datasetId"] = a.dataset_id;
  if (o.sys_attrs) {
    out["createdAt"] = model::format_datetime_ms(a.created_at_ms);
    out["modifiedAt"] = model::format_datetime_ms(a.modified_at_ms);
  }
  for (const auto& [name, sub] : a.sub_attributes) out[shown(ctx, name)] = render_instance(sub, o, ctx);
  return out;
}

// The (language, string) lang= picks from a languageMap; nullopt when the map is empty.
std::optional<std::pair<std::string, json::value>> pick_language(const json::value& map,
                                                                 const std::vector<std::string>& prefs) {
  if (!map.is_object() || map.as_object().empty()) return std::nullopt;
  const json::object& m = map.as_object();
  for (const std::string& want : prefs) {
    if (want == "*") return std::make_pair(std::string(m.begin()->key()), m.begin()->value());
    if (const json::value* v = m.if_contains(want)) return std::make_pair(want, *v);
  }
  if (const json::value* v = m.if_contains("@none")) return std::make_pair(std::string("@none"), *v);
  return std::make_pair(std::string(m.begin()->key()), m.begin()->value());
}

json::value render_instance(const AttributeInstance& a, const RenderOptions& o, const Context& ctx) {
  if (a.kind == AttributeKind::kLanguageProperty && !o.languages.empty()) {
    if (auto picked = pick_language(a.value, o.languages)) {
      if (o.format == EntityFormat::kKeyValues) return picked->second;
      AttributeInstance as_property = a;
      as_property.kind = AttributeKind::kProperty;
      as_property.value = picked->second;
      json::object out = render_instance_object(as_property, o, ctx);
      out["lang"] = picked->first;
      return out;
    }
  }
  switch (o.format) {
    case EntityFormat::kKeyValues: return a.value;
    case EntityFormat::kConcise:
      if (!has_extras(a, o)) {
        // A bare value must not read as a structure: a Property holding an
        // object keeps {"value": ...}; a Relationship or LanguageProperty
        // keeps its member name, which is what tells its kind.
        if (a.kind == AttributeKind::kGeoProperty) return a.value;
        if (a.kind == AttributeKind::kProperty && !a.value.is_object()) return a.value;
      }
      return render_instance_object(a, o, ctx);
    case EntityFormat::kNormalized: break;
  }
  return render_instance_object(a, o, ctx);
}

}  // namespace

json::object render_entity(const model::Entity& e, const RenderOptions& o) {
  const Context& ctx = o.context ? *o.context : *Context::core();
  json::object out;
  if (o.with_context_member) out["@context"] = ctx.source();
  if (o.show_id && !e.id.empty()) out["id"] = e.id;
  if (o.show_type && !e.types.empty()) {
    if (e.types.size() == 1) {
      out["type"] = shown(ctx, e.types.front());
    } else {
      json::array t;
      for (const std::string& s : e.types) t.emplace_back(shown(ctx, s));
      out["type"] = std::move(t);
    }
  }
  if (o.sys_attrs) {
    out["createdAt"] = model::format_datetime_ms(e.created_at_ms);
    out["modifiedAt"] = model::format_datetime_ms(e.modified_at_ms);
  }
  for (const auto& [name, instances] : e.attributes) {
    if (instances.empty()) continue;
    if (o.attrs && !o.attrs->contains(name)) continue;
    if (o.omit.contains(name)) continue;
    json::value v;
    if (instances.size() == 1) {
      v = render_instance(instances.front(), o, ctx);
    } else {
      json::array arr;
      for (const AttributeInstance& i : instances) arr.push_back(render_instance(i, o, ctx));
      v = std::move(arr);
    }
    out[shown(ctx, name)] = std::move(v);
  }
  return out;
}

boost::json::object render_feature(const model::Entity& e, const RenderOptions& options,
                                   std::string_view geometry_property) {
  boost::json::object rendered = render_entity(e, options);
  boost::json::object props;  // rebuilt: object::erase would reorder the members
  props.reserve(rendered.size());
  for (auto& [k, v] : rendered)
    if (k != "id" && k != "@id" && k != "@context") props.emplace(k, std::move(v));
  boost::json::object f;
  f["id"] = e.id;
  f["type"] = "Feature";
  boost::json::value geometry;  // null
  if (auto it = e.attributes.find(std::string(geometry_property)); it != e.attributes.end()) {
    const model::AttributeInstance* chosen = nullptr;
    for (const model::AttributeInstance& i : it->second) {
      if (i.kind != model::AttributeKind::kGeoProperty) continue;
      if (chosen == nullptr || i.dataset_id.empty()) chosen = &i;
      if (i.dataset_id.empty()) break;
    }
    if (chosen != nullptr) geometry = chosen->value;
  }
  f["geometry"] = std::move(geometry);
  f["properties"] = std::move(props);
  return f;
}

}  // namespace urbis::ngsild
