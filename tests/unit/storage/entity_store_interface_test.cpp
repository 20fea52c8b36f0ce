// The EntityStore interface suite: every backend must pass it unchanged.
// To add a backend, add a Backend to kBackends at the bottom.
//
// What a user would notice: CRUD answers (AlreadyExists, NotFound), merge /
// append / noOverwrite / datasetId semantics, pages that neither repeat nor
// skip entities, geo answers computed independently, data still there after
// a restart, and exactly one change event per committed write, published only
// once the write is visible.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <numbers>
#include <set>
#include <thread>

#include "entity_store_test_util.hpp"
#include "model/change_events.hpp"
#include "model/entity_store.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"

namespace urbis::model {
namespace {

using testutil::entity;
using testutil::ManualClock;
using testutil::TempDir;

struct Backend {
  std::string name;
  bool persistent;  // survives close and reopen on the same directory
  std::function<Result<std::unique_ptr<EntityStore>>(const std::string& dir, ChangeBus& bus, const Clock* clock)>
      open;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

class EntityStoreSuite : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    token_ = bus_.subscribe([this](const ChangeEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
    reopen();
  }
  void TearDown() override {
    store_.reset();
    bus_.unsubscribe(token_);
  }

  void reopen() {
    store_.reset();
    Result<std::unique_ptr<EntityStore>> s = GetParam().open(dir_.path(), bus_, &clock_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  Result<WriteOutcome> create(const std::string& json, const std::string& tenant = "") {
    return testutil::wait_write([&](WriteDone d) { store_->create(tenant, entity(json), std::move(d)); });
  }
  Result<WriteOutcome> replace(const std::string& json, const std::string& tenant = "") {
    return testutil::wait_write([&](WriteDone d) { store_->replace(tenant, entity(json), std::move(d)); });
  }
  Result<WriteOutcome> merge(const std::string& json, const std::string& tenant = "") {
    return testutil::wait_write([&](WriteDone d) { store_->merge(tenant, entity(json, true), std::move(d)); });
  }
  Result<WriteOutcome> append(const std::string& id, const std::string& json, AppendMode mode) {
    return testutil::wait_write([&](WriteDone d) { store_->append("", id, entity(json, true), mode, std::move(d)); });
  }
  Result<WriteOutcome> delete_attr(const std::string& id, const std::string& name, const std::string& ds, bool all) {
    return testutil::wait_write(
        [&](WriteDone d) { store_->delete_attribute("", id, name, ds, all, std::move(d)); });
  }
  Result<WriteOutcome> delete_entity(const std::string& id, const std::string& tenant = "") {
    return testutil::wait_write([&](WriteDone d) { store_->delete_entity(tenant, id, std::move(d)); });
  }

  double value_of(const std::string& id, const std::string& attr, const std::string& ds = "") {
    auto e = store_->get("", id);
    if (!e) return NAN;
    const AttributeInstance* a = e->find(attr, ds);
    return a == nullptr ? NAN : a->value.to_number<double>();
  }

  std::vector<std::string> ids_of(const Result<QueryResult>& r) {
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? ids_of(r.value()) : std::vector<std::string>{};
  }
  std::vector<std::string> ids_of(const QueryResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.entities) out.push_back(e->id);
    return out;
  }

  std::vector<ChangeEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  ChangeBus bus_;
  ChangeBus::Token token_ = 0;
  std::mutex mu_;
  std::vector<ChangeEvent> events_;
  std::unique_ptr<EntityStore> store_;
};

constexpr const char* kSensor = R"({"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor",
  "temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL",
                  "observedAt": "2024-05-01T10:00:00Z", "accuracy": {"type": "Property", "value": 0.2}},
  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.35, 48.85]}},
  "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:7"}})";

// --- CRUD -----------------------------------------------------------------------

