#include "ngsild/subscriptions/subscription.hpp"

#include <openssl/rand.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <regex>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::ngsild {

namespace json = boost::json;

namespace {

Status bad(const std::string& path, std::string_view what) { return InvalidArgument(path + ": " + std::string(what)); }

Result<std::string> get_string(const json::value& v, const std::string& path, bool non_empty = true) {
  if (!v.is_string()) return bad(path, "must be a string");
  std::string s(v.get_string());
  if (non_empty && s.empty()) return bad(path, "must not be empty");
  return s;
}

// A non-empty array of non-empty strings, each converted with `convert`.
template <typename Convert>
Result<std::vector<std::string>> get_names(const json::value& v, const std::string& path, Convert convert) {
  if (!v.is_array() || v.get_array().empty()) return bad(path, "must be a non-empty array of strings");
  std::vector<std::string> out;
  const auto& arr = v.get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    auto s = get_string(arr[i], path + "[" + std::to_string(i) + "]");
    if (!s.ok()) return s.status();
    std::string name = convert(*s);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> get_key_values(const json::value& v, const std::string& path) {
  if (!v.is_array()) return bad(path, "must be an array of {\"key\", \"value\"} objects");
  std::vector<std::pair<std::string, std::string>> out;
  const auto& arr = v.get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) return bad(p, "must be an object with \"key\" and \"value\"");
    const auto& o = arr[i].get_object();
    const json::value* k = o.if_contains("key");
    const json::value* val = o.if_contains("value");
    if (!k) return bad(p + ".key", "required");
    if (!val) return bad(p + ".value", "required");
    auto ks = get_string(*k, p + ".key");
    if (!ks.ok()) return ks.status();
    auto vs = get_string(*val, p + ".value", false);
    if (!vs.ok()) return vs.status();
    out.push_back({std::move(*ks), std::move(*vs)});
  }
  return out;
}

