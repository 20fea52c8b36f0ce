// GeoJSON parsing with errors that say where, and the geo-query predicates
// against answers worked out by hand.
#include "model/geometry.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace urbis::model::geo {
namespace {

Result<Geometry> parse(std::string_view json) { return Geometry::from_geojson(boost::json::parse(json)); }

Geometry g(std::string_view json) {
  Result<Geometry> r = parse(json);
  EXPECT_TRUE(r.ok()) << r.status().message() << " in " << json;
  return r.ok() ? std::move(r).value() : Geometry();
}

TEST(Geometry, ParsesEveryGeoJsonType) {
  EXPECT_EQ(g(R"({"type": "Point", "coordinates": [2.35, 48.85]})").type(), GeometryType::kPoint);
  EXPECT_EQ(g(R"({"type": "Point", "coordinates": [2.35, 48.85, 35]})").type(), GeometryType::kPoint);
  EXPECT_EQ(g(R"({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})").type(), GeometryType::kLineString);
  EXPECT_EQ(g(R"({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]})").type(),
            GeometryType::kPolygon);
  EXPECT_EQ(g(R"({"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]})").type(), GeometryType::kMultiPoint);
  EXPECT_EQ(g(R"({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]})").type(),
            GeometryType::kMultiLineString);
  EXPECT_EQ(g(R"({"type": "MultiPolygon", "coordinates": [[[[0,0],[1,0],[1,1],[0,1],[0,0]]],
                                                          [[[5,5],[6,5],[6,6],[5,6],[5,5]]]]})")
                .type(),
            GeometryType::kMultiPolygon);
  // Clockwise outer ring (against RFC 7946's advice) is accepted and corrected.
  Geometry cw = g(R"({"type": "Polygon", "coordinates": [[[0,0],[0,1],[1,1],[1,0],[0,0]]]})");
  EXPECT_TRUE(contains(cw, g(R"({"type": "Point", "coordinates": [0.5, 0.5]})")));
  // A hole.
  Geometry holed = g(R"({"type": "Polygon", "coordinates": [[[0,0],[10,0],[10,10],[0,10],[0,0]],
                                                            [[4,4],[6,4],[6,6],[4,6],[4,4]]]})");
  EXPECT_FALSE(contains(holed, g(R"({"type": "Point", "coordinates": [5, 5]})")));
  EXPECT_TRUE(contains(holed, g(R"({"type": "Point", "coordinates": [2, 2]})")));
}

TEST(Geometry, ErrorsNameTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1, 2])", "must be an object"},
      {R"({"coordinates": [1, 2]})", "'type' missing"},
      {R"({"type": "Circle", "coordinates": [1, 2]})", "'Circle' is not one of"},
      {R"({"type": "Point"})", "'coordinates' missing"},
      {R"({"type": "GeometryCollection", "geometries": []})", "GeometryCollection is not supported"},
      {R"({"type": "Point", "coordinates": [200, 0]})", "longitude 200 is outside"},
      {R"({"type": "Point", "coordinates": [0, -95]})", "latitude -95 is outside"},
      {R"({"type": "Point", "coordinates": [0]})", "2 or 3 numbers"},
      {R"({"type": "Point", "coordinates": ["a", 1]})", "must hold numbers"},
      {R"({"type": "LineString", "coordinates": [[0, 0]]})", "at least 2 positions"},
      {R"({"type": "LineString", "coordinates": [[0, 0], [1, 999]]})", "coordinates[1]: latitude 999"},
      {R"({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]]})", "must be closed"},
      {R"({"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]})", "at least 4 positions"},
      {R"({"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]})", "Polygon is invalid"},
      {R"({"type": "MultiPoint", "coordinates": []})", "at least 1 position"},
      {R"({"type": "MultiPolygon", "coordinates": [[[[0,0],[1,0],[1,1],[0,1],[0,0]]], 5]})", "coordinates[1]"},
  };
  for (auto [json, expected] : cases) {
    Result<Geometry> r = parse(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(expected), std::string::npos) << json << " -> " << r.status().message();
  }
}

