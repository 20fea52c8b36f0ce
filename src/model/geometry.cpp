#include "model/geometry.hpp"

#include <fmt/format.h>

#include <boost/geometry.hpp>
#include <boost/json.hpp>

#include <cmath>
#include <numbers>
#include <string>

namespace urbis::model::geo {

namespace bg = boost::geometry;
namespace json = boost::json;

std::string_view geometry_type_name(GeometryType t) {
  switch (t) {
    case GeometryType::kPoint: return "Point";
    case GeometryType::kLineString: return "LineString";
    case GeometryType::kPolygon: return "Polygon";
    case GeometryType::kMultiPoint: return "MultiPoint";
    case GeometryType::kMultiLineString: return "MultiLineString";
    case GeometryType::kMultiPolygon: return "MultiPolygon";
  }
  return "Point";
}

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

// --- GeoJSON parsing ------------------------------------------------------
// Each parser takes the JSON under `path` (for messages) and fills its output.

Status bad(const std::string& path, std::string_view what) {
  return InvalidArgument(path.empty() ? std::string(what) : fmt::format("{}: {}", path, what));
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

Status parse_position(const json::value& v, const std::string& path, Point& out) {
  const json::array* a = v.if_array();
  if (a == nullptr) return bad(path, "a position must be an array [longitude, latitude]");
  if (a->size() < 2 || a->size() > 3) return bad(path, fmt::format("a position has 2 or 3 numbers, not {}", a->size()));
  std::optional<double> lon = number_of((*a)[0]), lat = number_of((*a)[1]);
  if (!lon || !lat || (a->size() == 3 && !number_of((*a)[2]))) return bad(path, "a position must hold numbers");
  if (!std::isfinite(*lon) || *lon < -180 || *lon > 180)
    return bad(path, fmt::format("longitude {} is outside [-180, 180]", *lon));
  if (!std::isfinite(*lat) || *lat < -90 || *lat > 90)
    return bad(path, fmt::format("latitude {} is outside [-90, 90]", *lat));
  out = Point(*lon, *lat);
  return Status::Ok();
}

const json::array* array_at(const json::value& v, const std::string& path, Status& err, std::string_view what) {
  const json::array* a = v.if_array();
  if (a == nullptr) err = bad(path, fmt::format("{} must be an array", what));
  return a;
}

template <typename Range>
Status parse_positions(const json::value& v, const std::string& path, size_t min, std::string_view what, Range& out) {
  Status err;
  const json::array* a = array_at(v, path, err, what);
  if (a == nullptr) return err;
  if (a->size() < min) return bad(path, fmt::format("{} needs at least {} positions, has {}", what, min, a->size()));
  for (size_t i = 0; i < a->size(); ++i) {
    Point p;
    if (Status s = parse_position((*a)[i], fmt::format("{}[{}]", path, i), p); !s.ok()) return s;
    bg::append(out, p);
  }
  return Status::Ok();
}

Status parse_polygon(const json::value& v, const std::string& path, Polygon& out) {
  Status err;
  const json::array* rings = array_at(v, path, err, "a Polygon");
  if (rings == nullptr) return err;
  if (rings->empty()) return bad(path, "a Polygon needs at least one ring");
  for (size_t r = 0; r < rings->size(); ++r) {
    const std::string rp = fmt::format("{}[{}]", path, r);
    Polygon::ring_type ring;
    if (Status s = parse_positions((*rings)[r], rp, 4, "a Polygon ring", ring); !s.ok()) return s;
    if (!bg::equals(ring.front(), ring.back())) return bad(rp, "a Polygon ring must be closed (last position = first)");
    if (r == 0) {
      out.outer() = std::move(ring);
    } else {
      out.inners().push_back(std::move(ring));
    }
  }
  return Status::Ok();
}

template <typename Multi, typename Part, typename ParsePart>
Status parse_multi(const json::value& v, const std::string& path, std::string_view what, ParsePart parse_part,
                   Multi& out) {
  Status err;
  const json::array* a = array_at(v, path, err, what);
  if (a == nullptr) return err;
  if (a->empty()) return bad(path, fmt::format("{} must not be empty", what));
  for (size_t i = 0; i < a->size(); ++i) {
    Part part;
    if (Status s = parse_part((*a)[i], fmt::format("{}[{}]", path, i), part); !s.ok()) return s;
    out.push_back(std::move(part));
  }
  return Status::Ok();
}

Result<GeometryType> type_from_name(std::string_view t) {
  for (GeometryType g : {GeometryType::kPoint, GeometryType::kLineString, GeometryType::kPolygon,
                         GeometryType::kMultiPoint, GeometryType::kMultiLineString, GeometryType::kMultiPolygon})
    if (geometry_type_name(g) == t) return g;
  return InvalidArgument(fmt::format("geometry type '{}' is not one of Point, LineString, Polygon, MultiPoint, "
                                     "MultiLineString, MultiPolygon",
                                     t));
}

template <typename Areal>
Status check_valid(Areal& g, std::string_view what) {
  bg::correct(g);  // ring orientation and closure as Boost.Geometry expects
  std::string reason;
  if (!bg::is_valid(g, reason)) return InvalidArgument(fmt::format("{} is invalid: {}", what, reason));
  return Status::Ok();
}

// --- predicates -------------------------------------------------------------

int dimension(const Geometry::Shape& s) { return static_cast<int>(s.index()); }  // 0 points, 1 lines, 2 areas

bool relate_mask(const Geometry& a, const Geometry& b, const char* mask) {
  const bg::de9im::mask m(mask);
  return std::visit([&](const auto& x, const auto& y) { return bg::relate(x, y, m); }, a.shape(), b.shape());
}

double distance_projected(const Geometry& a, const Point& ref) {
  // Local equirectangular projection around ref, in metres.
  const double k = std::cos(ref.y() * kDeg);
  auto project = [&](const Point& p) {
    double dlon = p.x() - ref.x();
    if (dlon > 180) dlon -= 360;
    if (dlon < -180) dlon += 360;
    return Point(kEarthRadiusM * dlon * kDeg * k, kEarthRadiusM * (p.y() - ref.y()) * kDeg);
  };
  const Point origin(0, 0);
  if (const auto* ml = std::get_if<MultiLineString>(&a.shape())) {
    MultiLineString proj;
    for (const LineString& l : *ml) {
      LineString pl;
      for (const Point& p : l) pl.push_back(project(p));
      proj.push_back(std::move(pl));
    }
    return bg::distance(origin, proj);
  }
  const auto& mp = std::get<MultiPolygon>(a.shape());
  if (bg::covered_by(ref, mp)) return 0;
  MultiPolygon proj;
  for (const Polygon& poly : mp) {
    Polygon pp;
    for (const Point& p : poly.outer()) pp.outer().push_back(project(p));
    for (const auto& inner : poly.inners()) {
      Polygon::ring_type r;
      for (const Point& p : inner) r.push_back(project(p));
      pp.inners().push_back(std::move(r));
    }
    proj.push_back(std::move(pp));
  }
  return bg::distance(origin, proj);
}

}  // namespace

double haversine_m(const Point& a, const Point& b) {
  const double dlat = (b.y() - a.y()) * kDeg, dlon = (b.x() - a.x()) * kDeg;
  const double s = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.y() * kDeg) * std::cos(b.y() * kDeg) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(s)));
}

