#include "ngsild/subscriptions/notification.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::ngsild {

namespace json = boost::json;

namespace {

bool is_attribute_member(std::string_view k) {
  static constexpr std::string_view kReserved[] = {"id",        "type",       "value",     "object",
                                                   "languageMap", "observedAt", "unitCode", "datasetId",
                                                   "createdAt", "modifiedAt", "deletedAt", "@context"};
  return std::find(std::begin(kReserved), std::end(kReserved), k) == std::end(kReserved);
}

// Renames the attribute and sub-attribute names of a normalized attribute
// value (object or array of instances) from stored to response form.
void compact_instance(json::value& v, const Context& ctx) {
  auto one = [&ctx](json::object& o) {
    json::object out;
    for (auto& [k, val] : o) {
      if (is_attribute_member(k)) {
        compact_instance(val, ctx);
        out[ctx.from_stored(k)] = std::move(val);
      } else {
        out[k] = std::move(val);
      }
    }
    o = std::move(out);
  };
  if (v.is_object()) one(v.as_object());
  else if (v.is_array())
    for (auto& i : v.as_array())
      if (i.is_object()) one(i.as_object());
}

json::value types_json(const std::vector<std::string>& types, const Context& ctx) {
  if (types.size() == 1) return json::string(ctx.from_stored(types[0]));
  json::array a;
  for (const auto& t : types) a.emplace_back(ctx.from_stored(t));
  return a;
}

json::value key_value(const model::AttributeInstance& a) {
  switch (a.kind) {
    case model::AttributeKind::kLanguageProperty: return json::object{{"languageMap", a.value}};
    default: return a.value;
  }
}

json::object render(const model::Entity& e, const Subscription& s, const Context& ctx) {
  json::object out;
  out["id"] = e.id;
  out["type"] = types_json(e.types, ctx);
  auto selected = [&s](const std::string& name) {
    return s.notification_attributes.empty() || std::find(s.notification_attributes.begin(),
                                                          s.notification_attributes.end(),
                                                          name) != s.notification_attributes.end();
  };
  model::EntitySerializeOptions so;
  so.sys_attrs = s.sys_attrs;
  if (s.sys_attrs) {
    out["createdAt"] = model::format_datetime_ms(e.created_at_ms);
    out["modifiedAt"] = model::format_datetime_ms(e.modified_at_ms);
  }
  for (const auto& [name, instances] : e.attributes) {
    if (!selected(name) || instances.empty()) continue;
    const std::string term = ctx.from_stored(name);
    if (s.format == NotificationFormat::kKeyValues) {
      if (instances.size() == 1) {
        out[term] = key_value(instances[0]);
      } else {
        json::array a;
        for (const auto& i : instances) a.emplace_back(key_value(i));
        out[term] = std::move(a);
      }
      continue;
    }
    json::value v = model::attribute_to_json(instances, so);
    compact_instance(v, ctx);
    if (s.format == NotificationFormat::kConcise) {
      // Concise (4.5.15): "type" is implied by value / object / languageMap.
      auto strip = [](json::object& o) {
        o.erase("type");
        if (o.size() == 1 && o.contains("value")) return json::value(o["value"]);
        return json::value(o);
      };
      if (v.is_object()) v = strip(v.as_object());
      else if (v.is_array())
        for (auto& i : v.as_array())
          if (i.is_object()) i = strip(i.as_object());
    }
    out[term] = std::move(v);
  }
  return out;
}

}  // namespace

Delivery build_delivery(const std::string& tenant, const Subscription& sub, const Context& ctx,
                        const model::Entity* entity, const model::ChangeEvent& event, int64_t now_ms) {
  json::object n;
  n["id"] = random_urn("Notification");
  n["type"] = "Notification";
  n["subscriptionId"] = sub.id;
  n["notifiedAt"] = model::format_datetime_ms(now_ms);
  json::array data;
  if (entity) {
    data.emplace_back(render(*entity, sub, ctx));
  } else {
    json::object d;
    d["id"] = event.entity_id;
    if (!event.entity_type.empty()) d["type"] = ctx.from_stored(event.entity_type);
    d["deletedAt"] = model::format_datetime_ms(event.at_unix_ms ? event.at_unix_ms : now_ms);
    data.emplace_back(std::move(d));
  }
  n["data"] = std::move(data);

  Delivery d;
  d.tenant = tenant;
  d.subscription_id = sub.id;
  d.endpoint = sub.endpoint;
  if (sub.endpoint.accept == "application/ld+json") {
    json::object withctx;
    withctx["@context"] = ctx.is_core() ? json::value(json::string(kCoreContextUrl)) : ctx.source();
    for (auto& [k, v] : n) withctx[k] = std::move(v);
    d.body = model::to_json(withctx);
  } else {
    d.body = model::to_json(n);
    const std::string& url = ctx.link_url();
    d.link_header = link_header_for(url.empty() ? std::string(kCoreContextUrl) : url);
  }
  return d;
}

}  // namespace urbis::ngsild