TEST_P(EntityStoreSuite, CreateThenGetReturnsTheEntityWithSystemTimes) {
  Result<WriteOutcome> r = create(kSensor);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto e = store_->get("", "urn:ngsi-ld:Sensor:1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->types, std::vector<std::string>{"Sensor"});
  EXPECT_EQ(e->created_at_ms, 1'700'000'000'000);
  EXPECT_EQ(e->modified_at_ms, 1'700'000'000'000);
  const AttributeInstance* t = e->find("temperature");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->value.as_double(), 21.5);
  EXPECT_EQ(t->unit_code, "CEL");
  EXPECT_EQ(t->observed_at_ms, 1714557600000);
  EXPECT_EQ(t->sub_attributes.at("accuracy").value.as_double(), 0.2);
  EXPECT_EQ(e->find("owner")->kind, AttributeKind::kRelationship);
  EXPECT_EQ(*r->entity, *e);
  EXPECT_EQ(store_->size(""), 1u);
  EXPECT_EQ(store_->get("", "urn:ngsi-ld:Sensor:2"), nullptr);
}

TEST_P(EntityStoreSuite, CreateOfAnExistingIdFailsAndChangesNothing) {
  ASSERT_TRUE(create(kSensor).ok());
  Result<WriteOutcome> r = create(R"({"id": "urn:ngsi-ld:Sensor:1", "type": "Other"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
  EXPECT_NE(r.status().message().find("urn:ngsi-ld:Sensor:1"), std::string::npos);
  EXPECT_EQ(store_->get("", "urn:ngsi-ld:Sensor:1")->types, std::vector<std::string>{"Sensor"});
  EXPECT_TRUE(store_->health().ok());
}

TEST_P(EntityStoreSuite, ReplaceKeepsCreatedAtAndDropsAttributesNotGiven) {
  ASSERT_TRUE(create(kSensor).ok());
  clock_.advance(5000);
  Result<WriteOutcome> r =
      replace(R"({"id": "urn:ngsi-ld:Sensor:1", "type": "Thermometer", "temperature": {"type": "Property", "value": 3}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto e = store_->get("", "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(e->types, std::vector<std::string>{"Thermometer"});
  EXPECT_EQ(e->attributes.size(), 1u);
  EXPECT_EQ(value_of("urn:ngsi-ld:Sensor:1", "temperature"), 3);
  EXPECT_EQ(e->created_at_ms, 1'700'000'000'000);
  EXPECT_EQ(e->modified_at_ms, 1'700'000'005'000);
  EXPECT_EQ(replace(R"({"id": "urn:ngsi-ld:Sensor:9", "type": "T"})").status().code(), Code::kNotFound);
}

TEST_P(EntityStoreSuite, MergeReplacesGivenAttributesAndKeepsTheOthers) {
  ASSERT_TRUE(create(kSensor).ok());
  clock_.advance(1000);
  Result<WriteOutcome> r = merge(R"({"id": "urn:ngsi-ld:Sensor:1", "type": "Device",
      "temperature": {"type": "Property", "value": 22, "precision": {"type": "Property", "value": 1}},
      "humidity": {"type": "Property", "value": 40}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto e = store_->get("", "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(e->types, (std::vector<std::string>{"Sensor", "Device"}));
  const AttributeInstance* t = e->find("temperature");
  EXPECT_EQ(t->value.to_number<double>(), 22);
  EXPECT_EQ(t->unit_code, "CEL") << "unitCode not in the patch is kept";
  EXPECT_TRUE(t->sub_attributes.count("accuracy")) << "sub-attributes merge";
  EXPECT_TRUE(t->sub_attributes.count("precision"));
  EXPECT_EQ(t->created_at_ms, 1'700'000'000'000);
  EXPECT_EQ(t->modified_at_ms, 1'700'000'001'000);
  EXPECT_NE(e->find("owner"), nullptr);
  EXPECT_NE(e->find("location"), nullptr);
  EXPECT_EQ(value_of("urn:ngsi-ld:Sensor:1", "humidity"), 40);
  EXPECT_EQ(merge(R"({"id": "urn:ngsi-ld:Sensor:404", "a": {"type": "Property", "value": 1}})").status().code(),
            Code::kNotFound);
}

TEST_P(EntityStoreSuite, EveryWriteGetsItsOwnModifiedAtEvenInOneMillisecond) {
  // The clock does not move: each write still stamps a later modifiedAt, so
  // the instances one write touched are told from the ones it did not.
  ASSERT_TRUE(create(R"({"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": {"type": "Property", "value": 10}})").ok());
  ASSERT_TRUE(append("urn:ngsi-ld:Car:1",
                     R"({"speed": {"type": "Property", "value": 20, "datasetId": "urn:ds:gps"}})",
                     AppendMode::kOverwrite)
                  .ok());
  ASSERT_TRUE(merge(R"({"id": "urn:ngsi-ld:Car:1", "colour": {"type": "Property", "value": "red"}})").ok());
  auto e = store_->get("", "urn:ngsi-ld:Car:1");
  const int64_t t0 = 1'700'000'000'000;
  EXPECT_EQ(e->created_at_ms, t0);
  EXPECT_EQ(e->modified_at_ms, t0 + 2);
  EXPECT_EQ(e->find("speed")->modified_at_ms, t0);
  EXPECT_EQ(e->find("speed", "urn:ds:gps")->modified_at_ms, t0 + 1);
  EXPECT_EQ(e->find("colour")->modified_at_ms, t0 + 2);
  clock_.advance(1000);  // once the clock is ahead again, it is the clock's time
  ASSERT_TRUE(merge(R"({"id": "urn:ngsi-ld:Car:1", "colour": {"type": "Property", "value": "blue"}})").ok());
  EXPECT_EQ(store_->get("", "urn:ngsi-ld:Car:1")->modified_at_ms, t0 + 1000);
}

TEST_P(EntityStoreSuite, AModifiedAtFarInTheFutureReturnsToTheClock) {
  // Written while the clock was a day ahead (then corrected): the next write
  // takes the clock's time, not the old stamp + 1.
  const int64_t t0 = 1'700'000'000'000;
  clock_.advance(86'400'000);
  ASSERT_TRUE(create(R"({"id": "urn:ngsi-ld:Car:2", "type": "Car"})").ok());
  clock_.set(t0);
  ASSERT_TRUE(merge(R"({"id": "urn:ngsi-ld:Car:2", "colour": {"type": "Property", "value": "red"}})").ok());
  EXPECT_EQ(store_->get("", "urn:ngsi-ld:Car:2")->modified_at_ms, t0);
}

TEST_P(EntityStoreSuite, AppendOverwritesUnlessNoOverwrite) {
  ASSERT_TRUE(create(kSensor).ok());
  const std::string id = "urn:ngsi-ld:Sensor:1";
  Result<WriteOutcome> r = append(id, R"({"temperature": {"type": "Property", "value": 30},
                                          "pressure": {"type": "Property", "value": 1013}})",
                                  AppendMode::kNoOverwrite);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->not_updated, std::vector<std::string>{"temperature"});
  EXPECT_EQ(value_of(id, "temperature"), 21.5);
  EXPECT_EQ(value_of(id, "pressure"), 1013);

  r = append(id, R"({"temperature": {"type": "Property", "value": 30}})", AppendMode::kOverwrite);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->not_updated.empty());
  EXPECT_EQ(value_of(id, "temperature"), 30);
  EXPECT_EQ(store_->get("", id)->find("temperature")->unit_code, "") << "append replaces the instance wholesale";

  r = append(id, R"({"temperature": {"type": "Property", "value": 31}, "ghost": {"type": "Property", "value": 1}})",
             AppendMode::kUpdateOnly);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->not_updated, std::vector<std::string>{"ghost"});
  EXPECT_EQ(value_of(id, "temperature"), 31);
  EXPECT_EQ(store_->get("", id)->find("ghost"), nullptr);

  EXPECT_EQ(append("urn:x:missing", R"({"a": {"type": "Property", "value": 1}})", AppendMode::kOverwrite)
                .status()
                .code(),
            Code::kNotFound);
}

