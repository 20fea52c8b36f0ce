#include "ngsild/subscriptions/notification.hpp"

#include <boost/json.hpp>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"
#include "ngsild/render.hpp"

namespace urbis::ngsild {

namespace json = boost::json;

namespace {

json::object render(const model::Entity& e, const Subscription& s, const Context& ctx) {
  RenderOptions o;
  o.context = &ctx;
  o.sys_attrs = s.sys_attrs;
  switch (s.format) {
    case NotificationFormat::kKeyValues: o.format = EntityFormat::kKeyValues; break;
    case NotificationFormat::kConcise: o.format = EntityFormat::kConcise; break;
    default: o.format = EntityFormat::kNormalized; break;
  }
  if (!s.notification_attributes.empty())
    o.attrs.emplace(s.notification_attributes.begin(), s.notification_attributes.end());
  return render_entity(e, o);
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
