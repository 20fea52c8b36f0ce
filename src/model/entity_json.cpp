#include "model/entity_json.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

#include "model/geometry.hpp"
#include "model/json_format.hpp"

namespace urbis::model {

namespace json = boost::json;

namespace {

// Sub-attributes may nest; bound the recursion for documents built in code
// (the text parser already caps depth at 32).
constexpr int kMaxSubAttributeDepth = 16;

constexpr std::string_view kCoreUri = "https://uri.etsi.org/ngsi-ld/";

// "Property" or "https://uri.etsi.org/ngsi-ld/Property" -> "Property".
std::string_view short_core_name(std::string_view s) {
  if (s.starts_with(kCoreUri)) s.remove_prefix(kCoreUri.size());
  return s;
}

std::optional<AttributeKind> kind_from_name(std::string_view s) {
  s = short_core_name(s);
  if (s == "Property") return AttributeKind::kProperty;
  if (s == "Relationship") return AttributeKind::kRelationship;
  if (s == "GeoProperty") return AttributeKind::kGeoProperty;
  if (s == "LanguageProperty") return AttributeKind::kLanguageProperty;
  return std::nullopt;
}

// Members of an attribute object that are not sub-attributes, with the kind
// that owns them (nullopt = any kind).
bool is_reserved_attribute_member(std::string_view k) {
  static constexpr std::string_view kReserved[] = {
      "type", "@type", "value", "@value", "object", "languageMap", "observedAt", "unitCode", "datasetId",
      "createdAt", "modifiedAt", "deletedAt", "instanceId", "@context"};
  return std::find(std::begin(kReserved), std::end(kReserved), k) != std::end(kReserved);
}

std::string label(std::string_view name, std::optional<size_t> index) {
  return index ? fmt::format("attribute '{}'[{}]", name, *index) : fmt::format("attribute '{}'", name);
}

Status fail(const std::string& where, std::string_view what) {
  return InvalidArgument(fmt::format("{}: {}", where, what));
}

const json::value* member(const json::object& o, std::string_view a, std::string_view b = {}) {
  if (const json::value* v = o.if_contains(a)) return v;
  return b.empty() ? nullptr : o.if_contains(b);
}

Status read_time(const json::object& o, std::string_view key, const std::string& where, std::optional<int64_t>& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return Status::Ok();
  std::optional<int64_t> t;
  if (v->is_string()) t = parse_datetime_ms(v->get_string());
  if (!t) return fail(where, fmt::format("'{}' is not an ISO 8601 date-time such as 2024-05-01T10:00:00Z", key));
  out = t;
  return Status::Ok();
}

Status parse_instance(std::string_view name, std::optional<size_t> index, const json::value& v, bool sys, int depth,
                      AttributeInstance& out) {
  const std::string where = label(name, index);
  if (depth > kMaxSubAttributeDepth) return fail(where, "sub-attributes nest too deeply");
  const json::object* o = v.if_object();
  if (o == nullptr) return fail(where, "must be an object with a 'type'");
  const json::value* t = member(*o, "type", "@type");
  if (t == nullptr) return fail(where, "'type' missing");
  if (!t->is_string()) return fail(where, "'type' must be a string");
  std::optional<AttributeKind> kind = kind_from_name(t->get_string());
  if (!kind) {
    return fail(where, fmt::format("'type' is '{}', expected Property, Relationship, GeoProperty or LanguageProperty",
                                   std::string_view(t->get_string())));
  }
  out.kind = *kind;
  const json::value* value = member(*o, "value", "@value");
  const json::value* object = o->if_contains("object");
  const json::value* lang = o->if_contains("languageMap");
  switch (*kind) {
    case AttributeKind::kProperty:
    case AttributeKind::kGeoProperty:
      if (object) return fail(where, "'object' is only allowed in a Relationship");
      if (lang) return fail(where, "'languageMap' is only allowed in a LanguageProperty");
      if (value == nullptr) return fail(where, "'value' missing");
      if (value->is_null()) return fail(where, "'value' must not be null");
      if (*kind == AttributeKind::kGeoProperty) {
        Result<geo::Geometry> g = geo::Geometry::from_geojson(*value);
        if (!g.ok()) return fail(where, "GeoJSON: " + g.status().message());
      }
      out.value = *value;
      break;
    case AttributeKind::kRelationship: {
      if (value) return fail(where, "a Relationship has 'object', not 'value'");
      if (lang) return fail(where, "'languageMap' is only allowed in a LanguageProperty");
      if (object == nullptr) return fail(where, "'object' missing");
      bool ok = object->is_string() && looks_like_uri(object->get_string());
      if (const json::array* a = object->if_array()) {
        ok = !a->empty() && std::all_of(a->begin(), a->end(), [](const json::value& e) {
          return e.is_string() && looks_like_uri(e.get_string());
        });
      }
      if (!ok) return fail(where, "'object' must be a URI or a non-empty array of URIs");
      out.value = *object;
      break;
    }
    case AttributeKind::kLanguageProperty: {
      if (value) return fail(where, "a LanguageProperty has 'languageMap', not 'value'");
      if (object) return fail(where, "'object' is only allowed in a Relationship");
      if (lang == nullptr) return fail(where, "'languageMap' missing");
      const json::object* m = lang->if_object();
      if (m == nullptr) return fail(where, "'languageMap' must be an object of language tag -> string");
      for (const auto& kv : *m) {
        bool ok = kv.value().is_string();
        if (const json::array* a = kv.value().if_array())
          ok = std::all_of(a->begin(), a->end(), [](const json::value& e) { return e.is_string(); });
        if (!ok) return fail(where, fmt::format("'languageMap' entry '{}' must be a string or strings",
                                                std::string_view(kv.key())));
      }
      out.value = *lang;
      break;
    }
  }
  if (Status s = read_time(*o, "observedAt", where, out.observed_at_ms); !s.ok()) return s;
  if (const json::value* u = o->if_contains("unitCode")) {
    if (!u->is_string() || u->get_string().empty()) return fail(where, "'unitCode' must be a non-empty string");
    out.unit_code = u->get_string();
  }
  if (const json::value* d = o->if_contains("datasetId")) {
    if (!d->is_string() || !looks_like_uri(d->get_string())) return fail(where, "'datasetId' must be a URI");
    out.dataset_id = d->get_string();
  }
  if (sys) {
    std::optional<int64_t> c, m;
    if (Status s = read_time(*o, "createdAt", where, c); !s.ok()) return s;
    if (Status s = read_time(*o, "modifiedAt", where, m); !s.ok()) return s;
    out.created_at_ms = c.value_or(0);
    out.modified_at_ms = m.value_or(0);
  }
  for (const auto& kv : *o) {
    const std::string_view k = kv.key();
    if (is_reserved_attribute_member(k)) continue;
    if (kv.value().is_array()) {
      return fail(where, fmt::format("sub-attribute '{}' must be an object (multi-instance sub-attributes are not "
                                     "supported)",
                                     k));
    }
    AttributeInstance sub;
    const std::string sub_name = fmt::format("{}.{}", name, k);
    if (Status s = parse_instance(sub_name, std::nullopt, kv.value(), sys, depth + 1, sub); !s.ok()) return s;
    out.sub_attributes.emplace(std::string(k), std::move(sub));
  }
  return Status::Ok();
}

Result<std::vector<AttributeInstance>> parse_attribute(std::string_view name, const json::value& v, bool sys) {
  if (name.empty()) return InvalidArgument("an attribute name must not be empty");
  std::vector<AttributeInstance> out;
  if (const json::array* a = v.if_array()) {
    if (a->empty()) return fail(label(name, std::nullopt), "an array of instances must not be empty");
    for (size_t i = 0; i < a->size(); ++i) {
      AttributeInstance inst;
      if (Status s = parse_instance(name, i, (*a)[i], sys, 0, inst); !s.ok()) return s;
      for (const AttributeInstance& prev : out) {
        if (prev.dataset_id == inst.dataset_id) {
          return fail(label(name, i), inst.dataset_id.empty()
                                          ? std::string("two instances without datasetId (default instance)")
                                          : fmt::format("datasetId '{}' appears twice", inst.dataset_id));
        }
      }
      out.push_back(std::move(inst));
    }
  } else {
    AttributeInstance inst;
    if (Status s = parse_instance(name, std::nullopt, v, sys, 0, inst); !s.ok()) return s;
    out.push_back(std::move(inst));
  }
  return out;
}

// --- output ---------------------------------------------------------------

json::object instance_to_json(const AttributeInstance& a, const EntitySerializeOptions& opt) {
  json::object o;
  o["type"] = attribute_kind_name(a.kind);
  switch (a.kind) {
    case AttributeKind::kRelationship: o["object"] = a.value; break;
    case AttributeKind::kLanguageProperty: o["languageMap"] = a.value; break;
    default: o["value"] = a.value;
  }
  if (a.observed_at_ms) o["observedAt"] = format_datetime_ms(*a.observed_at_ms);
  if (!a.unit_code.empty()) o["unitCode"] = a.unit_code;
  if (!a.dataset_id.empty()) o["datasetId"] = a.dataset_id;
  if (opt.sys_attrs) {
    o["createdAt"] = format_datetime_ms(a.created_at_ms);
    o["modifiedAt"] = format_datetime_ms(a.modified_at_ms);
  }
  for (const auto& [name, sub] : a.sub_attributes) o[name] = instance_to_json(sub, opt);
  return o;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

}  // namespace

bool looks_like_uri(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    const char c = s[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"') return false;
  return true;
}

std::optional<int64_t> parse_datetime_ms(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto digits = [&](size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(5, 2, mo) || s[7] != '-' || !digits(8, 2, d) ||
      (s[10] != 'T' && s[10] != 't') || !digits(11, 2, h) || s[13] != ':' || !digits(14, 2, mi) || s[16] != ':' ||
      !digits(17, 2, sec))
    return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 ||
      sec > 60)
    return std::nullopt;
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 3) ms = ms * 10 + (s[pos] - '0');
      ++n, ++pos;
    }
    if (n == 0) return std::nullopt;
    for (int i = n; i < 3; ++i) ms *= 10;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(pos + 4, 2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;  // NGSI-LD date-times carry a zone; guessing one would silently shift data
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + std::min(sec, 59) - offset_min * 60;
  return secs * 1000 + ms;
}

std::string format_datetime_ms(int64_t unix_ms) {
  int64_t days = unix_ms / 86400000, rem = unix_ms % 86400000;
  if (rem < 0) rem += 86400000, --days;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  const int64_t secs = rem / 1000;
  if (y < 0 || y > 9999) {
    return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", y, m, d, secs / 3600, secs / 60 % 60,
                       secs % 60, rem % 1000);
  }
  // Every stored entity carries several of these: format by hand.
  char buf[25] = "0000-00-00T00:00:00.000Z";
  auto put = [&](int pos, int64_t v, int width) {
    for (int i = pos + width - 1; i >= pos; --i, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4), put(5, m, 2), put(8, d, 2), put(11, secs / 3600, 2), put(14, secs / 60 % 60, 2), put(17, secs % 60, 2);
  put(20, rem % 1000, 3);
  return std::string(buf, 24);
}

Result<std::vector<AttributeInstance>> attribute_from_json(std::string_view name, const json::value& v,
                                                           bool read_sys_attrs) {
  return parse_attribute(name, v, read_sys_attrs);
}

Result<Entity> entity_from_json(const json::value& v, const EntityParseOptions& options) {
  const json::object* o = v.if_object();
  if (o == nullptr) return InvalidArgument("an entity must be a JSON object");
  Entity e;
  const json::value* id = member(*o, "id", "@id");
  if (id != nullptr) {
    if (!id->is_string() || !looks_like_uri(id->get_string())) return InvalidArgument("'id' must be a URI");
    e.id = id->get_string();
  } else if (options.require_id_and_type) {
    return InvalidArgument("'id' missing");
  }
  const json::value* type = member(*o, "type", "@type");
  if (type != nullptr) {
    auto add = [&](const json::value& t) {
      if (!t.is_string() || t.get_string().empty()) return false;
      if (!e.has_type(t.get_string())) e.types.emplace_back(t.get_string());
      return true;
    };
    bool ok = false;
    if (type->is_string()) ok = add(*type);
    if (const json::array* a = type->if_array()) ok = !a->empty() && std::all_of(a->begin(), a->end(), add);
    if (!ok) return InvalidArgument("'type' must be a non-empty string or a non-empty array of them");
  } else if (options.require_id_and_type) {
    return InvalidArgument("'type' missing");
  }
  if (options.read_sys_attrs) {
    std::optional<int64_t> c, m;
    if (Status s = read_time(*o, "createdAt", "entity", c); !s.ok()) return s;
    if (Status s = read_time(*o, "modifiedAt", "entity", m); !s.ok()) return s;
    e.created_at_ms = c.value_or(0);
    e.modified_at_ms = m.value_or(0);
  }
  for (const auto& kv : *o) {
    const std::string_view k = kv.key();
    if (k == "id" || k == "@id" || k == "type" || k == "@type" || k == "@context" || k == "createdAt" ||
        k == "modifiedAt" || k == "deletedAt" || k == "scope")
      continue;
    Result<std::vector<AttributeInstance>> a = parse_attribute(k, kv.value(), options.read_sys_attrs);
    if (!a.ok()) return a.status();
    e.attributes.emplace(std::string(k), std::move(a).value());
  }
  return e;
}

Result<Entity> entity_from_text(std::string_view text, const EntityParseOptions& options) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return InvalidArgument("malformed JSON: " + ec.message());
  return entity_from_json(v, options);
}