TEST_P(EntityStoreSuite, DatasetIdInstancesAreUpdatedAndDeletedSeparately) {
  ASSERT_TRUE(create(R"({"id": "urn:ngsi-ld:Road:1", "type": "Road", "speed": [
      {"type": "Property", "value": 50},
      {"type": "Property", "value": 48, "datasetId": "urn:ngsi-ld:Dataset:radar"}]})")
                  .ok());
  const std::string id = "urn:ngsi-ld:Road:1";
  ASSERT_TRUE(merge(R"({"id": "urn:ngsi-ld:Road:1",
      "speed": {"type": "Property", "value": 52, "datasetId": "urn:ngsi-ld:Dataset:radar"}})")
                  .ok());
  EXPECT_EQ(value_of(id, "speed"), 50);
  EXPECT_EQ(value_of(id, "speed", "urn:ngsi-ld:Dataset:radar"), 52);

  ASSERT_TRUE(append(id, R"({"speed": {"type": "Property", "value": 7, "datasetId": "urn:ngsi-ld:Dataset:cam"}})",
                     AppendMode::kNoOverwrite)
                  .ok());
  EXPECT_EQ(store_->get("", id)->attributes.at("speed").size(), 3u);

  EXPECT_EQ(delete_attr(id, "speed", "urn:ngsi-ld:Dataset:nope", false).status().code(), Code::kNotFound);
  ASSERT_TRUE(delete_attr(id, "speed", "urn:ngsi-ld:Dataset:radar", false).ok());
  EXPECT_TRUE(std::isnan(value_of(id, "speed", "urn:ngsi-ld:Dataset:radar")));
  EXPECT_EQ(value_of(id, "speed"), 50);
  ASSERT_TRUE(delete_attr(id, "speed", "", true).ok());
  EXPECT_EQ(store_->get("", id)->find("speed"), nullptr);
  EXPECT_EQ(delete_attr(id, "speed", "", true).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->attributes(""), (std::vector<std::pair<std::string, size_t>>{}));
}