TEST(Geometry, PredicatesAgainstHandWorkedCases) {
  const Geometry square = g(R"({"type": "Polygon", "coordinates": [[[0,0],[2,0],[2,2],[0,2],[0,0]]]})");
  const Geometry inner = g(R"({"type": "Polygon", "coordinates": [[[0.5,0.5],[1,0.5],[1,1],[0.5,1],[0.5,0.5]]]})");
  const Geometry shifted = g(R"({"type": "Polygon", "coordinates": [[[1,1],[3,1],[3,3],[1,3],[1,1]]]})");
  const Geometry far = g(R"({"type": "Polygon", "coordinates": [[[5,5],[6,5],[6,6],[5,6],[5,5]]]})");
  const Geometry centre = g(R"({"type": "Point", "coordinates": [1, 1]})");
  const Geometry corner = g(R"({"type": "Point", "coordinates": [0, 0]})");
  const Geometry crossing = g(R"({"type": "LineString", "coordinates": [[-1, 1], [3, 1]]})");
  const Geometry inside_line = g(R"({"type": "LineString", "coordinates": [[0.5, 0.5], [1.5, 1.5]]})");

  EXPECT_TRUE(within(centre, square));
  EXPECT_FALSE(within(corner, square)) << "boundary is not interior";
  EXPECT_TRUE(intersects(corner, square));
  EXPECT_TRUE(within(inner, square));
  EXPECT_FALSE(within(square, inner));
  EXPECT_TRUE(contains(square, inner));
  EXPECT_TRUE(contains(square, inside_line));
  EXPECT_FALSE(contains(square, crossing));
  EXPECT_TRUE(intersects(square, crossing));
  EXPECT_TRUE(overlaps(square, shifted));
  EXPECT_FALSE(overlaps(square, inner)) << "containment is not overlap";
  EXPECT_FALSE(overlaps(square, crossing)) << "different dimensions";
  EXPECT_TRUE(disjoint(square, far));
  EXPECT_FALSE(disjoint(square, shifted));
  EXPECT_TRUE(equals(square, g(R"({"type": "Polygon", "coordinates": [[[2,2],[0,2],[0,0],[2,0],[2,2]]]})")))
      << "same shape, other start vertex and orientation";
  EXPECT_FALSE(equals(square, shifted));
  EXPECT_TRUE(equals(centre, g(R"({"type": "MultiPoint", "coordinates": [[1, 1]]})")));
}

TEST(Geometry, DistancesInMetres) {
  // One degree of latitude on the mean sphere: 6371008.8 * pi / 180.
  const double deg = 6371008.8 * 3.14159265358979323846 / 180;
  EXPECT_NEAR(haversine_m(Point(0, 0), Point(0, 1)), deg, 1e-6);
  EXPECT_NEAR(haversine_m(Point(0, 0), Point(1, 0)), deg, 1e-6);
  EXPECT_NEAR(haversine_m(Point(179.5, 0), Point(-179.5, 0)), deg, 1e-6) << "across the antimeridian";
  // Point to a line and to a polygon: nearest point, 0 inside.
  const Geometry line = g(R"({"type": "LineString", "coordinates": [[0, 0.01], [0, 1]]})");
  EXPECT_NEAR(distance_m(line, Point(0.01, 0.5)), deg * 0.01, deg * 0.01 * 1e-3);
  const Geometry square = g(R"({"type": "Polygon", "coordinates": [[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]]]})");
  EXPECT_EQ(distance_m(square, Point(0.005, 0.005)), 0);
  EXPECT_NEAR(distance_m(square, Point(0.005, 0.02)), deg * 0.01, deg * 0.01 * 1e-3);
}

TEST(Geometry, BoxAroundHoldsEveryPointWithinTheDistance) {
  for (double lat : {0.0, 45.0, 60.0, 80.0, -70.0}) {
    const Point ref(10, lat);
    const double d = 5000;
    const Box b = box_around(ref, d);
    for (int bearing = 0; bearing < 360; bearing += 5) {
      // The point at distance d along `bearing` (direct geodesic problem on the sphere).
      const double r = 3.14159265358979323846 / 180, delta = d / kEarthRadiusM, th = bearing * r;
      const double lat2 = std::asin(std::sin(lat * r) * std::cos(delta) +
                                    std::cos(lat * r) * std::sin(delta) * std::cos(th));
      const double lon2 = 10 * r + std::atan2(std::sin(th) * std::sin(delta) * std::cos(lat * r),
                                              std::cos(delta) - std::sin(lat * r) * std::sin(lat2));
      const Point p(lon2 / r, lat2 / r);
      EXPECT_TRUE(p.x() >= b.min_corner().x() && p.x() <= b.max_corner().x() && p.y() >= b.min_corner().y() &&
                  p.y() <= b.max_corner().y())
          << "lat " << lat << " bearing " << bearing;
    }
  }
}

}  // namespace
}  // namespace urbis::model::geo