json::value attribute_to_json(const std::vector<AttributeInstance>& instances, const EntitySerializeOptions& opt) {
  if (instances.size() == 1) return instance_to_json(instances.front(), opt);
  json::array a;
  for (const AttributeInstance& i : instances) a.push_back(instance_to_json(i, opt));
  return a;
}

json::object entity_to_json(const Entity& e, const EntitySerializeOptions& opt) {
  json::object o;
  if (!e.id.empty()) o["id"] = e.id;
  if (e.types.empty()) {
  } else if (e.types.size() == 1) {
    o["type"] = e.types.front();
  } else {
    json::array t;
    for (const std::string& s : e.types) t.emplace_back(s);
    o["type"] = std::move(t);
  }
  if (opt.sys_attrs) {
    o["createdAt"] = format_datetime_ms(e.created_at_ms);
    o["modifiedAt"] = format_datetime_ms(e.modified_at_ms);
  }
  for (const auto& [name, instances] : e.attributes) {
    if (!instances.empty()) o[name] = attribute_to_json(instances, opt);
  }
  return o;
}

namespace {

// Writes text straight into `out`, in the order entity_to_json() builds: the
// store serialises every written entity, and skipping the intermediate
// json::object halves that cost.
void append_time(std::string& out, std::string_view key, int64_t ms) {
  out.push_back(',');
  append_json_string(out, key);
  out.push_back(':');
  append_json_string(out, format_datetime_ms(ms));
}

void append_instance(std::string& out, const AttributeInstance& a, const EntitySerializeOptions& opt) {
  out += "{\"type\":";
  append_json_string(out, attribute_kind_name(a.kind));
  switch (a.kind) {
    case AttributeKind::kRelationship: out += ",\"object\":"; break;
    case AttributeKind::kLanguageProperty: out += ",\"languageMap\":"; break;
    default: out += ",\"value\":";
  }
  append_json(out, a.value);
  if (a.observed_at_ms) append_time(out, "observedAt", *a.observed_at_ms);
  if (!a.unit_code.empty()) {
    out += ",\"unitCode\":";
    append_json_string(out, a.unit_code);
  }
  if (!a.dataset_id.empty()) {
    out += ",\"datasetId\":";
    append_json_string(out, a.dataset_id);
  }
  if (opt.sys_attrs) {
    append_time(out, "createdAt", a.created_at_ms);
    append_time(out, "modifiedAt", a.modified_at_ms);
  }
  for (const auto& [name, sub] : a.sub_attributes) {
    out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    append_instance(out, sub, opt);
  }
  out.push_back('}');
}

}  // namespace