TEST_P(EntityStoreSuite, DeleteEntityRemovesItFromEveryIndex) {
  ASSERT_TRUE(create(kSensor).ok());
  ASSERT_TRUE(delete_entity("urn:ngsi-ld:Sensor:1").ok());
  EXPECT_EQ(store_->get("", "urn:ngsi-ld:Sensor:1"), nullptr);
  EXPECT_EQ(delete_entity("urn:ngsi-ld:Sensor:1").status().code(), Code::kNotFound);
  EntityQuery q;
  q.types = {"Sensor"};
  EXPECT_EQ(store_->query("", q)->total, 0u);
  EXPECT_TRUE(store_->types("").empty());
  EXPECT_TRUE(store_->tenants().empty());
  // The id can be used again.
  EXPECT_TRUE(create(kSensor).ok());
}

TEST_P(EntityStoreSuite, TenantsAreSeparate) {
  ASSERT_TRUE(create(kSensor, "city-a").ok());
  EXPECT_EQ(store_->get("", "urn:ngsi-ld:Sensor:1"), nullptr);
  EXPECT_EQ(store_->get("city-b", "urn:ngsi-ld:Sensor:1"), nullptr);
  ASSERT_TRUE(create(kSensor, "city-b").ok()) << "the same id in another tenant is another entity";
  ASSERT_TRUE(delete_entity("urn:ngsi-ld:Sensor:1", "city-a").ok());
  EXPECT_NE(store_->get("city-b", "urn:ngsi-ld:Sensor:1"), nullptr);
  EXPECT_EQ(store_->tenants(), std::vector<std::string>{"city-b"});
  EXPECT_EQ(store_->query("", {})->total, 0u);
}

// --- queries ----------------------------------------------------------------

TEST_P(EntityStoreSuite, QueryByTypeIdPatternAttributeAndFilter) {
  ASSERT_TRUE(create(R"({"id": "urn:a:1", "type": "Bin", "fill": {"type": "Property", "value": 10}})").ok());
  ASSERT_TRUE(create(R"({"id": "urn:a:2", "type": ["Bin", "Device"], "fill": {"type": "Property", "value": 90}})").ok());
  ASSERT_TRUE(create(R"({"id": "urn:b:3", "type": "Lamp", "power": {"type": "Property", "value": 60}})").ok());
  EntityQuery q;
  q.types = {"Bin"};
  EXPECT_EQ(ids_of(store_->query("", q)), (std::vector<std::string>{"urn:a:1", "urn:a:2"}));
  q.types = {"Device", "Lamp"};
  EXPECT_EQ(ids_of(store_->query("", q)), (std::vector<std::string>{"urn:a:2", "urn:b:3"}));
  q = {};
  q.ids = {"urn:b:3", "urn:a:1", "urn:nope"};
  EXPECT_EQ(ids_of(store_->query("", q)), (std::vector<std::string>{"urn:a:1", "urn:b:3"}));
  q = {};
  q.id_pattern = "^urn:a:";
  EXPECT_EQ(ids_of(store_->query("", q)), (std::vector<std::string>{"urn:a:1", "urn:a:2"}));
  q = {};
  q.attributes = {"power"};
  EXPECT_EQ(ids_of(store_->query("", q)), (std::vector<std::string>{"urn:b:3"}));
  q = {};
  q.types = {"Bin"};
  q.filter = [](const Entity& e) { return e.find("fill")->value.to_number<double>() > 50; };
  Result<QueryResult> r = store_->query("", q);
  EXPECT_EQ(ids_of(r), (std::vector<std::string>{"urn:a:2"}));
  EXPECT_EQ(r->total, 1u);
  q = {};
  q.id_pattern = "(unclosed";
  Result<QueryResult> bad = store_->query("", q);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("(unclosed"), std::string::npos);

  std::vector<TypeInfo> types = store_->types("");
  ASSERT_EQ(types.size(), 3u);
  EXPECT_EQ(types[0].type, "Bin");
  EXPECT_EQ(types[0].entity_count, 2u);
  EXPECT_EQ(types[0].attribute_names, std::vector<std::string>{"fill"});
  EXPECT_EQ(store_->attributes(""),
            (std::vector<std::pair<std::string, size_t>>{{"fill", 2}, {"power", 1}}));
}

