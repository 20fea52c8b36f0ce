#include "ngsild/api/history.hpp"

#include <gtest/gtest.h>

#include "model/entity.hpp"

namespace urbis::ngsild {
namespace {

model::AttributeInstance number(double v, std::string dataset = {}) {
  model::AttributeInstance a;
  a.kind = model::AttributeKind::kProperty;
  a.value = v;
  a.dataset_id = std::move(dataset);
  return a;
}

// Appending a datasetId instance, or updating one, records that instance only:
// its siblings were recorded when they were written (regression: every write
// recorded the whole attribute again, so history showed each value 2-4 times).
TEST(ApiHistory, OnlyInstancesTheWriteStampedBecomePoints) {
  model::Entity e;
  e.id = "urn:ngsi-ld:Car:c1";
  e.types = {"Car"};
  e.attributes["speed"] = {number(10)};
  model::stamp_new(e, 1000);
  EXPECT_EQ(history_points("", e, nullptr).size(), 1u);

  model::Entity add;
  add.attributes["speed"] = {number(20, "urn:ds:gps")};
  model::append_attributes(e, add, model::AppendMode::kOverwrite, 2000);
  std::vector<std::string> names{"speed"};
  auto points = history_points("", e, &names);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].key.dataset_id, "urn:ds:gps");
  EXPECT_EQ(points[0].observed_at_ms, 2000);

  model::Entity upd;
  upd.attributes["speed"] = {number(11)};
  model::append_attributes(e, upd, model::AppendMode::kUpdateOnly, 3000);
  points = history_points("", e, &names);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].key.dataset_id, "");
  EXPECT_EQ(points[0].observed_at_ms, 3000);
}

// An instance without observedAt has no key: every write of it is a point,
// and it costs no key insert (nearly every API write).
TEST(ApiHistory, SingleInstancesCarryNoKey) {
  model::Entity e;
  e.id = "urn:ngsi-ld:Car:c2";
  e.attributes["speed"] = {number(10)};
  model::stamp_new(e, 1000);
  auto points = history_points("", e, nullptr);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_TRUE(points[0].idempotency_key.empty());
}

}  // namespace
}  // namespace urbis::ngsild
