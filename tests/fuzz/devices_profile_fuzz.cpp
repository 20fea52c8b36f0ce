// Fuzz target: the device profile parser (TOML, src/devices/profiles), and the
// mapping of a fixed set of readings with whatever profile parses. Parsing
// must never crash, every refusal is InvalidArgument naming the source, and
// what parses keeps the parser's promises (valid names, no attribute written
// twice, an inner format only inside an envelope, an entity id with its
// placeholders replaced).
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "devices/profiles/profile.hpp"

namespace {

using namespace urbis;
using namespace urbis::devices;

std::vector<Reading> sample_readings() {
  auto r = [](const char* name, boost::json::value v, const char* unit = "") {
    Reading x;
    x.name = name;
    x.value = std::move(v);
    x.unit = unit;
    return x;
  };
  return {r("no2", 41.5),         r("temperature", 18.2, "Cel"), r("temperature_1", 21.5, "Cel"),
          r("humidity", 54),      r("occupied", true),           r("occupied", 1),
          r("on", "low"),         r("index", uint64_t{123456}),  r("r", -3),
          r("status", "x"),       r("pm.pm10", 12)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<Profile> p = parse_profile(in, "fuzz.toml");
  if (!p.ok()) {
    const Status s = p.status();
    if (s.code() != Code::kInvalidArgument || s.message().rfind("fuzz.toml", 0) != 0) std::abort();
    return 0;
  }
  if (p->name.empty() || p->name.size() > 64 || p->entity_type.empty() || p->entity_id.empty()) std::abort();
  if (p->inner && (!is_envelope(p->decoder) || is_envelope(*p->inner))) std::abort();
  if (p->attributes.empty() && !p->keep_unmapped) std::abort();
  for (size_t i = 0; i < p->attributes.size(); ++i) {
    const AttributeMapping& a = p->attributes[i];
    if (a.reading.empty() || a.name.empty()) std::abort();
    if (!a.values.empty() && a.numeric) std::abort();
    for (size_t j = 0; j < i; ++j)
      if (p->attributes[j].name == a.name) std::abort();
  }
  (void)profile_to_json(*p);

  static const std::vector<Reading> readings = sample_readings();
  Device d;
  d.id = "dev-1";
  d.tenant = "north";
  Result<Mapped> m = map_readings(*p, d, readings);
  if (!m.ok()) {
    if (m.status().code() != Code::kInvalidArgument || m.status().message().rfind("reading '", 0) != 0) std::abort();
    return 0;
  }
  if (m->entity_id.find("{device}") != std::string::npos || m->entity_id.find("{tenant}") != std::string::npos)
    std::abort();
  if (m->attributes.size() + m->dropped < readings.size()) std::abort();
  for (const MappedAttribute& a : m->attributes)
    if (a.name.empty()) std::abort();
  return 0;
}