TEST_P(EntityStoreSuite, PagesCoverEveryEntityOnceEvenWhenEntitiesChangeBetweenPages) {
  std::set<std::string> all;
  for (int i = 0; i < 250; ++i) {
    const std::string id = "urn:ngsi-ld:Meter:" + std::to_string((i * 7919) % 1000);  // not in id order
    all.insert(id);
    store_->create("", entity(R"({"id": ")" + id + R"(", "type": "Meter", "v": {"type": "Property", "value": 0}})"),
                   nullptr);
  }
  ASSERT_TRUE(store_->flush().ok());
  ASSERT_EQ(all.size(), 250u);

  std::vector<std::string> seen;
  EntityQuery q;
  q.types = {"Meter"};
  q.limit = 7;
  for (q.offset = 0;; q.offset += 7) {
    Result<QueryResult> page = store_->query("", q);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->total, 250u);
    if (page->entities.empty()) break;
    EXPECT_LE(page->entities.size(), 7u);
    for (const auto& e : page->entities) seen.push_back(e->id);
    // Update entities on both sides of the page boundary before the next page.
    for (const std::string& id : {seen.front(), seen.back(), *all.rbegin()}) {
      ASSERT_TRUE(merge(R"({"id": ")" + id + R"(", "v": {"type": "Property", "value": )" +
                        std::to_string(q.offset + 1) + "}}")
                      .ok());
    }
  }
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all) << "union of pages is every entity";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "pages follow id order";

  q.offset = 0;
  q.limit = 0;
  Result<QueryResult> count_only = store_->query("", q);
  EXPECT_EQ(count_only->total, 250u);
  EXPECT_TRUE(count_only->entities.empty());
}

// --- geo ---------------------------------------------------------------------