Geometry::Geometry(GeometryType t, Shape s) : type_(t), shape_(std::move(s)) {
  std::visit([&](const auto& g) { bounds_ = bg::return_envelope<Box>(g); }, shape_);
}

Geometry::Geometry() : Geometry(GeometryType::kPoint, MultiPoint{Point(0, 0)}) {}

std::optional<Point> Geometry::as_point() const {
  if (type_ != GeometryType::kPoint) return std::nullopt;
  return std::get<MultiPoint>(shape_).front();
}

Result<Geometry> Geometry::from_type_and_coordinates(std::string_view type_name, const json::value& c) {
  Result<GeometryType> type = type_from_name(type_name);
  if (!type.ok()) return type.status();
  const std::string path = "coordinates";
  switch (*type) {
    case GeometryType::kPoint: {
      Point p;
      if (Status s = parse_position(c, path, p); !s.ok()) return s;
      return Geometry(*type, MultiPoint{p});
    }
    case GeometryType::kMultiPoint: {
      MultiPoint mp;
      if (Status s = parse_positions(c, path, 1, "a MultiPoint", mp); !s.ok()) return s;
      return Geometry(*type, std::move(mp));
    }
    case GeometryType::kLineString: {
      LineString l;
      if (Status s = parse_positions(c, path, 2, "a LineString", l); !s.ok()) return s;
      return Geometry(*type, MultiLineString{std::move(l)});
    }
    case GeometryType::kMultiLineString: {
      MultiLineString ml;
      auto part = [](const json::value& v, const std::string& p, LineString& out) {
        return parse_positions(v, p, 2, "a LineString", out);
      };
      if (Status s = parse_multi<MultiLineString, LineString>(c, path, "a MultiLineString", part, ml); !s.ok())
        return s;
      return Geometry(*type, std::move(ml));
    }
    case GeometryType::kPolygon: {
      MultiPolygon mp;
      mp.resize(1);
      if (Status s = parse_polygon(c, path, mp.front()); !s.ok()) return s;
      if (Status s = check_valid(mp.front(), "the Polygon"); !s.ok()) return s;
      return Geometry(*type, std::move(mp));
    }
    case GeometryType::kMultiPolygon: {
      MultiPolygon mp;
      if (Status s = parse_multi<MultiPolygon, Polygon>(c, path, "a MultiPolygon", parse_polygon, mp); !s.ok())
        return s;
      if (Status s = check_valid(mp, "the MultiPolygon"); !s.ok()) return s;
      return Geometry(*type, std::move(mp));
    }
  }
  return Internal("unreachable geometry type");
}

