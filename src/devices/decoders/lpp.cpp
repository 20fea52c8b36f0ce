// Cayenne LPP v1: a sequence of [channel][type][value]. The type is the IPSO
// object id minus 3200; each type has a fixed value size, big-endian, scaled by
// a fixed resolution (the standard table below). Reading names are
// "<type name>_<channel>" as The Things Stack's Cayenne formatter names them, so a
// device decodes to the same names whether we or the network server decode it.
// Types outside the standard table (e.g. the extended types of some Arduino
// libraries) are refused: their sizes are not agreed, and guessing would
// misread every later byte.
#include <boost/json/object.hpp>

#include <array>
#include <cstdio>

#include "devices/decoders/internal.hpp"

namespace urbis::devices::detail {

namespace json = boost::json;

namespace {

enum class Shape {
  kUnsignedInt,  // integer value as is
  kScaled,       // one value: raw / divisor
  kXyz,          // three signed 16-bit axes: raw / divisor
  kGps,          // three signed 24-bit: latitude, longitude / 10000, altitude / 100
};

struct LppType {
  uint8_t code;
  std::string_view name;
  uint8_t size;
  Shape shape;
  bool is_signed;
  double divisor;
  std::string_view unit;
};

// The standard table (IPSO id - 3200 = LPP type).
constexpr std::array<LppType, 12> kTypes{{
    {0x00, "digital_in", 1, Shape::kUnsignedInt, false, 1, ""},                // 3200
    {0x01, "digital_out", 1, Shape::kUnsignedInt, false, 1, ""},               // 3201
    {0x02, "analog_in", 2, Shape::kScaled, true, 100, ""},                     // 3202, 0.01 signed
    {0x03, "analog_out", 2, Shape::kScaled, true, 100, ""},                    // 3203, 0.01 signed
    {0x65, "luminosity", 2, Shape::kUnsignedInt, false, 1, "lx"},              // 3301, 1 lux unsigned
    {0x66, "presence", 1, Shape::kUnsignedInt, false, 1, ""},                  // 3302
    {0x67, "temperature", 2, Shape::kScaled, true, 10, "Cel"},                 // 3303, 0.1 °C signed
    {0x68, "relative_humidity", 1, Shape::kScaled, false, 2, "%RH"},           // 3304, 0.5 % unsigned
    {0x71, "accelerometer", 6, Shape::kXyz, true, 1000, "G"},                  // 3313, 0.001 G signed per axis
    {0x73, "barometric_pressure", 2, Shape::kScaled, false, 10, "hPa"},        // 3315, 0.1 hPa unsigned
    {0x86, "gyrometer", 6, Shape::kXyz, true, 100, "deg/s"},                   // 3334, 0.01 °/s signed per axis
    {0x88, "gps", 9, Shape::kGps, true, 1, ""},                                // 3336
}};

const LppType* find_type(uint8_t code) {
  for (const auto& t : kTypes)
    if (t.code == code) return &t;
  return nullptr;
}

int64_t read_int(const uint8_t* p, size_t n, bool is_signed) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (is_signed && (p[0] & 0x80)) v -= uint64_t{1} << (8 * n);  // sign-extend
  return static_cast<int64_t>(v);
}

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

}  // namespace

Result<Decoded> decode_lpp(std::string_view payload, const DecodeOptions& o) {
  if (payload.empty()) return fail("lpp", "empty payload");
  const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  const size_t n = payload.size();
  Decoded d;
  size_t i = 0;
  while (i < n) {
    const uint8_t channel = p[i];
    if (i + 1 >= n)
      return fail("lpp", "truncated at byte " + std::to_string(n) + " (channel " + std::to_string(channel) + " has no type)");
    const uint8_t code = p[i + 1];
    const LppType* t = find_type(code);
    if (t == nullptr)
      return fail("lpp", "unknown type " + hex_byte(code) + " at byte " + std::to_string(i + 1) + " (channel " +
                             std::to_string(channel) + ")");
    const size_t at = i + 2;
    if (n - at < t->size)
      return fail("lpp", "truncated at byte " + std::to_string(n) + " (type " + hex_byte(code) + " needs " +
                             std::to_string(t->size) + " bytes)");
    Reading r;
    r.name = std::string(t->name) + "_" + std::to_string(channel);
    r.unit = t->unit;
    const uint8_t* v = p + at;
    switch (t->shape) {
      case Shape::kUnsignedInt: r.value = read_int(v, t->size, false); break;
      case Shape::kScaled: r.value = static_cast<double>(read_int(v, t->size, t->is_signed)) / t->divisor; break;
      case Shape::kXyz:
        r.value = json::object{{"x", static_cast<double>(read_int(v, 2, true)) / t->divisor},
                               {"y", static_cast<double>(read_int(v + 2, 2, true)) / t->divisor},
                               {"z", static_cast<double>(read_int(v + 4, 2, true)) / t->divisor}};
        break;
      case Shape::kGps:
        r.value = json::object{{"latitude", static_cast<double>(read_int(v, 3, true)) / 10000},
                               {"longitude", static_cast<double>(read_int(v + 3, 3, true)) / 10000},
                               {"altitude", static_cast<double>(read_int(v + 6, 3, true)) / 100}};
        break;
    }
    d.readings.push_back(std::move(r));
    if (d.readings.size() > o.max_readings)
      return fail("lpp", "more than the limit of " + std::to_string(o.max_readings) + " readings");
    i = at + t->size;
  }
  return d;
}

}  // namespace urbis::devices::detail