// Independent of the store's code: the haversine formula on a 6371008.8 m sphere.
double reference_distance_m(double lon1, double lat1, double lon2, double lat2) {
  const double r = std::numbers::pi / 180;
  const double a = std::pow(std::sin((lat2 - lat1) * r / 2), 2) +
                   std::cos(lat1 * r) * std::cos(lat2 * r) * std::pow(std::sin((lon2 - lon1) * r / 2), 2);
  return 2 * 6371008.8 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

std::string point_entity(const std::string& id, double lon, double lat) {
  return R"({"id": ")" + id + R"(", "type": "Spot", "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [)" +
         std::to_string(lon) + "," + std::to_string(lat) + "]}}}";
}

geo::Geometry geometry(const std::string& json) {
  Result<geo::Geometry> g = geo::Geometry::from_geojson(boost::json::parse(json));
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? std::move(g).value() : geo::Geometry();
}

TEST_P(EntityStoreSuite, GeoWithinIntersectsDisjointAroundAPolygon) {
  // A square park [10,10]-[11,11]; spots inside, on the edge, and outside.
  ASSERT_TRUE(create(point_entity("urn:spot:in1", 10.5, 10.5)).ok());
  ASSERT_TRUE(create(point_entity("urn:spot:in2", 10.1, 10.9)).ok());
  ASSERT_TRUE(create(point_entity("urn:spot:edge", 10.0, 10.5)).ok());
  ASSERT_TRUE(create(point_entity("urn:spot:out1", 11.5, 10.5)).ok());
  ASSERT_TRUE(create(point_entity("urn:spot:out2", 9.0, 9.0)).ok());
  ASSERT_TRUE(create(R"({"id": "urn:park:1", "type": "Park", "location": {"type": "GeoProperty",
      "value": {"type": "Polygon", "coordinates": [[[10,10],[11,10],[11,11],[10,11],[10,10]]]}}})")
                  .ok());
  const geo::Geometry square = geometry(R"({"type": "Polygon", "coordinates": [[[10,10],[11,10],[11,11],[10,11],[10,10]]]})");
  auto run = [&](GeoRelation rel, const geo::Geometry& g, std::vector<std::string> types = {"Spot"}) {
    EntityQuery q;
    q.types = types;
    q.geo = GeoQuery{rel, g, std::nullopt, std::nullopt, "location"};
    Result<QueryResult> r = store_->query("", q);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? ids_of(r) : std::vector<std::string>{};
  };
  EXPECT_EQ(run(GeoRelation::kWithin, square), (std::vector<std::string>{"urn:spot:in1", "urn:spot:in2"}))
      << "a point on the boundary is not within";
  EXPECT_EQ(run(GeoRelation::kIntersects, square),
            (std::vector<std::string>{"urn:spot:edge", "urn:spot:in1", "urn:spot:in2"}));
  EXPECT_EQ(run(GeoRelation::kDisjoint, square), (std::vector<std::string>{"urn:spot:out1", "urn:spot:out2"}));
  EXPECT_EQ(run(GeoRelation::kContains, geometry(R"({"type": "Point", "coordinates": [10.5, 10.5]})"), {"Park"}),
            std::vector<std::string>{"urn:park:1"});
  EXPECT_EQ(run(GeoRelation::kContains, geometry(R"({"type": "Point", "coordinates": [12, 12]})"), {"Park"}),
            std::vector<std::string>{});
  EXPECT_EQ(run(GeoRelation::kEquals, square, {"Park"}), std::vector<std::string>{"urn:park:1"});
  EXPECT_EQ(run(GeoRelation::kOverlaps,
                geometry(R"({"type": "Polygon", "coordinates": [[[10.5,10.5],[12,10.5],[12,12],[10.5,12],[10.5,10.5]]]})"),
                {"Park"}),
            std::vector<std::string>{"urn:park:1"});
  EXPECT_EQ(run(GeoRelation::kOverlaps, square, {"Park"}), std::vector<std::string>{}) << "equal is not overlapping";
}

TEST_P(EntityStoreSuite, GeoNearMatchesDistancesComputedIndependently) {
  const double lon0 = 4.35, lat0 = 50.85;  // Brussels
  std::vector<std::pair<std::string, double>> spots;
  for (int i = 0; i < 60; ++i) {
    const double lon = lon0 + 0.002 * (i % 10) - 0.009, lat = lat0 + 0.0015 * (i / 10) - 0.004;
    const std::string id = "urn:spot:" + std::to_string(100 + i);
    store_->create("", entity(point_entity(id, lon, lat)), nullptr);
    spots.emplace_back(id, reference_distance_m(lon0, lat0, std::stod(std::to_string(lon)),
                                                std::stod(std::to_string(lat))));
  }
  ASSERT_TRUE(store_->flush().ok());
  const geo::Geometry ref = geometry(R"({"type": "Point", "coordinates": [4.35, 50.85]})");
  for (double max_d : {150.0, 400.0, 700.0}) {
    for (std::optional<double> min_d : {std::optional<double>(), std::optional<double>(200.0)}) {
      std::vector<std::string> expected;
      for (const auto& [id, d] : spots)
        if (d <= max_d && (!min_d || d >= *min_d)) expected.push_back(id);
      EntityQuery q;
      q.geo = GeoQuery{GeoRelation::kNear, ref, max_d, min_d, "location"};
      Result<QueryResult> r = store_->query("", q);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(ids_of(r), expected) << "maxDistance " << max_d;
      if (!min_d || max_d > 300) EXPECT_FALSE(expected.empty()) << "the case tests something";
    }
  }
  EntityQuery q;
  q.geo = GeoQuery{GeoRelation::kNear, ref, std::nullopt, std::nullopt, "location"};
  EXPECT_EQ(store_->query("", q).status().code(), Code::kInvalidArgument) << "near without a distance";
  q.geo = GeoQuery{GeoRelation::kNear, geometry(R"({"type": "LineString", "coordinates": [[0,0],[1,1]]})"), 10.0,
                   std::nullopt, "location"};
  EXPECT_EQ(store_->query("", q).status().code(), Code::kInvalidArgument) << "near needs a Point";
  q.geo = GeoQuery{GeoRelation::kNear, ref, 1e9, std::nullopt, "position"};
  EXPECT_EQ(store_->query("", q)->total, 0u) << "another geoproperty name";
}

