// Flat JSON payloads, and the decoded objects LoRaWAN network servers attach.
#include <boost/json/parse.hpp>

#include <array>
#include <cmath>

#include "devices/decoders/internal.hpp"
#include "model/entity_json.hpp"

namespace urbis::devices::detail {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 4> kTimeKeys{"observedAt", "timestamp", "time", "ts"};
constexpr size_t kMaxNesting = 8;

bool is_time_key(std::string_view k) {
  for (auto t : kTimeKeys)
    if (t == k) return true;
  return false;
}

// The object's time member, if any: at most one of kTimeKeys.
Status time_member(const json::object& o, const std::string& where, std::optional<int64_t>& out) {
  std::string_view found;
  for (auto k : kTimeKeys) {
    const json::value* v = o.if_contains(k);
    if (v == nullptr) continue;
    if (!found.empty())
      return fail(where, "both '" + std::string(found) + "' and '" + std::string(k) + "' give the time");
    found = k;
    out = time_ms_of(*v);
    if (!out)
      return fail(where, "'" + std::string(k) +
                             "' is not a time (ISO 8601 text such as 2026-11-25T08:15:00Z, or epoch seconds or ms)");
  }
  return Status::Ok();
}

class Flattener {
 public:
  Flattener(std::string_view where, const DecodeOptions& o, Decoded& out) : where_(where), o_(o), out_(out) {}

  Status members(const json::object& obj, const std::string& prefix, std::optional<int64_t> time, size_t depth) {
    for (const auto& kv : obj) {
      const std::string_view key = kv.key();
      if (depth == 0 && is_time_key(key)) continue;
      if (key.empty()) return fail(where_, prefix.empty() ? "empty member name" : "empty member name in '" + prefix + "'");
      std::string name = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
      if (Status s = member(std::move(name), kv.value(), time, depth); !s.ok()) return s;
      // Checked as we go so a huge object is refused before it is all copied.
      if (out_.readings.size() > o_.max_readings) return too_many();
    }
    return Status::Ok();
  }

 private:
  Status member(std::string name, const json::value& v, std::optional<int64_t> time, size_t depth) {
    switch (v.kind()) {
      case json::kind::null: return Status::Ok();  // "no value now", common in codec output
      case json::kind::object: {
        const json::object& o = v.get_object();
        if (const json::value* inner = o.if_contains("value")) return detailed(std::move(name), o, *inner, time);
        if (depth + 1 >= kMaxNesting) return fail(where_, "'" + name + "' nests deeper than " + std::to_string(kMaxNesting));
        return members(o, name, time, depth + 1);
      }
      default: {
        Reading r;
        r.name = std::move(name);
        r.value = v;
        r.time_ms = time;
        out_.readings.push_back(std::move(r));
        return Status::Ok();
      }
    }
  }

  // {"value": v, "unit"|"unitCode": u, "observedAt"|...: t}
  Status detailed(std::string name, const json::object& o, const json::value& value, std::optional<int64_t> time) {
    if (value.is_null()) return Status::Ok();
    Reading r;
    const std::string where = std::string(where_) + ": '" + name + "'";
    for (std::string_view k : {"unit", "unitCode"}) {
      if (const json::value* u = o.if_contains(k)) {
        if (!u->is_string()) return fail(where, "'" + std::string(k) + "' must be a string");
        r.unit = u->get_string();
      }
    }
    std::optional<int64_t> own;
    if (Status s = time_member(o, where, own); !s.ok()) return s;
    r.name = std::move(name);
    r.value = value;
    r.time_ms = own ? own : time;
    out_.readings.push_back(std::move(r));
    return Status::Ok();
  }

  Status too_many() const {
    return fail(where_, "more than the limit of " + std::to_string(o_.max_readings) + " readings");
  }

  std::string_view where_;
  const DecodeOptions& o_;
  Decoded& out_;
};

}  // namespace

Result<json::value> parse_json(std::string_view text, std::string_view where, json::storage_ptr sp) {
  json::parse_options po;
  po.max_depth = 32;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, std::move(sp), po);
  if (ec) return fail(where, "not JSON (" + ec.message() + ")");
  return v;
}

std::optional<int64_t> time_ms_of(const json::value& v) {
  if (v.is_string()) return model::parse_datetime_ms(v.get_string());
  if (!v.is_number()) return std::nullopt;
  double d = v.to_number<double>();
  if (!std::isfinite(d)) return std::nullopt;
  if (std::fabs(d) < 1e11) d *= 1000;
  if (!time_in_range(d)) return std::nullopt;
  return static_cast<int64_t>(std::llround(d));
}

Result<Decoded> decode_json_object(const json::object& obj, std::string_view where, const DecodeOptions& o) {
  std::optional<int64_t> time;
  if (Status s = time_member(obj, std::string(where), time); !s.ok()) return s;
  Decoded d;
  Flattener f(where, o, d);
  if (Status s = f.members(obj, "", time, 0); !s.ok()) return s;
  return d;
}

Result<Decoded> decode_json(std::string_view payload, const DecodeOptions& o) {
  ScratchJson scratch;
  Result<json::value> v = parse_json(payload, "json", scratch.storage());
  if (!v.ok()) return v.status();
  if (!v->is_object()) return fail("json", "payload must be a JSON object");
  return decode_json_object(v->get_object(), "json", o);
}

}  // namespace urbis::devices::detail
