// SenML (RFC 8428) in JSON and CBOR: both are read into JSON values (CBOR
// through cbor_to_json() with the integer labels of section 6 named), then one
// resolver applies the rules of section 4:
//   - base fields (bn, bt, bu, bv, bs, bver) apply to their record and every
//     later one until redefined;
//   - name = bn + n, non-empty, first character a letter or digit, then only
//     letters, digits and - : . / _ (section 4.5.1);
//   - time = bt + t in seconds; below 2^28 it is relative to now (section 4.5.3);
//     with neither bt nor t the record has no time of its own;
//   - value = bv + v; vs, vb, vd (base64url text) are taken as they are;
//     sum = bs + s becomes a second reading flagged `sum`;
//   - unit = u, else bu;
//   - bver above 10 and unknown fields ending in '_' (must-understand) are refused.
// A record with base fields only (no n, value or sum) sets bases and yields nothing.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>

#include "devices/decoders/cbor.hpp"
#include "devices/decoders/internal.hpp"

namespace urbis::devices::detail {

namespace json = boost::json;

namespace {

constexpr double kRelativeTimeLimit = 268435456.0;  // 2^28 seconds
constexpr int64_t kSenmlVersion = 10;

std::string senml_label(int64_t key) {
  switch (key) {
    case -1: return "bver";
    case -2: return "bn";
    case -3: return "bt";
    case -4: return "bu";
    case -5: return "bv";
    case -6: return "bs";
    case 0: return "n";
    case 1: return "u";
    case 2: return "v";
    case 3: return "vs";
    case 4: return "vb";
    case 5: return "s";
    case 6: return "t";
    case 7: return "ut";
    case 8: return "vd";
  }
  return "#" + std::to_string(key);  // unknown integer label: ignored like an unknown field
}

bool name_char_ok(char c, bool first) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (first) return alnum;
  return alnum || c == '-' || c == ':' || c == '.' || c == '/' || c == '_';
}

struct Base {
  std::string name;
  std::optional<double> time;
  std::string unit;
  std::optional<double> value;
  std::optional<double> sum;
};

class Resolver {
 public:
  Resolver(const DecodeOptions& o, Decoded& out) : o_(o), out_(out) {}

  Status pack(const json::value& v) {
    const json::array* a = v.if_array();
    if (a == nullptr) return fail("senml", "a pack must be an array of records");
    for (size_t i = 0; i < a->size(); ++i) {
      where_ = "senml[" + std::to_string(i) + "]";
      if (Status s = record((*a)[i]); !s.ok()) return s;
      if (out_.readings.size() > o_.max_readings)
        return fail("senml", "more than the limit of " + std::to_string(o_.max_readings) + " readings");
    }
    return Status::Ok();
  }

