// Device profiles: decoded readings to NGSI-LD attributes. See profile.hpp.
#include <algorithm>
#include <cmath>

#include "devices/profiles/profile.hpp"
#include "devices/profiles/profile_internal.hpp"
#include "model/json_format.hpp"

namespace urbis::devices {

namespace json = boost::json;

namespace {

using profile_detail::name_problem;

// number * scale + offset. A scale like 0.01 or 0.1 is not exact in binary,
// so 57 * 0.01 gives 0.5700000000000001 where the user expects 0.57; dividing
// by the integer the scale is the inverse of (57 / 100) gives the nearest
// double to the decimal result, which is what the user wrote down. The offset
// joins before the division for the same reason: 612 * 0.1 - 40 gives
// 21.200000000000003, (612 - 400) / 10 gives 21.2.
double scaled(double x, double scale, double offset) {
  if (std::fabs(scale) < 1) {
    const double inv = 1 / scale;
    const double r = std::round(inv);
    if (r != 0 && std::fabs(inv - r) <= 1e-9 * std::fabs(r)) return (x + offset * r) / r;
  }
  return x * scale + offset;
}

std::optional<double> number_of(const json::value& v) {
  if (const int64_t* i = v.if_int64()) return static_cast<double>(*i);
  if (const uint64_t* u = v.if_uint64()) return static_cast<double>(*u);
  if (const double* d = v.if_double()) return *d;
  return std::nullopt;
}

std::string shown(const json::value& v) {
  std::string s = model::to_json(v);
  if (s.size() > 64) s = s.substr(0, 61) + "...";
  return s;
}

Result<json::value> apply(const AttributeMapping& m, const Reading& r) {
  if (!m.values.empty()) {
    auto it = m.values.find(profile_detail::value_key(r.value));
    if (it == m.values.end()) {
      return InvalidArgument("reading '" + r.name + "' (attribute '" + m.name + "'): value " + shown(r.value) +
                             " is not in the profile's values table");
    }
    return it->second;
  }
  if (m.numeric) {
    std::optional<double> x = number_of(r.value);
    if (!x) {
      return InvalidArgument("reading '" + r.name + "' (attribute '" + m.name + "'): scale/offset need a number, got " +
                             shown(r.value));
    }
    return json::value(scaled(*x, m.scale, m.offset));
  }
  return r.value;
}

MappedAttribute kept(const Reading& r) {
  return MappedAttribute{r.name, r.value, unit_code_of(r.unit), r.time_ms};
}

}  // namespace

std::string unit_code_of(std::string_view unit) {
  // SenML units (RFC 8428 section 12.1 and RFC 8798), as the decoders report
  // them, to UN/CEFACT Recommendation 20 common codes.
  static constexpr std::pair<std::string_view, std::string_view> kCodes[] = {
      {"Cel", "CEL"},  {"K", "KEL"},     {"%RH", "P1"},   {"%", "P1"},     {"%EL", "P1"},   {"m", "MTR"},
      {"mm", "MMT"},   {"cm", "CMT"},    {"km", "KMT"},   {"kg", "KGM"},   {"g", "GRM"},    {"s", "SEC"},
      {"A", "AMP"},    {"V", "VLT"},     {"W", "WTT"},    {"kW", "KWT"},   {"Wh", "WHR"},   {"kWh", "KWH"},
      {"J", "JOU"},    {"Hz", "HTZ"},    {"Pa", "PAL"},   {"hPa", "A97"},  {"bar", "BAR"},  {"lx", "LUX"},
      {"m/s", "MTS"},  {"km/h", "KMH"},  {"m/s2", "MSK"}, {"m3", "MTQ"},   {"l", "LTR"},    {"m3/s", "MQS"},
      {"dB", "2N"},    {"ppm", "59"},    {"ug/m3", "GQ"}, {"mg/m3", "GP"}, {"deg", "DD"},   {"lat", "DD"},
      {"lon", "DD"},   {"rad", "C81"},   {"N", "NEW"},    {"Ohm", "OHM"},  {"B", "AD"},
  };
  for (const auto& [senml, code] : kCodes) {
    if (unit == senml) return std::string(code);
  }
  return std::string(unit);
}

Result<Mapped> map_readings(const Profile& p, const Device& device, const std::vector<Reading>& readings) {
  Mapped out;
  out.entity_type = p.entity_type;
  const std::string tmpl = p.entity_id.empty() ? "urn:ngsi-ld:" + p.entity_type + ":{device}" : p.entity_id;
  out.entity_id = profile_detail::expand_entity_id(tmpl, device.id, tenant_to_wire(device.tenant));

  std::vector<bool> used(readings.size(), false);
  for (const AttributeMapping& m : p.attributes) {
    for (size_t i = 0; i < readings.size(); ++i) {
      const Reading& r = readings[i];
      if (r.name != m.reading) continue;
      used[i] = true;
      Result<json::value> v = apply(m, r);
      if (!v.ok()) return v.status();
      out.attributes.push_back(
          MappedAttribute{m.name, std::move(v).value(), m.unit_code.empty() ? unit_code_of(r.unit) : m.unit_code, r.time_ms});
    }
  }

  // A kept reading never overwrites an attribute the profile writes, and a
  // name the store would refuse is dropped here rather than failing the payload.
  std::vector<size_t> rest;
  for (size_t i = 0; i < readings.size(); ++i) {
    if (used[i]) continue;
    const std::string& name = readings[i].name;
    const bool taken = std::any_of(p.attributes.begin(), p.attributes.end(),
                                   [&](const AttributeMapping& m) { return m.name == name; });
    if (p.keep_unmapped && !taken && name_problem(name, true).empty()) {
      rest.push_back(i);
    } else {
      ++out.dropped;
    }
  }
  std::stable_sort(rest.begin(), rest.end(), [&](size_t a, size_t b) { return readings[a].name < readings[b].name; });
  for (size_t i : rest) out.attributes.push_back(kept(readings[i]));
  return out;
}

Mapped map_unprofiled(const Device& device, const std::vector<Reading>& readings) {
  Mapped out;
  out.entity_type = "Device";
  out.entity_id = "urn:ngsi-ld:Device:" + device.id;
  for (const Reading& r : readings) {
    if (name_problem(r.name, true).empty()) {
      out.attributes.push_back(kept(r));
    } else {
      ++out.dropped;
    }
  }
  return out;
}

}  // namespace urbis::devices
