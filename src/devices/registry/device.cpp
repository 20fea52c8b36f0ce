#include "devices/registry/device.hpp"

#include <algorithm>
#include <cmath>

#include "model/entity_json.hpp"

namespace urbis::devices {

namespace json = boost::json;

namespace {

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxTextBytes = 256;  // name, profile, firmware, one tag
constexpr size_t kMaxTags = 64;

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

Status field_error(std::string_view field, std::string_view what) {
  return InvalidArgument(std::string(field) + ": " + std::string(what));
}

Result<std::string> text_member(const json::value& v, std::string_view field) {
  if (!v.is_string()) return field_error(field, "expected a string");
  const json::string& s = v.as_string();
  if (s.size() > kMaxTextBytes) return field_error(field, "longer than " + std::to_string(kMaxTextBytes) + " bytes");
  if (std::find(s.begin(), s.end(), '\0') != s.end()) return field_error(field, "contains NUL");
  return std::string(s);
}

Result<std::vector<std::string>> tags_member(const json::value& v) {
  if (!v.is_array()) return field_error("tags", "expected an array of strings");
  const json::array& a = v.as_array();
  if (a.size() > kMaxTags) return field_error("tags", "more than " + std::to_string(kMaxTags) + " tags");
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) {
    std::string f = "tags[" + std::to_string(i) + "]";
    auto t = text_member(a[i], f);
    if (!t.ok()) return t.status();
    if (t->empty()) return field_error(f, "empty tag");
    out.push_back(std::move(*t));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<DeviceState> state_member(const json::value& v) {
  if (v.is_string()) {
    if (auto s = parse_state(v.as_string())) return *s;
  }
  return field_error("state", "expected one of provisioned, active, silent, quarantined, disabled");
}

Result<std::optional<GeoPoint>> location_member(const json::value& v) {
  if (v.is_null()) return std::optional<GeoPoint>();
  auto p = parse_point(v, "location");
  if (!p.ok()) return p.status();
  return std::optional<GeoPoint>(*p);
}

json::value time_or_null(int64_t ms) {
  if (ms == 0) return nullptr;
  return json::string(model::format_datetime_ms(ms));
}

}  // namespace

std::string_view state_name(DeviceState s) {
  switch (s) {
    case DeviceState::kProvisioned: return "provisioned";
    case DeviceState::kActive: return "active";
    case DeviceState::kSilent: return "silent";
    case DeviceState::kQuarantined: return "quarantined";
    case DeviceState::kDisabled: return "disabled";
  }
  return "provisioned";
}

std::optional<DeviceState> parse_state(std::string_view s) {
  for (DeviceState st : {DeviceState::kProvisioned, DeviceState::kActive, DeviceState::kSilent,
                         DeviceState::kQuarantined, DeviceState::kDisabled}) {
    if (state_name(st) == s) return st;
  }
  return std::nullopt;
}

Status validate_device_id(std::string_view id) {
  if (id.empty()) return field_error("id", "must not be empty");
  if (id.size() > kMaxIdBytes) return field_error("id", "longer than " + std::to_string(kMaxIdBytes) + " bytes");
  if (!std::all_of(id.begin(), id.end(), id_char))
    return field_error("id", "may contain only letters, digits, '.', '_', ':' and '-'");
  return Status::Ok();
}

Status validate_tenant(std::string_view tenant) {
  if (tenant.empty()) return field_error("tenant", "must not be empty (the default tenant is \"default\")");
  if (tenant.size() > kMaxIdBytes)
    return field_error("tenant", "longer than " + std::to_string(kMaxIdBytes) + " bytes");
  if (!std::all_of(tenant.begin(), tenant.end(), id_char))
    return field_error("tenant", "may contain only letters, digits, '.', '_', ':' and '-'");
  // urbis/ingest/... are the measurement topics without a device
  // (ingest/json_ingest.hpp): a tenant of that name would have its device
  // topics taken by them.
  if (tenant == "ingest") return field_error("tenant", "'ingest' is reserved for the urbis/ingest/... topics");
  return Status::Ok();
}

std::string tenant_from_wire(std::string_view wire) { return wire == "default" ? std::string() : std::string(wire); }
std::string_view tenant_to_wire(std::string_view tenant) { return tenant.empty() ? "default" : tenant; }

std::string up_topic(const Device& d) {
  return "urbis/" + std::string(tenant_to_wire(d.tenant)) + "/" + d.id + "/up";
}
std::string down_topic(const Device& d) {
  return "urbis/" + std::string(tenant_to_wire(d.tenant)) + "/" + d.id + "/down";
}

Result<GeoPoint> parse_point(const json::value& v, std::string_view field) {
  const std::string f(field);
  if (!v.is_object()) return field_error(f, "expected a GeoJSON Point {\"type\":\"Point\",\"coordinates\":[lon,lat]}");
  const json::object& o = v.as_object();
  auto type = o.if_contains("type");
  if (!type || !type->is_string() || type->as_string() != "Point") return field_error(f + ".type", "expected \"Point\"");
  auto coords = o.if_contains("coordinates");
  if (!coords || !coords->is_array() || coords->as_array().size() < 2 || coords->as_array().size() > 3)
    return field_error(f + ".coordinates", "expected [longitude, latitude] or [longitude, latitude, altitude]");
  const json::array& c = coords->as_array();
  double n[3] = {0, 0, 0};
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c[i].is_number()) return field_error(f + ".coordinates[" + std::to_string(i) + "]", "expected a number");
    n[i] = c[i].to_number<double>();
    if (!std::isfinite(n[i])) return field_error(f + ".coordinates[" + std::to_string(i) + "]", "not finite");
  }
  if (n[0] < -180 || n[0] > 180) return field_error(f + ".coordinates[0]", "longitude outside -180..180");
  if (n[1] < -90 || n[1] > 90) return field_error(f + ".coordinates[1]", "latitude outside -90..90");
  for (const auto& [k, _] : o) {
    if (k != "type" && k != "coordinates") return field_error(f + "." + std::string(k), "unknown member");
  }
  GeoPoint p{n[0], n[1], std::nullopt};
  if (c.size() == 3) p.alt = n[2];
  return p;
}