std::string_view scheme_of(std::string_view uri) {
  auto colon = uri.find(':');
  return colon == std::string_view::npos ? std::string_view() : uri.substr(0, colon);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status parse_endpoint(const json::value& v, Endpoint& ep) {
  if (!v.is_object()) return bad("notification.endpoint", "must be an object");
  const auto& o = v.get_object();
  const json::value* uri = o.if_contains("uri");
  if (!uri) return bad("notification.endpoint.uri", "required");
  auto u = get_string(*uri, "notification.endpoint.uri");
  if (!u.ok()) return u.status();
  if (!model::looks_like_uri(*u)) return bad("notification.endpoint.uri", "not an absolute URI");
  const std::string scheme = lower(scheme_of(*u));
  if (scheme != "http" && scheme != "https" && scheme != "mqtt" && scheme != "mqtts")
    return bad("notification.endpoint.uri", "unsupported scheme '" + scheme + "' (http, https, mqtt, mqtts)");
  ep.uri = std::move(*u);
  ep.accept = "application/json";
  if (const json::value* a = o.if_contains("accept")) {
    auto s = get_string(*a, "notification.endpoint.accept");
    if (!s.ok()) return s.status();
    if (*s != "application/json" && *s != "application/ld+json")
      return bad("notification.endpoint.accept", "must be application/json or application/ld+json");
    ep.accept = std::move(*s);
  }
  ep.receiver_info.clear();
  ep.notifier_info.clear();
  if (const json::value* r = o.if_contains("receiverInfo")) {
    auto kv = get_key_values(*r, "notification.endpoint.receiverInfo");
    if (!kv.ok()) return kv.status();
    ep.receiver_info = std::move(*kv);
  }
  if (const json::value* n = o.if_contains("notifierInfo")) {
    auto kv = get_key_values(*n, "notification.endpoint.notifierInfo");
    if (!kv.ok()) return kv.status();
    ep.notifier_info = std::move(*kv);
  }
  return Status::Ok();
}

Status parse_notification(const json::value& v, const Context& ctx, Subscription& s) {
  if (!v.is_object()) return bad("notification", "must be an object");
  const auto& o = v.get_object();
  auto stored = [&ctx](const std::string& t) { return ctx.to_stored(t); };
  if (const json::value* a = o.if_contains("attributes")) {
    auto names = get_names(*a, "notification.attributes", stored);
    if (!names.ok()) return names.status();
    s.notification_attributes = std::move(*names);
  }
  if (const json::value* f = o.if_contains("format")) {
    auto fs = get_string(*f, "notification.format");
    if (!fs.ok()) return fs.status();
    if (*fs == "normalized") s.format = NotificationFormat::kNormalized;
    else if (*fs == "keyValues" || *fs == "simplified") s.format = NotificationFormat::kKeyValues;
    else if (*fs == "concise") s.format = NotificationFormat::kConcise;
    else return bad("notification.format", "must be normalized, keyValues (simplified) or concise");
  }
  if (const json::value* sa = o.if_contains("sysAttrs")) {
    if (!sa->is_bool()) return bad("notification.sysAttrs", "must be true or false");
    s.sys_attrs = sa->get_bool();
  }
  if (const json::value* sc = o.if_contains("showChanges")) {
    if (!sc->is_bool()) return bad("notification.showChanges", "must be true or false");
    if (sc->get_bool()) return bad("notification.showChanges", "not supported");
  }
  const json::value* ep = o.if_contains("endpoint");
  if (!ep) return bad("notification.endpoint", "required");
  return parse_endpoint(*ep, s.endpoint);
}

Status parse_geo_q(const json::value& v, const Context& ctx, Subscription& s) {
  if (!v.is_object()) return bad("geoQ", "must be an object");
  const auto& o = v.get_object();
  GeoQ g;
  const json::value* georel = o.if_contains("georel");
  const json::value* geometry = o.if_contains("geometry");
  const json::value* coords = o.if_contains("coordinates");
  if (!georel) return bad("geoQ.georel", "required");
  if (!geometry) return bad("geoQ.geometry", "required");
  if (!coords) return bad("geoQ.coordinates", "required");
  auto gr = get_string(*georel, "geoQ.georel");
  if (!gr.ok()) return gr.status();
  auto gm = get_string(*geometry, "geoQ.geometry");
  if (!gm.ok()) return gm.status();
  g.georel = std::move(*gr);
  g.geometry = std::move(*gm);
  if (const json::value* gp = o.if_contains("geoproperty")) {
    auto p = get_string(*gp, "geoQ.geoproperty");
    if (!p.ok()) return p.status();
    g.geoproperty = ctx.to_stored(*p);
  }
  Result<model::GeoQuery> parsed = InvalidArgument("unset");
  if (coords->is_string()) {
    // The URL form "[8.6,49.4]" is accepted too; it is kept as the JSON value.
    boost::system::error_code ec;
    json::value cv = json::parse(coords->get_string(), ec);
    if (ec) return bad("geoQ.coordinates", "not a JSON array");
    g.coordinates = std::move(cv);
  } else if (coords->is_array()) {
    g.coordinates = *coords;
  } else {
    return bad("geoQ.coordinates", "must be an array (or its JSON text)");
  }
  parsed = parse_geo_query(g.georel, g.geometry, g.coordinates, g.geoproperty);
  if (!parsed.ok()) return InvalidArgument("geoQ." + parsed.status().message());
  g.query = std::move(parsed).value();
  s.geo_q = std::move(g);
  return Status::Ok();
}

Result<uint8_t> parse_triggers(const json::value& v) {
  static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
      {"entityCreated", kEntityCreated},       {"entityUpdated", kEntityUpdated},
      {"entityDeleted", kEntityDeleted},       {"attributeCreated", kAttributeCreated},
      {"attributeUpdated", kAttributeUpdated}, {"attributeDeleted", kAttributeDeleted},
  };
  auto names = get_names(v, "notificationTrigger", [](const std::string& s) { return s; });
  if (!names.ok()) return names.status();
  uint8_t out = 0;
  for (size_t i = 0; i < names->size(); ++i) {
    bool found = false;
    for (const auto& [n, bit] : kNames) {
      if ((*names)[i] == n) {
        out |= bit;
        found = true;
      }
    }
    if (!found)
      return bad("notificationTrigger[" + std::to_string(i) + "]",
                 "unknown trigger '" + (*names)[i] +
                     "' (entityCreated, entityUpdated, entityDeleted, attributeCreated, attributeUpdated, "
                     "attributeDeleted)");
  }
  return out;
}