// --- durability and events ---------------------------------------------------------

TEST_P(EntityStoreSuite, CommittedStateSurvivesReopening) {
  if (!GetParam().persistent) GTEST_SKIP() << "backend keeps nothing across reopen";
  ASSERT_TRUE(create(kSensor).ok());
  ASSERT_TRUE(create(R"({"id": "urn:x:2", "type": "T", "a": {"type": "Property", "value": {"nested": [1, 2.5, "x"]}}})",
                     "other")
                  .ok());
  ASSERT_TRUE(create(R"({"id": "urn:x:3", "type": "T"})").ok());
  ASSERT_TRUE(merge(R"({"id": "urn:ngsi-ld:Sensor:1", "temperature": {"type": "Property", "value": 19.25}})").ok());
  ASSERT_TRUE(delete_entity("urn:x:3").ok());
  auto before1 = store_->get("", "urn:ngsi-ld:Sensor:1");
  auto before2 = store_->get("other", "urn:x:2");
  reopen();
  auto after1 = store_->get("", "urn:ngsi-ld:Sensor:1");
  ASSERT_NE(after1, nullptr);
  EXPECT_EQ(*after1, *before1);
  ASSERT_NE(store_->get("other", "urn:x:2"), nullptr);
  EXPECT_EQ(*store_->get("other", "urn:x:2"), *before2);
  EXPECT_EQ(store_->get("", "urn:x:3"), nullptr);
  EntityQuery q;
  q.geo = GeoQuery{GeoRelation::kNear, geometry(R"({"type": "Point", "coordinates": [2.35, 48.85]})"), 10.0,
                   std::nullopt, "location"};
  EXPECT_EQ(store_->query("", q)->total, 1u) << "geo index rebuilt at load";
}

TEST_P(EntityStoreSuite, OneEventPerCommittedWriteAfterItIsVisible) {
  // Each event must find its change already readable and acknowledged.
  std::atomic<int> acknowledged{0};
  std::vector<std::string> problems;
  std::mutex pm;
  ChangeBus::Token t = bus_.subscribe([&](const ChangeEvent& e) {
    auto got = store_->get(e.tenant, e.entity_id);
    const bool visible = e.kind == ChangeEvent::Kind::kEntityDeleted ? got == nullptr : got != nullptr;
    std::lock_guard lock(pm);
    if (!visible) problems.push_back("not visible: " + e.entity_id);
    if (acknowledged.load() == 0) problems.push_back("published before done: " + e.entity_id);
  });
  auto ack = [&](Result<WriteOutcome>) { acknowledged = 1; };
  acknowledged = 0;
  store_->create("", entity(kSensor), ack);
  ASSERT_TRUE(store_->flush().ok());
  acknowledged = 0;
  store_->merge("", entity(R"({"id": "urn:ngsi-ld:Sensor:1", "temperature": {"type": "Property", "value": 1}})", true),
                ack);
  ASSERT_TRUE(store_->flush().ok());
  acknowledged = 0;
  store_->create("", entity(kSensor), ack);  // AlreadyExists: no event
  store_->merge("", entity(R"({"id": "urn:nope", "a": {"type": "Property", "value": 1}})", true), ack);  // NotFound
  store_->append("", "urn:ngsi-ld:Sensor:1", entity(R"({"temperature": {"type": "Property", "value": 5}})", true),
                 AppendMode::kNoOverwrite, ack);  // changes nothing: no event
  ASSERT_TRUE(store_->flush().ok());
  acknowledged = 0;
  store_->delete_entity("", "urn:ngsi-ld:Sensor:1", ack);
  ASSERT_TRUE(store_->flush().ok());
  bus_.unsubscribe(t);
  EXPECT_TRUE(problems.empty()) << problems.front();

  std::vector<ChangeEvent> ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, ChangeEvent::Kind::kEntityCreated);
  EXPECT_EQ(ev[0].entity_type, "Sensor");
  ASSERT_NE(ev[0].entity_json, nullptr);
  EXPECT_NE(ev[0].entity_json->find("\"temperature\":{\"type\":\"Property\",\"value\":21.5"), std::string::npos)
      << *ev[0].entity_json;
  EXPECT_EQ(ev[1].kind, ChangeEvent::Kind::kEntityUpdated);
  EXPECT_EQ(ev[1].attributes, std::vector<std::string>{"temperature"});
  EXPECT_EQ(ev[2].kind, ChangeEvent::Kind::kEntityDeleted);
  EXPECT_EQ(ev[2].entity_id, "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(ev[2].at_unix_ms, 1'700'000'000'000);
}