std::string entity_to_text(const Entity& e, const EntitySerializeOptions& options) {
  std::string out;
  out.reserve(512);
  // A fragment (no id or no type) leaves those members out; the first member
  // written carries no comma, hence the leading '{' is patched below.
  out.push_back('{');
  if (!e.id.empty()) {
    out += ",\"id\":";
    append_json_string(out, e.id);
  }
  if (!e.types.empty()) out += ",\"type\":";
  if (e.types.empty()) {
  } else if (e.types.size() == 1) {
    append_json_string(out, e.types.front());
  } else {
    out.push_back('[');
    for (size_t i = 0; i < e.types.size(); ++i) {
      if (i) out.push_back(',');
      append_json_string(out, e.types[i]);
    }
    out.push_back(']');
  }
  if (options.sys_attrs) {
    append_time(out, "createdAt", e.created_at_ms);
    append_time(out, "modifiedAt", e.modified_at_ms);
  }
  for (const auto& [name, instances] : e.attributes) {
    if (instances.empty()) continue;
    out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    if (instances.size() > 1) out.push_back('[');
    for (size_t i = 0; i < instances.size(); ++i) {
      if (i) out.push_back(',');
      append_instance(out, instances[i], options);
    }
    if (instances.size() > 1) out.push_back(']');
  }
  if (out.size() > 1) out.erase(1, 1);  // the comma before the first member
  out.push_back('}');
  return out;
}

}  // namespace urbis::model