json::array triggers_to_json(uint8_t t) {
  static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
      {"entityCreated", kEntityCreated},       {"entityUpdated", kEntityUpdated},
      {"entityDeleted", kEntityDeleted},       {"attributeCreated", kAttributeCreated},
      {"attributeUpdated", kAttributeUpdated}, {"attributeDeleted", kAttributeDeleted},
  };
  json::array a;
  for (const auto& [n, bit] : kNames)
    if (t & bit) a.emplace_back(n);
  return a;
}

}  // namespace

std::string_view format_name(NotificationFormat f) {
  switch (f) {
    case NotificationFormat::kNormalized: return "normalized";
    case NotificationFormat::kKeyValues: return "keyValues";
    case NotificationFormat::kConcise: return "concise";
  }
  return "normalized";
}

std::string_view Subscription::status(int64_t now_ms) const {
  if (expires_at_ms && *expires_at_ms <= now_ms) return "expired";
  return is_active ? "active" : "paused";
}

json::value Subscription::notification_context() const {
  if (!jsonld_context.empty()) return json::string(jsonld_context);
  return context;
}

Result<Subscription> parse_subscription(const json::value& doc, const Context& ctx,
                                        const SubscriptionParseOptions& options) {
  if (!doc.is_object()) return InvalidArgument("subscription: must be a JSON object");
  const auto& o = doc.get_object();
  Subscription s;
  auto stored = [&ctx](const std::string& t) { return ctx.to_stored(t); };

  const json::value* type = o.if_contains("type");
  if (!type) type = o.if_contains("@type");
  if (!type) return bad("type", "required (\"Subscription\")");
  if (!type->is_string() || type->get_string() != "Subscription") return bad("type", "must be \"Subscription\"");

  const json::value* id = o.if_contains("id");
  if (!id) id = o.if_contains("@id");
  if (id) {
    auto v = get_string(*id, "id");
    if (!v.ok()) return v.status();
    if (!model::looks_like_uri(*v)) return bad("id", "not an absolute URI");
    s.id = std::move(*v);
  } else {
    s.id = random_urn("Subscription");
  }
  if (const json::value* v = o.if_contains("subscriptionName")) {
    auto n = get_string(*v, "subscriptionName", false);
    if (!n.ok()) return n.status();
    s.subscription_name = std::move(*n);
  }
  if (const json::value* v = o.if_contains("description")) {
    auto n = get_string(*v, "description", false);
    if (!n.ok()) return n.status();
    s.description = std::move(*n);
  }
  if (const json::value* v = o.if_contains("entities")) {
    if (!v->is_array() || v->get_array().empty()) return bad("entities", "must be a non-empty array");
    const auto& arr = v->get_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string p = "entities[" + std::to_string(i) + "]";
      if (!arr[i].is_object()) return bad(p, "must be an object");
      const auto& e = arr[i].get_object();
      EntitySelector sel;
      const json::value* t = e.if_contains("type");
      if (!t) return bad(p + ".type", "required");
      auto ts = get_string(*t, p + ".type");
      if (!ts.ok()) return ts.status();
      sel.type = ctx.to_stored(*ts);
      if (const json::value* eid = e.if_contains("id")) {
        auto is = get_string(*eid, p + ".id");
        if (!is.ok()) return is.status();
        if (!model::looks_like_uri(*is)) return bad(p + ".id", "not an absolute URI");
        sel.id = std::move(*is);
      }
      if (const json::value* pat = e.if_contains("idPattern")) {
        auto ps = get_string(*pat, p + ".idPattern");
        if (!ps.ok()) return ps.status();
        try {
          std::regex re(*ps, std::regex::ECMAScript);
        } catch (const std::regex_error& err) {
          return bad(p + ".idPattern", std::string("not a valid regular expression: ") + err.what());
        }
        sel.id_pattern = std::move(*ps);
      }
      s.entities.push_back(std::move(sel));
    }
  }
  if (const json::value* v = o.if_contains("watchedAttributes")) {
    auto names = get_names(*v, "watchedAttributes", stored);
    if (!names.ok()) return names.status();
    s.watched_attributes = std::move(*names);
  }
  if (s.entities.empty() && s.watched_attributes.empty())
    return bad("entities", "either entities or watchedAttributes is required");
  if (o.contains("timeInterval")) return bad("timeInterval", "periodic subscriptions are not supported");
  if (const json::value* v = o.if_contains("notificationTrigger")) {
    auto t = parse_triggers(*v);
    if (!t.ok()) return t.status();
    s.triggers = *t;
    s.triggers_given = true;
  }
  if (const json::value* v = o.if_contains("q")) {
    auto text = get_string(*v, "q");
    if (!text.ok()) return text.status();
    auto q = QExpression::parse(*text);
    if (!q.ok()) {
      const std::string m = q.status().message();
      return InvalidArgument(m.rfind("q:", 0) == 0 ? m : "q: " + m);
    }
    q->rename_attributes([&ctx](std::string_view n) { return ctx.to_stored(n); });
    s.q_text = q->to_string();
    s.q = std::move(*q);
  }
  if (const json::value* v = o.if_contains("geoQ")) {
    if (Status st = parse_geo_q(*v, ctx, s); !st.ok()) return st;
  }
  if (const json::value* v = o.if_contains("isActive")) {
    if (!v->is_bool()) return bad("isActive", "must be true or false");
    s.is_active = v->get_bool();
  }
  if (const json::value* v = o.if_contains("expiresAt")) {
    if (!v->is_string()) return bad("expiresAt", "not a date-time");
    auto t = model::parse_datetime_ms(v->get_string());
    if (!t) return bad("expiresAt", "not a date-time");
    if (options.reject_past_expiry && *t <= options.now_ms) return bad("expiresAt", "must be in the future");
    s.expires_at_ms = *t;
  }
  if (const json::value* v = o.if_contains("throttling")) {
    if (!v->is_number()) return bad("throttling", "must be a positive number");
    const double d = v->to_number<double>();
    if (!(d > 0) || !std::isfinite(d)) return bad("throttling", "must be a positive number");
    s.throttling_s = d;
  }
  if (const json::value* v = o.if_contains("jsonldContext")) {
    auto u = get_string(*v, "jsonldContext");
    if (!u.ok()) return u.status();
    if (!model::looks_like_uri(*u)) return bad("jsonldContext", "not an absolute URI");
    s.jsonld_context = std::move(*u);
  }
  for (std::string_view unsupported : {"temporalQ", "csf", "scopeQ"}) {
    if (o.contains(unsupported)) return bad(std::string(unsupported), "not supported");
  }
  const json::value* n = o.if_contains("notification");
  if (!n) return bad("notification", "required");
  if (Status st = parse_notification(*n, ctx, s); !st.ok()) return st;
  if (const json::value* c = o.if_contains("@context")) s.context = *c;
  return s;
}