 private:
  Status number(const json::object& r, std::string_view key, std::optional<double>& out) {
    const json::value* v = r.if_contains(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return fail(where_, "'" + std::string(key) + "' must be a number");
    const double d = v->to_number<double>();
    if (!std::isfinite(d)) return fail(where_, "'" + std::string(key) + "' must be a finite number");
    out = d;
    return Status::Ok();
  }

  Status text(const json::object& r, std::string_view key, std::optional<std::string>& out) {
    const json::value* v = r.if_contains(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return fail(where_, "'" + std::string(key) + "' must be a string");
    out = std::string(v->get_string());
    return Status::Ok();
  }

  Status record(const json::value& rv) {
    const json::object* rp = rv.if_object();
    if (rp == nullptr) return fail(where_, "a record must be an object");
    const json::object& r = *rp;
    bool only_base = true;
    for (const auto& kv : r) {
      const std::string_view k = kv.key();
      if (!k.empty() && k.back() == '_') return fail(where_, "unsupported must-understand field '" + std::string(k) + "'");
      if (k != "bn" && k != "bt" && k != "bu" && k != "bv" && k != "bs" && k != "bver") only_base = false;
    }

    // Base fields first: they apply to this record too.
    if (const json::value* ver = r.if_contains("bver")) {
      if (!ver->is_int64() && !ver->is_uint64()) return fail(where_, "'bver' must be an integer");
      if (!ver->is_int64() || ver->get_int64() > kSenmlVersion)
        return fail(where_, "version " + (ver->is_int64() ? std::to_string(ver->get_int64()) : std::to_string(ver->get_uint64())) + " is newer than the supported 10");
    }
    std::optional<std::string> s;
    if (Status st = text(r, "bn", s); !st.ok()) return st;
    if (s) base_.name = std::move(*s);
    std::optional<double> d;
    if (Status st = number(r, "bt", d); !st.ok()) return st;
    if (d) base_.time = d;
    s.reset();
    if (Status st = text(r, "bu", s); !st.ok()) return st;
    if (s) base_.unit = std::move(*s);
    d.reset();
    if (Status st = number(r, "bv", d); !st.ok()) return st;
    if (d) base_.value = d;
    d.reset();
    if (Status st = number(r, "bs", d); !st.ok()) return st;
    if (d) base_.sum = d;
    if (only_base) return Status::Ok();

    // Name.
    std::optional<std::string> n;
    if (Status st = text(r, "n", n); !st.ok()) return st;
    std::string name = base_.name + (n ? *n : "");
    if (name.empty()) return fail(where_, "no name (neither 'bn' nor 'n')");
    for (size_t i = 0; i < name.size(); ++i) {
      if (!name_char_ok(name[i], i == 0))
        return fail(where_, "name '" + name + "' has a character SenML does not allow at position " + std::to_string(i));
    }

    // Unit and time.
    std::optional<std::string> u;
    if (Status st = text(r, "u", u); !st.ok()) return st;
    std::optional<double> t, ut;
    if (Status st = number(r, "t", t); !st.ok()) return st;
    if (Status st = number(r, "ut", ut); !st.ok()) return st;
    std::optional<int64_t> time_ms;
    if (t || base_.time) {
      const double secs = base_.time.value_or(0) + t.value_or(0);
      const double ms = secs < kRelativeTimeLimit ? static_cast<double>(o_.now_ms) + secs * 1000 : secs * 1000;
      if (!time_in_range(ms)) return fail(where_, "time is out of range (1970 to 9999)");
      time_ms = static_cast<int64_t>(std::llround(ms));
    }

    // Values: at most one of v, vs, vb, vd; and/or a sum.
    Reading reading;
    int values = 0;
    if (const json::value* v = r.if_contains("v")) {
      ++values;
      if (!v->is_number()) return fail(where_, "'v' must be a number");
      if (base_.value) {
        const double sum = *base_.value + v->to_number<double>();
        if (!std::isfinite(sum)) return fail(where_, "'v' must be a finite number");
        reading.value = sum;
      } else {
        if (v->is_double() && !std::isfinite(v->get_double())) return fail(where_, "'v' must be a finite number");
        reading.value = *v;
      }
    }
    if (const json::value* v = r.if_contains("vs")) {
      ++values;
      if (!v->is_string()) return fail(where_, "'vs' must be a string");
      reading.value = *v;
    }
    if (const json::value* v = r.if_contains("vb")) {
      ++values;
      if (!v->is_bool()) return fail(where_, "'vb' must be a boolean");
      reading.value = *v;
    }
    if (const json::value* v = r.if_contains("vd")) {
      ++values;
      if (!v->is_string()) return fail(where_, "'vd' must be a base64url string");
      reading.value = *v;
    }
    if (values > 1) return fail(where_, "more than one value field (v, vs, vb, vd)");
    std::optional<double> sum;
    if (Status st = number(r, "s", sum); !st.ok()) return st;
    if (sum && base_.sum) *sum += *base_.sum;
    if (values == 0 && !sum) return fail(where_, "no value ('v', 'vs', 'vb', 'vd' or 's')");

    const std::string unit = u ? *u : base_.unit;
    if (values == 1) {
      reading.name = name;
      reading.unit = unit;
      reading.time_ms = time_ms;
      out_.readings.push_back(std::move(reading));
    }
    if (sum) {
      if (!std::isfinite(*sum)) return fail(where_, "'s' must be a finite number");
      Reading r2;
      r2.name = std::move(name);
      r2.value = *sum;
      r2.unit = unit;
      r2.time_ms = time_ms;
      r2.sum = true;
      out_.readings.push_back(std::move(r2));
    }
    return Status::Ok();
  }

  const DecodeOptions& o_;
  Decoded& out_;
  Base base_;
  std::string where_;
};

Result<Decoded> resolve(const json::value& pack, const DecodeOptions& o) {
  Decoded d;
  Resolver r(o, d);
  if (Status s = r.pack(pack); !s.ok()) return s;
  return d;
}

}  // namespace

Result<Decoded> decode_senml_json(std::string_view payload, const DecodeOptions& o) {
  ScratchJson scratch;
  Result<json::value> v = parse_json(payload, "senml", scratch.storage());
  if (!v.ok()) return v.status();
  return resolve(*v, o);
}

Result<Decoded> decode_senml_cbor(std::string_view payload, const DecodeOptions& o) {
  CborOptions co;
  co.key_name = senml_label;
  Result<json::value> v = cbor_to_json(payload, co);
  if (!v.ok()) return fail("senml", v.status().message());
  return resolve(*v, o);
}

}  // namespace urbis::devices::detail