Result<Geometry> Geometry::from_geojson(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return InvalidArgument("a GeoJSON geometry must be an object with 'type' and 'coordinates'");
  const json::value* t = o->if_contains("type");
  if (t == nullptr || !t->is_string()) return InvalidArgument("GeoJSON geometry: 'type' missing or not a string");
  const json::value* c = o->if_contains("coordinates");
  if (c == nullptr) {
    if (t->get_string() == "GeometryCollection") return InvalidArgument("GeoJSON GeometryCollection is not supported");
    return InvalidArgument("GeoJSON geometry: 'coordinates' missing");
  }
  return from_type_and_coordinates(t->get_string(), *c);
}

bool within(const Geometry& a, const Geometry& b) { return relate_mask(a, b, "T*F**F***"); }
bool contains(const Geometry& a, const Geometry& b) { return relate_mask(a, b, "T*****FF*"); }
bool equals(const Geometry& a, const Geometry& b) {
  return dimension(a.shape()) == dimension(b.shape()) && relate_mask(a, b, "T*F**FFF*");
}
bool intersects(const Geometry& a, const Geometry& b) {
  if (!bg::intersects(a.bounds(), b.bounds())) return false;
  return std::visit([](const auto& x, const auto& y) { return bg::intersects(x, y); }, a.shape(), b.shape());
}
bool disjoint(const Geometry& a, const Geometry& b) { return !intersects(a, b); }
bool overlaps(const Geometry& a, const Geometry& b) {
  const int d = dimension(a.shape());
  if (d != dimension(b.shape())) return false;
  return relate_mask(a, b, d == 1 ? "1*T***T**" : "T*T***T**");
}

double distance_m(const Geometry& a, const Point& ref) {
  if (const auto* mp = std::get_if<MultiPoint>(&a.shape())) {
    double best = std::numeric_limits<double>::infinity();
    for (const Point& p : *mp) best = std::min(best, haversine_m(ref, p));
    return best;
  }
  return distance_projected(a, ref);
}

Box box_around(const Point& ref, double metres) {
  const double delta = metres / kEarthRadiusM;  // radians of latitude
  const double lat0 = ref.y() * kDeg;
  const double lat_lo = lat0 - delta, lat_hi = lat0 + delta;
  const double half_pi = std::numbers::pi / 2;
  // Slack for rounding: a point exactly at the distance must not be pruned.
  constexpr double kSlackDeg = 1e-9;
  if (lat_lo <= -half_pi || lat_hi >= half_pi || delta >= std::numbers::pi / 2) {
    return Box(Point(-180, std::max(-90.0, lat_lo / kDeg - kSlackDeg)),
               Point(180, std::min(90.0, lat_hi / kDeg + kSlackDeg)));
  }
  // Largest longitude difference of a point at great-circle distance delta.
  const double s = std::sin(delta) / std::cos(lat0);
  if (s >= 1) return Box(Point(-180, lat_lo / kDeg - kSlackDeg), Point(180, lat_hi / kDeg + kSlackDeg));
  const double dlon = std::asin(s) / kDeg + kSlackDeg;
  double lon_lo = ref.x() - dlon, lon_hi = ref.x() + dlon;
  if (lon_lo < -180 || lon_hi > 180) lon_lo = -180, lon_hi = 180;  // across the antimeridian: no pruning
  return Box(Point(lon_lo, lat_lo / kDeg - kSlackDeg), Point(lon_hi, lat_hi / kDeg + kSlackDeg));
}

}  // namespace urbis::model::geo