Status patch_subscription(Subscription& sub, const json::value& fragment, const Context& ctx,
                          const SubscriptionParseOptions& options) {
  if (!fragment.is_object()) return InvalidArgument("subscription: must be a JSON object");
  const auto& f = fragment.get_object();
  if (f.empty()) return InvalidArgument("subscription: the fragment has no member to update");
  if (const json::value* id = f.if_contains("id"); id && (!id->is_string() || id->get_string() != sub.id))
    return bad("id", "cannot be changed");
  if (const json::value* t = f.if_contains("type"); t && (!t->is_string() || t->get_string() != "Subscription"))
    return bad("type", "must be \"Subscription\"");
  // Merge in the client's terms, then parse the whole as a new document.
  json::object merged = subscription_to_json(sub, ctx, options.now_ms);
  merged.erase("status");
  for (const auto& [k, v] : f) {
    if (k == "@context") continue;
    if (k == "notification" && v.is_object()) {
      json::object& n = merged["notification"].as_object();
      for (const auto& [nk, nv] : v.get_object()) {
        if (nv.is_null()) n.erase(nk);
        else n[nk] = nv;
      }
      continue;
    }
    if (v.is_null()) merged.erase(k);
    else merged[k] = v;
  }
  // An unchanged expiresAt in the past is not the client's new input.
  SubscriptionParseOptions po = options;
  if (!f.contains("expiresAt")) po.reject_past_expiry = false;
  auto parsed = parse_subscription(merged, ctx, po);
  if (!parsed.ok()) return parsed.status();
  Subscription next = std::move(parsed).value();
  next.id = sub.id;
  next.context = sub.context;
  next.created_at_ms = sub.created_at_ms;
  next.modified_at_ms = options.now_ms;
  next.stats = sub.stats;
  // notificationTrigger echoed only if ever given.
  next.triggers_given = sub.triggers_given || f.contains("notificationTrigger");
  sub = std::move(next);
  return Status::Ok();
}