Result<DeviceSpec> parse_device_spec(const json::value& v) {
  if (!v.is_object()) return InvalidArgument("body: expected a JSON object");
  DeviceSpec s;
  s.tenant = "";
  bool have_id = false;
  for (const auto& [key, val] : v.as_object()) {
    if (key == "id") {
      if (!val.is_string()) return field_error("id", "expected a string");
      s.id = std::string(val.as_string());
      have_id = true;
    } else if (key == "tenant") {
      if (!val.is_string()) return field_error("tenant", "expected a string");
      if (Status st = validate_tenant(val.as_string()); !st.ok()) return st;
      s.tenant = tenant_from_wire(val.as_string());
    } else if (key == "name" || key == "profile" || key == "firmware") {
      auto t = text_member(val, key);
      if (!t.ok()) return t.status();
      (key == "name" ? s.name : key == "profile" ? s.profile : s.firmware) = std::move(*t);
    } else if (key == "location") {
      auto l = location_member(val);
      if (!l.ok()) return l.status();
      s.location = *l;
    } else if (key == "tags") {
      auto t = tags_member(val);
      if (!t.ok()) return t.status();
      s.tags = std::move(*t);
    } else if (key == "state") {
      auto st = state_member(val);
      if (!st.ok()) return st.status();
      s.state = *st;
    } else if (key == "certificate") {
      if (!val.is_bool()) return field_error("certificate", "expected true or false");
      s.certificate = val.as_bool();
    } else {
      return field_error(key, "unknown member");
    }
  }
  if (!have_id) return field_error("id", "is required");
  if (Status st = validate_device_id(s.id); !st.ok()) return st;
  return s;
}

Result<DevicePatch> parse_device_patch(const json::value& v) {
  if (!v.is_object()) return InvalidArgument("body: expected a JSON object");
  DevicePatch p;
  for (const auto& [key, val] : v.as_object()) {
    if (key == "id" || key == "tenant") {
      return field_error(key, "cannot be changed (delete the device and create it again)");
    } else if (key == "name" || key == "profile" || key == "firmware") {
      auto t = text_member(val, key);
      if (!t.ok()) return t.status();
      (key == "name" ? p.name : key == "profile" ? p.profile : p.firmware) = std::move(*t);
    } else if (key == "location") {
      auto l = location_member(val);
      if (!l.ok()) return l.status();
      p.location = *l;
    } else if (key == "tags") {
      auto t = tags_member(val);
      if (!t.ok()) return t.status();
      p.tags = std::move(*t);
    } else if (key == "state") {
      auto st = state_member(val);
      if (!st.ok()) return st.status();
      p.state = *st;
    } else if (key == "certificate") {
      if (!val.is_bool()) return field_error("certificate", "expected true or false");
      p.certificate = val.as_bool();
    } else {
      return field_error(key, "unknown member");
    }
  }
  return p;
}

json::object point_to_json(const GeoPoint& p) {
  json::object o;
  o["type"] = "Point";
  json::array c{p.lon, p.lat};
  if (p.alt) c.emplace_back(*p.alt);
  o["coordinates"] = std::move(c);
  return o;
}

json::object device_to_json(const Device& d) {
  json::object o;
  o["id"] = d.id;
  o["tenant"] = tenant_to_wire(d.tenant);
  o["name"] = d.name;
  o["profile"] = d.profile;
  o["location"] = d.location ? json::value(point_to_json(*d.location)) : json::value(nullptr);
  json::array tags;
  for (const auto& t : d.tags) tags.emplace_back(json::string(t));
  o["tags"] = std::move(tags);
  o["state"] = state_name(d.state);
  o["firmware"] = d.firmware;
  o["createdAt"] = time_or_null(d.created_ms);
  o["modifiedAt"] = time_or_null(d.updated_ms);
  o["lastSeen"] = time_or_null(d.last_seen_ms);
  o["lastError"] = d.last_error.empty() ? json::value(nullptr) : json::value(json::string(d.last_error));
  o["lastErrorAt"] = time_or_null(d.last_error_ms);
  o["errorCount"] = d.error_count;
  o["hasToken"] = d.has_token;
  o["tokenCreatedAt"] = time_or_null(d.token_created_ms);
  o["certificate"] = d.certificate;
  json::object topics;
  topics["up"] = up_topic(d);
  topics["down"] = down_topic(d);
  o["topics"] = std::move(topics);
  return o;
}

}  // namespace urbis::devices
