// render_entity(): the three representations, projection, and names shown
// through the request's context.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"
#include "ngsild/render.hpp"

namespace urbis::ngsild {
namespace {

namespace json = boost::json;

model::Entity sample() {
  auto e = model::entity_from_text(R"({
    "id": "urn:ngsi-ld:Sensor:1", "type": "Sensor",
    "temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL"},
    "count": {"type": "Property", "value": 3},
    "address": {"type": "Property", "value": {"city": "Paris"}},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.35, 48.85]}},
    "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:7"},
    "name": {"type": "LanguageProperty", "languageMap": {"en": "Bridge", "fr": "Pont"}},
    "speed": [{"type": "Property", "value": 30, "datasetId": "urn:ds:radar"}, {"type": "Property", "value": 31}],
    "https://example.org/city#level": {"type": "Property", "value": 0.5,
        "accuracy": {"type": "Property", "value": 0.1}}
  })");
  EXPECT_TRUE(e.ok()) << e.status().message();
  return *e;
}

std::string render(const RenderOptions& o) { return model::to_json(render_entity(sample(), o)); }

TEST(Render, NormalizedIsTheStoredFormWithCoreNames) {
  json::object o = render_entity(sample(), {});
  EXPECT_EQ(o["temperature"], json::parse(R"({"type":"Property","value":21.5,"unitCode":"CEL"})"));
  EXPECT_EQ(o["owner"], json::parse(R"({"type":"Relationship","object":"urn:ngsi-ld:Person:7"})"));
  EXPECT_TRUE(o["speed"].is_array());
  EXPECT_FALSE(o.contains("createdAt"));
  // A name outside the default vocabulary stays a full IRI under the core context.
  EXPECT_TRUE(o.contains("https://example.org/city#level"));
}

TEST(Render, KeyValuesGivesBareValues) {
  RenderOptions opt;
  opt.format = EntityFormat::kKeyValues;
  json::object o = render_entity(sample(), opt);
  EXPECT_EQ(o["temperature"], json::value(21.5));
  EXPECT_EQ(o["owner"], json::value("urn:ngsi-ld:Person:7"));
  EXPECT_EQ(o["location"], json::parse(R"({"type":"Point","coordinates":[2.35,48.85]})"));
  EXPECT_EQ(o["name"], json::parse(R"({"en":"Bridge","fr":"Pont"})"));
  EXPECT_EQ(o["speed"], json::parse("[30,31]"));
  EXPECT_EQ(o["type"], json::value("Sensor"));
}

TEST(Render, ConciseDropsTypesAndKeepsWhatTellsTheKind) {
  RenderOptions opt;
  opt.format = EntityFormat::kConcise;
  json::object o = render_entity(sample(), opt);
  EXPECT_EQ(o["count"], json::value(3));
  EXPECT_EQ(o["temperature"], json::parse(R"({"value":21.5,"unitCode":"CEL"})"));
  EXPECT_EQ(o["address"], json::parse(R"({"value":{"city":"Paris"}})"));  // not mistaken for a structure
  EXPECT_EQ(o["location"], json::parse(R"({"type":"Point","coordinates":[2.35,48.85]})"));
  EXPECT_EQ(o["owner"], json::parse(R"({"object":"urn:ngsi-ld:Person:7"})"));
  EXPECT_EQ(o["name"], json::parse(R"({"languageMap":{"en":"Bridge","fr":"Pont"}})"));
  EXPECT_EQ(o["https://example.org/city#level"], json::parse(R"({"value":0.5,"accuracy":0.1})"));
}

TEST(Render, SysAttrsAtEveryLevel) {
  RenderOptions opt;
  opt.sys_attrs = true;
  json::object o = render_entity(sample(), opt);
  EXPECT_TRUE(o.contains("createdAt"));
  EXPECT_TRUE(o["temperature"].as_object().contains("modifiedAt"));
  EXPECT_TRUE(o["https://example.org/city#level"].as_object()["accuracy"].as_object().contains("createdAt"));
}

TEST(Render, ProjectionByStoredName) {
  RenderOptions opt;
  opt.attrs.emplace();
  opt.attrs->insert("temperature");
  opt.attrs->insert("nope");
  EXPECT_EQ(render(opt), R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","temperature":{"type":"Property","value":21.5,"unitCode":"CEL"}})");
  RenderOptions omit;
  omit.show_type = false;
  omit.omit = {"temperature", "count", "address", "location", "owner", "name", "speed",
               "https://example.org/city#level"};
  EXPECT_EQ(render(omit), R"({"id":"urn:ngsi-ld:Sensor:1"})");
}

TEST(Render, NamesAreCompactedWithTheGivenContext) {
  auto ctx = Context::build(json::parse(R"({"lvl": "https://example.org/city#level",
                                            "T": "https://uri.etsi.org/ngsi-ld/default-context/temperature"})"),
                            {});
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  RenderOptions opt;
  opt.context = ctx->get();
  json::object o = render_entity(sample(), opt);
  EXPECT_TRUE(o.contains("lvl"));
  EXPECT_TRUE(o.contains("T"));
  EXPECT_FALSE(o.contains("temperature"));
  EXPECT_TRUE(o.contains("count"));  // default vocabulary: the bare term
}

TEST(Render, LangShowsALanguagePropertyAsAPropertyInTheChosenLanguage) {
  RenderOptions o;
  o.languages = {"de", "fr"};
  EXPECT_EQ(render_entity(sample(), o)["name"], json::parse(R"({"type":"Property","value":"Pont","lang":"fr"})"));
  o.languages = {"es"};  // none of these, no @none: the first language it has
  EXPECT_EQ(render_entity(sample(), o)["name"], json::parse(R"({"type":"Property","value":"Bridge","lang":"en"})"));
  o.format = EntityFormat::kKeyValues;
  o.languages = {"fr"};
  EXPECT_EQ(render_entity(sample(), o)["name"], json::value("Pont"));
  o.languages.clear();  // without lang the map is shown whole
  EXPECT_EQ(render_entity(sample(), o)["name"], json::parse(R"({"en":"Bridge","fr":"Pont"})"));
}

TEST(Render, FeatureTakesItsGeometryFromTheNamedGeoProperty) {
  json::object f = render_feature(sample(), {}, "location");
  EXPECT_EQ(f["type"], "Feature");
  EXPECT_EQ(f["id"], "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(f["geometry"], json::parse(R"({"type":"Point","coordinates":[2.35,48.85]})"));
  EXPECT_FALSE(f["properties"].as_object().contains("id"));
  EXPECT_EQ(f["properties"].as_object().begin()->key(), "type");
  EXPECT_TRUE(render_feature(sample(), {}, "temperature")["geometry"].is_null()) << "not a GeoProperty";
  EXPECT_TRUE(render_feature(sample(), {}, "nowhere")["geometry"].is_null());
}

}  // namespace
}  // namespace urbis::ngsild
