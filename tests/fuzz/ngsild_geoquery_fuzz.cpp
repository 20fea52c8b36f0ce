// libFuzzer target for the NGSI-LD geo-query parameters (src/ngsild/query).
//
// The input is split at the first three newlines into georel, geometry,
// coordinates and geoproperty. Any input either fails with a message that
// begins with the parameter at fault, or yields a query whose georel text
// parses back to the same relation and distances, and which can be tested
// against a fixed entity. Any disagreement aborts.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/entity_json.hpp"
#include "ngsild/query/query.hpp"

namespace {

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "ngsild_geoquery_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

const urbis::model::Entity& fixture() {
  static const urbis::model::Entity e = urbis::model::entity_from_text(R"({
    "id": "urn:ngsi-ld:Area:1", "type": "Area",
    "location": [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [13.4, 52.5]}},
                 {"type": "GeoProperty", "datasetId": "urn:ngsi-ld:Dataset:shape",
                  "value": {"type": "Polygon", "coordinates": [[[13, 52], [14, 52], [14, 53], [13, 53], [13, 52]]]}}],
    "route": {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": [[13, 52], [14, 53]]}}
  })").value();
  return e;
}

std::string_view next_line(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view georel = next_line(rest), geometry = next_line(rest), coordinates = next_line(rest);
  const std::string_view geoproperty = rest;

  urbis::Result<urbis::model::GeoQuery> g =
      urbis::ngsild::parse_geo_query(georel, geometry, coordinates, geoproperty);
  if (!g.ok()) {
    const std::string m = g.status().message();  // status() returns a copy
    bool named = false;
    for (const char* p : {"georel: ", "geometry: ", "coordinates: ", "geoproperty: "}) named = named || m.rfind(p, 0) == 0;
    if (!named) die("error without the parameter name", m);
    return 0;
  }
  const std::string rel = urbis::ngsild::georel_to_string(*g);
  urbis::Result<urbis::model::GeoQuery> again = urbis::ngsild::parse_geo_query(
      rel, urbis::model::geo::geometry_type_name(g->geometry.type()), std::string(coordinates), g->property);
  if (!again.ok()) die("georel text does not parse back", rel + "\n" + again.status().message());
  if (again->relation != g->relation || again->max_distance_m != g->max_distance_m ||
      again->min_distance_m != g->min_distance_m || urbis::ngsild::georel_to_string(*again) != rel)
    die("georel text changed on reparse", rel);
  (void)urbis::ngsild::geo_matches(*g, fixture());
  return 0;
}