json::object subscription_to_json(const Subscription& s, const Context& ctx, int64_t now_ms, bool sys_attrs) {
  json::object o;
  auto term = [&ctx](const std::string& stored) { return ctx.from_stored(stored); };
  o["id"] = s.id;
  o["type"] = "Subscription";
  if (!s.subscription_name.empty()) o["subscriptionName"] = s.subscription_name;
  if (!s.description.empty()) o["description"] = s.description;
  if (!s.entities.empty()) {
    json::array a;
    for (const auto& e : s.entities) {
      json::object eo;
      if (!e.id.empty()) eo["id"] = e.id;
      if (!e.id_pattern.empty()) eo["idPattern"] = e.id_pattern;
      eo["type"] = term(e.type);
      a.emplace_back(std::move(eo));
    }
    o["entities"] = std::move(a);
  }
  if (!s.watched_attributes.empty()) {
    json::array a;
    for (const auto& n : s.watched_attributes) a.emplace_back(term(n));
    o["watchedAttributes"] = std::move(a);
  }
  if (s.triggers_given) o["notificationTrigger"] = triggers_to_json(s.triggers);
  if (!s.q_text.empty()) {
    QExpression q = s.q;
    q.rename_attributes([&term](std::string_view n) { return term(std::string(n)); });
    o["q"] = q.to_string();
  }
  if (s.geo_q) {
    json::object g;
    g["geometry"] = s.geo_q->geometry;
    g["coordinates"] = s.geo_q->coordinates;
    g["georel"] = s.geo_q->georel;
    if (!s.geo_q->geoproperty.empty()) g["geoproperty"] = term(s.geo_q->geoproperty);
    o["geoQ"] = std::move(g);
  }
  o["isActive"] = s.is_active;
  if (s.expires_at_ms) o["expiresAt"] = model::format_datetime_ms(*s.expires_at_ms);
  if (s.throttling_s) o["throttling"] = *s.throttling_s;
  if (!s.jsonld_context.empty()) o["jsonldContext"] = s.jsonld_context;

  json::object n;
  if (!s.notification_attributes.empty()) {
    json::array a;
    for (const auto& name : s.notification_attributes) a.emplace_back(term(name));
    n["attributes"] = std::move(a);
  }
  n["format"] = format_name(s.format);
  if (s.sys_attrs) n["sysAttrs"] = true;
  json::object ep;
  ep["uri"] = s.endpoint.uri;
  ep["accept"] = s.endpoint.accept;
  auto kvs = [](const std::vector<std::pair<std::string, std::string>>& v) {
    json::array a;
    for (const auto& [k, val] : v) a.emplace_back(json::object{{"key", k}, {"value", val}});
    return a;
  };
  if (!s.endpoint.receiver_info.empty()) ep["receiverInfo"] = kvs(s.endpoint.receiver_info);
  if (!s.endpoint.notifier_info.empty()) ep["notifierInfo"] = kvs(s.endpoint.notifier_info);
  n["endpoint"] = std::move(ep);
  const SubscriptionStats& st = s.stats;
  if (st.times_sent > 0) {
    n["status"] = st.last_success_ms >= st.last_failure_ms ? "ok" : "failed";
    n["timesSent"] = st.times_sent;
    n["timesFailed"] = st.times_failed;
  }
  if (st.last_notification_ms) n["lastNotification"] = model::format_datetime_ms(st.last_notification_ms);
  if (st.last_success_ms) n["lastSuccess"] = model::format_datetime_ms(st.last_success_ms);
  if (st.last_failure_ms) n["lastFailure"] = model::format_datetime_ms(st.last_failure_ms);
  if (!st.last_failure_reason.empty()) n["lastFailureReason"] = st.last_failure_reason;
  o["notification"] = std::move(n);
  o["status"] = s.status(now_ms);
  if (sys_attrs) {
    o["createdAt"] = model::format_datetime_ms(s.created_at_ms);
    o["modifiedAt"] = model::format_datetime_ms(s.modified_at_ms);
  }
  return o;
}

