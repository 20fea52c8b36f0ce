// NGSI-LD normalized JSON <-> Entity: round trips, and errors that name the field.
#include "model/entity_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "model/json_format.hpp"

namespace urbis::model {
namespace {

constexpr const char* kFull = R"({"id":"urn:ngsi-ld:Sensor:1","type":["Sensor","Device"],)"
                              R"("location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[2.35,48.85]}},)"
                              R"("name":{"type":"LanguageProperty","languageMap":{"en":"Bridge","fr":"Pont"}},)"
                              R"("owner":{"type":"Relationship","object":"urn:ngsi-ld:Person:7"},)"
                              R"("speed":[{"type":"Property","value":30,"datasetId":"urn:ngsi-ld:Dataset:radar"},)"
                              R"({"type":"Property","value":31.25}],)"
                              R"("temperature":{"type":"Property","value":21.5,"observedAt":"2024-05-01T10:00:00.123Z",)"
                              R"("unitCode":"CEL","accuracy":{"type":"Property","value":0.2}}})";

TEST(EntityJson, NormalizedRoundTripIsExact) {
  Result<Entity> e = entity_from_text(kFull);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->types, (std::vector<std::string>{"Sensor", "Device"}));
  EXPECT_EQ(e->attributes.at("speed").size(), 2u);
  EXPECT_EQ(e->find("speed", "urn:ngsi-ld:Dataset:radar")->value.as_int64(), 30);
  EXPECT_EQ(e->find("temperature")->observed_at_ms, 1714557600123);
  EXPECT_EQ(e->find("owner")->kind, AttributeKind::kRelationship);
  EXPECT_EQ(e->find("name")->kind, AttributeKind::kLanguageProperty);
  EXPECT_EQ(entity_to_text(*e), kFull);
}

TEST(EntityJson, StoredFormKeepsSystemTimes) {
  Entity e = entity_from_text(kFull).value();
  e.created_at_ms = 1000;
  e.modified_at_ms = 2000;
  e.attributes.at("temperature").front().created_at_ms = 1500;
  e.attributes.at("temperature").front().sub_attributes.at("accuracy").modified_at_ms = 1700;
  EntityParseOptions o;
  o.read_sys_attrs = true;
  Result<Entity> back = entity_from_text(entity_to_text(e, {.sys_attrs = true}), o);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, e);
  // The direct writer and the json::object path agree.
  EXPECT_EQ(entity_to_text(e, {.sys_attrs = true}), to_json(entity_to_json(e, {.sys_attrs = true})));
  EXPECT_EQ(entity_to_text(e), to_json(entity_to_json(e)));
  // Without read_sys_attrs, input system times are ignored.
  Result<Entity> plain = entity_from_text(entity_to_text(e, {.sys_attrs = true}));
  EXPECT_EQ(plain->created_at_ms, 0);
}

TEST(EntityJson, AcceptsExpandedFormsAndSkipsContext) {
  Result<Entity> e = entity_from_text(R"({"@id": "urn:x:1", "@type": "T", "@context": "https://example.org/ctx.jsonld",
      "https://example.org/p": {"@type": "https://uri.etsi.org/ngsi-ld/Property", "value": 1}})");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->id, "urn:x:1");
  ASSERT_NE(e->find("https://example.org/p"), nullptr);
  EXPECT_EQ(e->attributes.size(), 1u);
}

TEST(EntityJson, FragmentsNeedNoIdOrType) {
  EntityParseOptions o;
  o.require_id_and_type = false;
  Result<Entity> e = entity_from_text(R"({"a": {"type": "Property", "value": 1}})", o);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(e->id.empty());
}

TEST(EntityJson, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1])", "must be a JSON object"},
      {R"({"type": "T"})", "'id' missing"},
      {R"({"id": "not a uri", "type": "T"})", "'id' must be a URI"},
      {R"({"id": "urn:x:1"})", "'type' missing"},
      {R"({"id": "urn:x:1", "type": []})", "'type' must be"},
      {R"({"id": "urn:x:1", "type": "T", "temperature": {"type": "Property"}})",
       "attribute 'temperature': 'value' missing"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"value": 1}})", "attribute 't': 'type' missing"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"type": "Prop", "value": 1}})", "'type' is 'Prop'"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"type": "Property", "value": null}})", "'value' must not be null"},
      {R"({"id": "urn:x:1", "type": "T", "t": 5})", "attribute 't': must be an object"},
      {R"({"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "value": "urn:y"}})", "not 'value'"},
      {R"({"id": "urn:x:1", "type": "T", "r": {"type": "Relationship", "object": "nope"}})", "'object' must be a URI"},
      {R"({"id": "urn:x:1", "type": "T", "l": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [0, 91]}}})",
       "attribute 'l': GeoJSON: coordinates: latitude 91"},
      {R"({"id": "urn:x:1", "type": "T", "n": {"type": "LanguageProperty", "languageMap": {"en": 5}}})",
       "'languageMap' entry 'en'"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"type": "Property", "value": 1, "observedAt": "yesterday"}})",
       "'observedAt' is not an ISO 8601"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"type": "Property", "value": 1, "datasetId": 7}})",
       "'datasetId' must be a URI"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"type": "Property", "value": 1, "unitCode": ""}})", "'unitCode'"},
      {R"({"id": "urn:x:1", "type": "T", "t": {"type": "Property", "value": 1, "acc": {"type": "Property"}}})",
       "attribute 't.acc': 'value' missing"},
      {R"({"id": "urn:x:1", "type": "T", "s": [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}]})",
       "attribute 's'[1]: two instances without datasetId"},
      {R"({"id": "urn:x:1", "type": "T", "s": [{"type": "Property", "value": 1, "datasetId": "urn:d"},
                                              {"type": "Property", "value": 2, "datasetId": "urn:d"}]})",
       "datasetId 'urn:d' appears twice"},
      {R"({"id": "urn:x:1", "type": "T", "s": []})", "must not be empty"},
      {R"({"id": "urn:x:1", "type": "T", "": {"type": "Property", "value": 1}})", "must not be empty"},
      {R"({"id": "urn:x:1", "type": "T",)", "malformed JSON"},
  };
  for (auto [json, expected] : cases) {
    Result<Entity> r = entity_from_text(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(expected), std::string::npos) << json << " -> " << r.status().message();
  }
}

TEST(EntityJson, DateTimes) {
  EXPECT_EQ(parse_datetime_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_datetime_ms("2024-05-01T10:00:00.5Z"), 1714557600500);
  EXPECT_EQ(parse_datetime_ms("2024-05-01T12:00:00+02:00"), 1714557600000);
  EXPECT_EQ(parse_datetime_ms("2024-05-01T09:30:00.123456-00:30"), 1714557600123);
  EXPECT_EQ(parse_datetime_ms("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(parse_datetime_ms("1969-12-31T23:59:59.999Z"), -1);
  for (const char* bad : {"2023-02-29T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01 10:00:00Z", "2024-13-01T00:00:00Z",
                          "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00Zjunk", "", "2024-05-01T24:00:00Z"})
    EXPECT_FALSE(parse_datetime_ms(bad).has_value()) << bad;
  EXPECT_EQ(format_datetime_ms(1714557600123), "2024-05-01T10:00:00.123Z");
  EXPECT_EQ(format_datetime_ms(-1), "1969-12-31T23:59:59.999Z");
  for (int64_t t : {int64_t{0}, int64_t{951782400000}, int64_t{4102444800001}, int64_t{-86400000}})
    EXPECT_EQ(parse_datetime_ms(format_datetime_ms(t)), t);
}

}  // namespace
}  // namespace urbis::model