TEST_P(EntityStoreSuite, ConcurrentWritesToOneEntityLoseNoUpdate) {
  ASSERT_TRUE(create(R"({"id": "urn:hot:1", "type": "Hot"})").ok());
  constexpr int kThreads = 4, kEach = 100;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string name = "a" + std::to_string(t) + "_" + std::to_string(i);
        store_->merge("", entity(R"({"id": "urn:hot:1", ")" + name + R"(": {"type": "Property", "value": 1}})", true),
                      nullptr);
      }
    });
  }
  // A reader meanwhile: every snapshot is a whole entity.
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto e = store_->get("", "urn:hot:1");
      ASSERT_NE(e, nullptr);
      ASSERT_EQ(e->types, std::vector<std::string>{"Hot"});
    }
  });
  for (auto& w : writers) w.join();
  ASSERT_TRUE(store_->flush().ok());
  stop = true;
  reader.join();
  EXPECT_EQ(store_->get("", "urn:hot:1")->attributes.size(), size_t{kThreads * kEach});
  EXPECT_EQ(events().size(), size_t{1 + kThreads * kEach});
}

TEST_P(EntityStoreSuite, ReadersNeverSeeHalfAReplace) {
  ASSERT_TRUE(create(R"({"id": "urn:pair:1", "type": "Pair", "a": {"type": "Property", "value": 0},
                         "b": {"type": "Property", "value": 0}})")
                  .ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop) {
      EntityQuery q;
      q.types = {"Pair"};
      Result<QueryResult> r = store_->query("", q);
      if (r.ok() && r->entities.size() == 1) {
        const Entity& e = *r->entities.front();
        if (e.find("a")->value != e.find("b")->value) ++torn;
      }
    }
  });
  for (int i = 1; i <= 300; ++i) {
    const std::string v = std::to_string(i);
    store_->replace("", entity(R"({"id": "urn:pair:1", "type": "Pair", "a": {"type": "Property", "value": )" + v +
                               R"(}, "b": {"type": "Property", "value": )" + v + "}}"),
                    nullptr);
  }
  ASSERT_TRUE(store_->flush().ok());
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(value_of("urn:pair:1", "a"), 300);
}

// --- backends ---------------------------------------------------------------------

const Backend kBackends[] = {
    {"SqliteFile", true,
     [](const std::string& dir, ChangeBus& bus, const Clock* clock) -> Result<std::unique_ptr<EntityStore>> {
       storage::sqlite::EntityStoreOptions o;
       o.clock = clock;
       auto s = storage::sqlite::SqliteEntityStore::open(dir + "/state.db", bus, o);
       if (!s.ok()) return s.status();
       return std::unique_ptr<EntityStore>(std::move(s).value());
     }},
    {"SqliteMemory", false,
     [](const std::string&, ChangeBus& bus, const Clock* clock) -> Result<std::unique_ptr<EntityStore>> {
       storage::sqlite::EntityStoreOptions o;
       o.clock = clock;
       auto s = storage::sqlite::SqliteEntityStore::open(":memory:", bus, o);
       if (!s.ok()) return s.status();
       return std::unique_ptr<EntityStore>(std::move(s).value());
     }},
};

INSTANTIATE_TEST_SUITE_P(Backends, EntityStoreSuite, ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& i) { return i.param.name; });

}  // namespace
}  // namespace urbis::model
