// GeoJSON geometries and the NGSI-LD geo-query predicates.
//
// Coordinates are [longitude, latitude] in degrees (WGS 84), as in GeoJSON; an
// altitude, when given, is accepted and ignored. The topological predicates
// (within, contains, intersects, equals, disjoint, overlaps) treat lon/lat as
// a plane, as GeoJSON (RFC 7946, 3.1.1) says a receiver may: exact for points,
// and for lines and polygons at city scale; edges that cross the antimeridian
// are not supported. Distances for `near` are great-circle metres: haversine
// between points (mean Earth radius 6,371,008.8 m), and for lines and polygons
// the distance to their nearest point in a local equirectangular projection
// around the reference point (error well under 1% below a few hundred km).
//
// Internally every geometry is held as its multi form (a Point is a
// MultiPoint of one), which keeps the predicate dispatch to 3 x 3 cases; the
// GeoJSON type given is remembered.
//
// Thread-safety: Geometry is an immutable value after construction.
#pragma once

#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/linestring.hpp>
#include <boost/geometry/geometries/multi_linestring.hpp>
#include <boost/geometry/geometries/multi_point.hpp>
#include <boost/geometry/geometries/multi_polygon.hpp>
#include <boost/geometry/geometries/point_xy.hpp>
#include <boost/geometry/geometries/polygon.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string_view>
#include <variant>

#include "common/status.hpp"

namespace urbis::model::geo {

namespace bgm = boost::geometry::model;
using Point = bgm::d2::point_xy<double>;  // x = longitude, y = latitude
using MultiPoint = bgm::multi_point<Point>;
using LineString = bgm::linestring<Point>;
using MultiLineString = bgm::multi_linestring<LineString>;
using Polygon = bgm::polygon<Point, /*ClockWise=*/false, /*Closed=*/true>;  // GeoJSON ring order
using MultiPolygon = bgm::multi_polygon<Polygon>;
using Box = bgm::box<Point>;

enum class GeometryType : uint8_t { kPoint, kLineString, kPolygon, kMultiPoint, kMultiLineString, kMultiPolygon };

// "Point", "LineString", ... as in GeoJSON.
std::string_view geometry_type_name(GeometryType t);

constexpr double kEarthRadiusM = 6371008.8;

// Great-circle distance between two lon/lat points, metres.
double haversine_m(const Point& a, const Point& b);

class Geometry {
 public:
  // The Point [0, 0]; a placeholder to assign a parsed geometry to.
  Geometry();
  // Parses a GeoJSON geometry object {"type": ..., "coordinates": ...}.
  // Fails with InvalidArgument naming the problem and where it is
  // ("coordinates[2][0]: longitude 200 is outside [-180, 180]", "Polygon ring
  // 0 is not closed", "Polygon is invalid: ...self-intersections").
  // GeometryCollection is not supported.
  static Result<Geometry> from_geojson(const boost::json::value& v);
  // The NGSI-LD query form: geometry=<type>&coordinates=<JSON array>.
  static Result<Geometry> from_type_and_coordinates(std::string_view type, const boost::json::value& coordinates);

  GeometryType type() const { return type_; }
  // Smallest lon/lat box holding the geometry.
  const Box& bounds() const { return bounds_; }
  // The single point of a Point geometry; nullopt for other types.
  std::optional<Point> as_point() const;

  using Shape = std::variant<MultiPoint, MultiLineString, MultiPolygon>;
  const Shape& shape() const { return shape_; }

 private:
  Geometry(GeometryType t, Shape s);
  GeometryType type_;
  Shape shape_;
  Box bounds_;
};

// The predicates of an NGSI-LD geo-query, with the entity's geometry `a` as
// the subject and the query's geometry `b` as the reference ("a within b").
// Definitions follow OGC simple features (DE-9IM); overlaps is false for
// geometries of different dimensions.
bool within(const Geometry& a, const Geometry& b);
bool contains(const Geometry& a, const Geometry& b);
bool intersects(const Geometry& a, const Geometry& b);
bool disjoint(const Geometry& a, const Geometry& b);
bool equals(const Geometry& a, const Geometry& b);
bool overlaps(const Geometry& a, const Geometry& b);

// Metres from `ref` to the nearest point of `a` (0 when `ref` is inside a polygon of `a`).
double distance_m(const Geometry& a, const Point& ref);

// A lon/lat box holding every point within `metres` of `ref` (clamped to the
// valid range; the whole longitude range near the poles or across the
// antimeridian). For pruning `near` queries with an R-tree.
Box box_around(const Point& ref, double metres);

}  // namespace urbis::model::geo