std::string subscription_to_stored(const Subscription& s) {
  json::object o = subscription_to_json(s, *Context::core(), 0, /*sys_attrs=*/true);
  o.erase("status");
  // The API echoes these only when known; the stored form keeps them exactly.
  json::object extra;
  extra["context"] = s.context;
  extra["createdAt"] = s.created_at_ms;
  extra["modifiedAt"] = s.modified_at_ms;
  extra["timesSent"] = s.stats.times_sent;
  extra["timesFailed"] = s.stats.times_failed;
  extra["lastNotification"] = s.stats.last_notification_ms;
  extra["lastSuccess"] = s.stats.last_success_ms;
  extra["lastFailure"] = s.stats.last_failure_ms;
  extra["lastFailureReason"] = s.stats.last_failure_reason;
  o["urbis"] = std::move(extra);
  return model::to_json(o);
}

Result<Subscription> subscription_from_stored(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status(Code::kCorruption, "stored subscription: not a JSON object");
  SubscriptionParseOptions po;
  po.reject_past_expiry = false;
  auto s = parse_subscription(v, *Context::core(), po);
  if (!s.ok()) return Status(Code::kCorruption, "stored subscription: " + s.status().message());
  const json::value* extra = v.get_object().if_contains("urbis");
  if (!extra || !extra->is_object()) return Status(Code::kCorruption, "stored subscription: 'urbis' missing");
  const auto& x = extra->get_object();
  auto num = [&x](std::string_view k) -> int64_t {
    const json::value* n = x.if_contains(k);
    return n && n->is_int64() ? n->get_int64() : n && n->is_uint64() ? static_cast<int64_t>(n->get_uint64()) : 0;
  };
  if (const json::value* c = x.if_contains("context")) s->context = *c;
  s->created_at_ms = num("createdAt");
  s->modified_at_ms = num("modifiedAt");
  s->stats.times_sent = static_cast<uint64_t>(num("timesSent"));
  s->stats.times_failed = static_cast<uint64_t>(num("timesFailed"));
  s->stats.last_notification_ms = num("lastNotification");
  s->stats.last_success_ms = num("lastSuccess");
  s->stats.last_failure_ms = num("lastFailure");
  if (const json::value* r = x.if_contains("lastFailureReason"); r && r->is_string()) {
    s->stats.last_failure_reason = std::string(r->get_string());
  }
  return s;
}

std::string random_urn(std::string_view kind) {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // OpenSSL's generator does not fail once seeded; fall back rather than abort.
    std::random_device rd;
    for (auto& c : b) c = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "urn:ngsi-ld:" + std::string(kind) + ":";
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace urbis::ngsild
