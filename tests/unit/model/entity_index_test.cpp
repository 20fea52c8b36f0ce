// EntityIndex keeps its secondary indexes right when an entity is replaced:
// types, attributes and geometries that went away are no longer found, new
// ones are, and value-only updates change nothing else.
#include <gtest/gtest.h>

#include "model/entity_index.hpp"
#include "model/entity_json.hpp"

namespace urbis::model {
namespace {

std::shared_ptr<const Entity> make(std::string_view json) {
  auto e = entity_from_text(json);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return std::make_shared<const Entity>(std::move(*e));
}

std::vector<std::string> ids(const EntityIndex& idx, const EntityQuery& q) {
  auto r = idx.query("", q);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> out;
  for (const auto& e : r->entities) out.push_back(e->id);
  return out;
}

EntityQuery of_type(std::string t) {
  EntityQuery q;
  q.types = {std::move(t)};
  return q;
}

EntityQuery with_attr(std::string a) {
  EntityQuery q;
  q.attributes = {std::move(a)};
  return q;
}

EntityQuery near(double lon, double lat) {
  EntityQuery q;
  GeoQuery g;
  g.relation = GeoRelation::kNear;
  auto pt = geo::Geometry::from_type_and_coordinates("Point", boost::json::array{lon, lat});
  EXPECT_TRUE(pt.ok());
  g.geometry = *pt;
  g.max_distance_m = 100;
  q.geo = g;
  return q;
}

using Ids = std::vector<std::string>;

TEST(EntityIndex, ReplacingAnEntityMovesItsIndexEntries) {
  EntityIndex idx;
  idx.put("", make(R"({"id":"urn:e:1","type":"A","x":{"type":"Property","value":1},
      "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[2.0,48.0]}}})"));
  idx.put("", make(R"({"id":"urn:e:2","type":"A","x":{"type":"Property","value":2}})"));
  EXPECT_EQ(ids(idx, of_type("A")), (Ids{"urn:e:1", "urn:e:2"}));
  EXPECT_EQ(ids(idx, near(2.0, 48.0)), (Ids{"urn:e:1"}));

  // A value-only update: every index still answers the same.
  idx.put("", make(R"({"id":"urn:e:1","type":"A","x":{"type":"Property","value":5},
      "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[2.0,48.0]}}})"));
  EXPECT_EQ(ids(idx, of_type("A")), (Ids{"urn:e:1", "urn:e:2"}));
  EXPECT_EQ(ids(idx, with_attr("x")), (Ids{"urn:e:1", "urn:e:2"}));
  EXPECT_EQ(ids(idx, near(2.0, 48.0)), (Ids{"urn:e:1"}));
  EXPECT_EQ(idx.get("", "urn:e:1")->find("x")->value, boost::json::value(5));

  // New type, attribute swapped, moved far away.
  idx.put("", make(R"({"id":"urn:e:1","type":["B"],"y":{"type":"Property","value":1},
      "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[3.0,49.0]}}})"));
  EXPECT_EQ(ids(idx, of_type("A")), (Ids{"urn:e:2"}));
  EXPECT_EQ(ids(idx, of_type("B")), (Ids{"urn:e:1"}));
  EXPECT_EQ(ids(idx, with_attr("x")), (Ids{"urn:e:2"}));
  EXPECT_EQ(ids(idx, with_attr("y")), (Ids{"urn:e:1"}));
  EXPECT_EQ(ids(idx, near(2.0, 48.0)), Ids{});
  EXPECT_EQ(ids(idx, near(3.0, 49.0)), (Ids{"urn:e:1"}));

  // Geometry dropped, then the entity erased.
  idx.put("", make(R"({"id":"urn:e:1","type":["B","A"],"y":{"type":"Property","value":1}})"));
  EXPECT_EQ(ids(idx, near(3.0, 49.0)), Ids{});
  EXPECT_EQ(ids(idx, of_type("A")), (Ids{"urn:e:1", "urn:e:2"}));
  idx.erase("", "urn:e:1");
  EXPECT_EQ(ids(idx, of_type("B")), Ids{});
  EXPECT_EQ(ids(idx, with_attr("y")), Ids{});
  auto types = idx.types("");
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0].type, "A");
}

}  // namespace
}  // namespace urbis::model
