#include "ingest/json_ingest.hpp"

#include <gtest/gtest.h>

namespace urbis::ingest {
namespace {

TEST(JsonIngest, DecodesFlatAndDetailedAttributes) {
  auto r = decode_json_measurements(
      "default/AirQualityObserved/main-street",
      R"({"observedAt":"2026-11-25T08:15:00Z","NO2":41,"ok":true,"status":"fine",)"
      R"("temperature":{"value":18.4,"unitCode":"CEL","observedAt":1795594400000},"extra":{"a":[1,2]}})",
      5, "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tenant, "");
  EXPECT_EQ(r->entity_id, "urn:ngsi-ld:AirQualityObserved:main-street");
  EXPECT_EQ(r->entity_type, "AirQualityObserved");
  ASSERT_EQ(r->measurements.size(), 5u);
  std::map<std::string, tsdb::Measurement> by;
  for (auto& m : r->measurements) by[m.key.attribute] = m;
  EXPECT_EQ(by["NO2"].value, tsdb::Value::of(41));
  EXPECT_EQ(by["NO2"].observed_at_ms, 1795594500000);
  EXPECT_EQ(by["ok"].value, tsdb::Value::of_bool(true));
  EXPECT_EQ(by["status"].value, tsdb::Value::of_string("fine"));
  EXPECT_EQ(by["temperature"].value, tsdb::Value::of(18.4));
  EXPECT_EQ(by["temperature"].observed_at_ms, 1795594400000);
  EXPECT_EQ(by["extra"].value, tsdb::Value::of_json(R"({"a":[1,2]})"));
  // Readings with their own time are keyed by it (the store scopes keys per series).
  EXPECT_EQ(by["NO2"].idempotency_key, "t1795594500000");
  EXPECT_EQ(by["temperature"].idempotency_key, "t1795594400000");
  const auto* t = r->state.find("temperature");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->unit_code, "CEL");
}

TEST(JsonIngest, TimeDefaultsToArrivalWithoutKey) {
  auto r = decode_json_measurements("city-a/WaterObserved/urn:ngsi-ld:WaterObserved:p1", R"({"pressure":3.2})",
                                    1234, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tenant, "city-a");
  EXPECT_EQ(r->entity_id, "urn:ngsi-ld:WaterObserved:p1");
  EXPECT_EQ(r->measurements[0].observed_at_ms, 1234);
  EXPECT_TRUE(r->measurements[0].idempotency_key.empty());
}

TEST(JsonIngest, ExplicitKeyNamesEachPoint) {
  auto r = decode_json_measurements("default/T/x", R"({"a":1,"b":2})", 0, "dev7-seq-99");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->measurements[0].idempotency_key, "dev7-seq-99");
  EXPECT_EQ(r->measurements[1].idempotency_key, "dev7-seq-99");
}

TEST(JsonIngest, BadInputNamesTheProblem) {
  struct Case {
    const char* topic;
    const char* payload;
    const char* expect;
  };
  const Case cases[] = {
      {"default/T", R"({"a":1})", "topic must be"},
      {"default/T/x/y", R"({"a":1})", "topic must be"},
      {"default//x", R"({"a":1})", "no empty level"},
      {"default/T/x", "not json", "not JSON"},
      {"default/T/x", "[1,2]", "JSON object"},
      {"default/T/x", "{}", "no attributes"},
      {"default/T/x", R"({"a":null})", "attribute 'a'"},
      {"default/T/x", R"({"observedAt":"yesterday","a":1})", "observedAt"},
      {"default/T/x", R"({"a":{"value":1,"unitCode":5}})", "unitCode"},
      {"default/T/x", R"({"a":{"value":1,"observedAt":true}})", "attribute 'a'"},
      {"default/T/x", R"({"":1})", "attribute name ''"},
      {"default/T/x", R"j({"a(b)":1})j", "forbidden character"},
  };
  for (const auto& c : cases) {
    auto r = decode_json_measurements(c.topic, c.payload, 0, "");
    ASSERT_FALSE(r.ok()) << c.topic << " " << c.payload;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace urbis::ingest
