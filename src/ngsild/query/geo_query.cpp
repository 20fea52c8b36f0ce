// NGSI-LD geo-queries (GS CIM 009 4.10): georel, geometry, coordinates and
// geoproperty validated together into a model::GeoQuery.
//
//   georel = "near;maxDistance==" N / "near;minDistance==" N (both may be
//            given, in either order) / "within" / "contains" / "intersects"
//            / "equals" / "disjoint" / "overlaps"
// N is a non-negative number of metres. Whitespace around the parts is
// ignored. Errors begin with the parameter at fault.
#include <fmt/format.h>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "model/json_format.hpp"
#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

namespace {

using model::GeoQuery;
using model::GeoRelation;

constexpr std::pair<std::string_view, GeoRelation> kRelations[] = {
    {"near", GeoRelation::kNear},         {"within", GeoRelation::kWithin}, {"contains", GeoRelation::kContains},
    {"intersects", GeoRelation::kIntersects}, {"equals", GeoRelation::kEquals}, {"disjoint", GeoRelation::kDisjoint},
    {"overlaps", GeoRelation::kOverlaps}};

constexpr std::string_view kGeometries[] = {"Point",      "MultiPoint",      "LineString",
                                            "MultiLineString", "Polygon", "MultiPolygon"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status parse_georel(std::string_view text, GeoQuery& q) {
  text = trim(text);
  if (text.empty()) return InvalidArgument("georel: missing");
  const size_t semi = text.find(';');
  const std::string_view rel = trim(text.substr(0, semi));
  bool known = false;
  for (const auto& [name, r] : kRelations) {
    if (name == rel) {
      q.relation = r;
      known = true;
    }
  }
  if (!known)
    return InvalidArgument(fmt::format(
        "georel: unknown relation '{}' (expected near, within, contains, intersects, equals, disjoint or overlaps)",
        rel));
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
  if (q.relation != GeoRelation::kNear) {
    if (semi != std::string_view::npos)
      return InvalidArgument(fmt::format("georel: '{}' takes no modifiers, found '{}'", rel, rest));
    return Status::Ok();
  }
  while (semi != std::string_view::npos) {
    const size_t next = rest.find(';');
    const std::string_view part = trim(rest.substr(0, next));
    const size_t eq = part.find("==");
    const std::string_view key = trim(part.substr(0, eq));
    std::optional<double>* slot = key == "maxDistance"   ? &q.max_distance_m
                                  : key == "minDistance" ? &q.min_distance_m
                                                         : nullptr;
    if (slot == nullptr || eq == std::string_view::npos)
      return InvalidArgument(
          fmt::format("georel: near takes maxDistance==<metres> and/or minDistance==<metres>, not '{}'", part));
    if (slot->has_value()) return InvalidArgument(fmt::format("georel: {} given twice", key));
    const std::string_view num = trim(part.substr(eq + 2));
    double d = 0;
    const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
    if (num.empty() || ec != std::errc() || end != num.data() + num.size() || !std::isfinite(d) || d < 0)
      return InvalidArgument(fmt::format("georel: {} must be a non-negative number of metres, not '{}'", key, num));
    *slot = d;
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  if (!q.max_distance_m && !q.min_distance_m)
    return InvalidArgument("georel: near needs maxDistance==<metres> or minDistance==<metres>");
  if (q.max_distance_m && q.min_distance_m && *q.min_distance_m > *q.max_distance_m)
    return InvalidArgument("georel: minDistance is greater than maxDistance");
  return Status::Ok();
}

}  // namespace

namespace {

// `coordinates` is null when it was not given or is not JSON; georel and
// geometry are checked first, their errors being the more useful ones.
Result<model::GeoQuery> build(std::string_view georel, std::string_view geometry,
                              const boost::json::value* coordinates, bool coordinates_given,
                              std::string_view geoproperty) {
  GeoQuery q;
  if (Status s = parse_georel(georel, q); !s.ok()) return s;
  geometry = trim(geometry);
  if (geometry.empty()) return InvalidArgument("geometry: missing (georel, geometry and coordinates go together)");
  if (std::find(std::begin(kGeometries), std::end(kGeometries), geometry) == std::end(kGeometries))
    return InvalidArgument(fmt::format(
        "geometry: unknown type '{}' (expected Point, MultiPoint, LineString, MultiLineString, Polygon or "
        "MultiPolygon)",
        geometry));
  if (q.relation == GeoRelation::kNear && geometry != "Point")
    return InvalidArgument(fmt::format("geometry: near requires a Point, not a {}", geometry));
  if (!coordinates_given)
    return InvalidArgument("coordinates: missing (georel, geometry and coordinates go together)");
  if (coordinates == nullptr || !coordinates->is_array()) return InvalidArgument("coordinates: not a JSON array");
  Result<model::geo::Geometry> g = model::geo::Geometry::from_type_and_coordinates(geometry, *coordinates);
  if (!g.ok()) {
    // The geometry parser names the position ("coordinates[0][2]: ..."):
    // keep it after the parameter name, so that every message starts "coordinates: ".
    std::string m = g.status().message();
    if (m.starts_with("coordinates")) m.erase(0, std::string_view("coordinates").size());
    if (m.starts_with(": ")) m.erase(0, 2);
    return InvalidArgument("coordinates: " + m);
  }
  q.geometry = std::move(g.value());
  geoproperty = trim(geoproperty);
  if (!geoproperty.empty()) {
    if (geoproperty.find_first_of(" ;|,()[]\"'<>=!") != std::string_view::npos)
      return InvalidArgument(fmt::format("geoproperty: '{}' is not an attribute name", geoproperty));
    q.property.assign(geoproperty);
  }
  return q;
}

}  // namespace

Result<model::GeoQuery> parse_geo_query(std::string_view georel, std::string_view geometry,
                                        const boost::json::value& coordinates, std::string_view geoproperty) {
  return build(georel, geometry, &coordinates, !coordinates.is_null(), geoproperty);
}

Result<model::GeoQuery> parse_geo_query(std::string_view georel, std::string_view geometry,
                                        std::string_view coordinates, std::string_view geoproperty) {
  coordinates = trim(coordinates);
  boost::system::error_code ec;
  const boost::json::value v = coordinates.empty() ? boost::json::value() : boost::json::parse(coordinates, ec);
  return build(georel, geometry, ec ? nullptr : &v, !coordinates.empty(), geoproperty);
}

std::string georel_to_string(const model::GeoQuery& q) {
  for (const auto& [name, r] : kRelations) {
    if (r != q.relation) continue;
    std::string out(name);
    if (q.relation == GeoRelation::kNear) {
      if (q.max_distance_m) {
        out += ";maxDistance==";
        model::append_json_double(out, *q.max_distance_m);
      }
      if (q.min_distance_m) {
        out += ";minDistance==";
        model::append_json_double(out, *q.min_distance_m);
      }
    }
    return out;
  }
  return {};
}

bool geo_matches(const model::GeoQuery& q, const model::Entity& e) {
  const auto it = e.attributes.find(q.property);
  if (it == e.attributes.end()) return false;
  for (const model::AttributeInstance& inst : it->second) {
    if (inst.kind != model::AttributeKind::kGeoProperty) continue;
    Result<model::geo::Geometry> g = model::geo::Geometry::from_geojson(inst.value);
    if (!g.ok()) continue;
    bool hit = false;
    switch (q.relation) {
      case GeoRelation::kNear: {
        const std::optional<model::geo::Point> ref = q.geometry.as_point();
        if (!ref) return false;
        const double d = model::geo::distance_m(*g, *ref);
        hit = (!q.max_distance_m || d <= *q.max_distance_m) && (!q.min_distance_m || d >= *q.min_distance_m);
        break;
      }
      case GeoRelation::kWithin: hit = model::geo::within(*g, q.geometry); break;
      case GeoRelation::kContains: hit = model::geo::contains(*g, q.geometry); break;
      case GeoRelation::kIntersects: hit = model::geo::intersects(*g, q.geometry); break;
      case GeoRelation::kEquals: hit = model::geo::equals(*g, q.geometry); break;
      case GeoRelation::kDisjoint: hit = model::geo::disjoint(*g, q.geometry); break;
      case GeoRelation::kOverlaps: hit = model::geo::overlaps(*g, q.geometry); break;
    }
    if (hit) return true;
  }
  return false;
}

}  // namespace urbis::ngsild
