// Device profiles: a table of broken profiles with the field each message must
// name, the mapping rules (scale/offset, value tables, unmapped readings,
// units, times, entity id templates), every shipped profile applied to a
// realistic payload decoded by the real decoder, and ProfileSet's directory
// handling (override, bad file, missing directory).
#include "devices/profiles/profile.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "devices/profiles/profile_internal.hpp"
#include "model/json_format.hpp"

namespace urbis::devices {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int64_t kNow = 1795594500000;  // 2026-11-25T08:15:00Z

const char* const kGood = R"(
name = "air"
description = "test"
decoder = "json"
entity_type = "AirQualityObserved"

[[attribute]]
reading = "no2"
name = "no2"
unit = "GQ"

[[attribute]]
reading = "t"
name = "temperature"
unit = "CEL"
scale = 0.1
offset = -40
)";

const std::string kHead = "name = \"p\"\ndecoder = \"json\"\nentity_type = \"T\"\n";
const std::string kAttr = "[[attribute]]\nreading = \"r\"\nname = \"a\"\n";

Device device(std::string id = "aq-7", std::string tenant = "") {
  Device d;
  d.id = std::move(id);
  d.tenant = std::move(tenant);
  return d;
}

Reading reading(std::string name, json::value v, std::string unit = "", std::optional<int64_t> t = std::nullopt) {
  Reading r;
  r.name = std::move(name);
  r.value = std::move(v);
  r.unit = std::move(unit);
  r.time_ms = t;
  return r;
}

Profile parse_ok(const std::string& text) {
  Result<Profile> p = parse_profile(text, "t.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? p.value() : Profile{};
}

// ---------------------------------------------------------------- parsing

TEST(ProfileParse, GoodProfileAndDefaults) {
  Profile p = parse_ok(kGood);
  EXPECT_EQ(p.name, "air");
  EXPECT_EQ(p.description, "test");
  EXPECT_EQ(p.decoder, Format::kJson);
  EXPECT_FALSE(p.inner.has_value());
  EXPECT_EQ(p.entity_type, "AirQualityObserved");
  EXPECT_EQ(p.entity_id, "urn:ngsi-ld:AirQualityObserved:{device}");
  EXPECT_FALSE(p.keep_unmapped);
  EXPECT_EQ(p.source, "t.toml");
  ASSERT_EQ(p.attributes.size(), 2u);
  EXPECT_EQ(p.attributes[0].reading, "no2");
  EXPECT_EQ(p.attributes[0].unit_code, "GQ");
  EXPECT_FALSE(p.attributes[0].numeric);
  EXPECT_TRUE(p.attributes[1].numeric);
  EXPECT_DOUBLE_EQ(p.attributes[1].scale, 0.1);
  EXPECT_DOUBLE_EQ(p.attributes[1].offset, -40);
}

TEST(ProfileParse, EnvelopeWithInnerFormat) {
  Profile p = parse_ok(R"(
name = "lora"
decoder = "ttn"
inner = "cayenne"
entity_type = "Thing"
keep_unmapped = true
)");
  EXPECT_EQ(p.decoder, Format::kTtsV3);
  ASSERT_TRUE(p.inner.has_value());
  EXPECT_EQ(*p.inner, Format::kCayenneLpp);
  EXPECT_TRUE(p.attributes.empty());
}

TEST(ProfileParse, NonAsciiInStringsAndComments) {
  Profile p = parse_ok("# Sensor für µg/m³\n" + kHead + "description = \"µg/m³ 'é'\"\n" +
                       "[[attribute]]\nreading = 'größe'\nname = \"grandeur\"  # ³\n" +
                       "[[attribute]]\nreading = \"\"\"ß\"\"\"\nname = '''µ'''\n");
  EXPECT_EQ(p.description, "µg/m³ 'é'");
  ASSERT_EQ(p.attributes.size(), 2u);
  EXPECT_EQ(p.attributes[0].reading, "größe");
  EXPECT_EQ(p.attributes[1].reading, "ß");
  EXPECT_EQ(p.attributes[1].name, "µ");
}

TEST(ProfileParse, FullMessageNamesFileFieldAndLine) {
  Result<Profile> p = parse_profile(R"(name = "air"
decoder = "json"
entity_type = "T"
[[attribute]]
reading = "a"
name = "a"
[[attribute]]
reading = "b"
name = "b"
[[attribute]]
reading = "c"
name = "c"
unit = 5
)",
                                    "profiles/air.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(p.status().message(), "profiles/air.toml: attribute[2].unit: must be a string, got an integer (line 13)");
}

struct BadCase {
  std::string label;
  std::string text;
  std::string reason;  // fragment of the message
};

TEST(ProfileParse, BadProfiles) {
  const std::vector<BadCase> cases = {
      {"TOML syntax", "name = \n", "t.toml:1:"},
      {"non-ASCII outside strings (toml++ 3.3 would hit undefined behaviour)",
       kHead + "keep_unmapped = true \xc2\xb3\n", "t.toml:4: non-ASCII character outside a string or comment"},
      {"non-ASCII after a line-ending backslash", kHead + "description = \"\"\"a \\\n  \xc2\xa7\"\"\"\n" + kAttr,
       "t.toml:5: non-ASCII character right after a line-ending backslash"},
      {"unknown top-level key", kHead + "entity_typ = \"X\"\n" + kAttr, "t.toml: entity_typ: unknown key (expected one of name"},
      {"name missing", "decoder = \"json\"\nentity_type = \"T\"\n" + kAttr, "name: missing (required)"},
      {"name not a string", "name = 5\ndecoder = \"json\"\nentity_type = \"T\"\n" + kAttr,
       "name: must be a string, got an integer"},
      {"name with a slash", "name = \"a/b\"\ndecoder = \"json\"\nentity_type = \"T\"\n" + kAttr,
       "name: must be 1 to 64 characters"},
      {"name too long", "name = \"" + std::string(65, 'a') + "\"\ndecoder = \"json\"\nentity_type = \"T\"\n" + kAttr,
       "name: must be 1 to 64"},
      {"description not a string", kHead + "description = true\n" + kAttr, "description: must be a string, got a boolean"},
      {"decoder missing", "name = \"p\"\nentity_type = \"T\"\n" + kAttr, "decoder: missing"},
      {"decoder unknown", "name = \"p\"\ndecoder = \"xml\"\nentity_type = \"T\"\n" + kAttr,
       "decoder: unknown format \"xml\" (json, senml+json"},
      {"decoder case matters", "name = \"p\"\ndecoder = \"JSON\"\nentity_type = \"T\"\n" + kAttr,
       "decoder: unknown format \"JSON\""},
      {"inner without an envelope", kHead + "inner = \"lpp\"\n" + kAttr, "inner: only an envelope decoder"},
      {"inner unknown", "name = \"p\"\ndecoder = \"chirpstack\"\ninner = \"xml\"\nentity_type = \"T\"\n" + kAttr,
       "inner: unknown format \"xml\""},
      {"inner is an envelope", "name = \"p\"\ndecoder = \"chirpstack\"\ninner = \"tts\"\nentity_type = \"T\"\n" + kAttr,
       "inner: \"tts\" is an envelope"},
      {"entity_type missing", "name = \"p\"\ndecoder = \"json\"\n" + kAttr, "entity_type: missing"},
      {"entity_type empty", "name = \"p\"\ndecoder = \"json\"\nentity_type = \"\"\n" + kAttr,
       "entity_type: must not be empty"},
      {"entity_type with (", "name = \"p\"\ndecoder = \"json\"\nentity_type = \"Air(Quality)\"\n" + kAttr,
       "entity_type: must not contain '('"},
      {"entity_type with a space", "name = \"p\"\ndecoder = \"json\"\nentity_type = \"Air Quality\"\n" + kAttr,
       "entity_type: must not contain spaces"},
      {"entity_id not a string", kHead + "entity_id = 3\n" + kAttr, "entity_id: must be a string"},
      {"entity_id unknown placeholder", kHead + "entity_id = \"urn:ngsi-ld:T:{id}\"\n" + kAttr,
       "entity_id: unknown placeholder \"{id}\""},
      {"entity_id stray brace", kHead + "entity_id = \"urn:ngsi-ld:T:}\"\n" + kAttr, "entity_id: '}' without"},
      {"entity_id not a URI", kHead + "entity_id = \"sensor-{device}\"\n" + kAttr, "entity_id: must be a URI"},
      {"entity_id with a space", kHead + "entity_id = \"urn:x:a b{device}\"\n" + kAttr, "entity_id: must be a URI"},
      {"keep_unmapped not a boolean", kHead + "keep_unmapped = \"yes\"\n" + kAttr,
       "keep_unmapped: must be a boolean, got a string"},
      {"no attribute, nothing kept", kHead, "attribute: no [[attribute]] and keep_unmapped is false"},
      {"attribute not an array of tables", kHead + "attribute = 5\n", "attribute: must be an array of tables"},
      {"attribute unknown key", kHead + kAttr + "units = \"CEL\"\n", "attribute[0].units: unknown key"},
      {"reading missing", kHead + kAttr + "[[attribute]]\nname = \"b\"\n", "attribute[1].reading: missing"},
      {"reading empty", kHead + "[[attribute]]\nreading = \"\"\nname = \"a\"\n", "attribute[0].reading: must not be empty"},
      {"reading not a string", kHead + "[[attribute]]\nreading = 1\nname = \"a\"\n",
       "attribute[0].reading: must be a string"},
      {"attribute name missing", kHead + "[[attribute]]\nreading = \"r\"\n", "attribute[0].name: missing"},
      {"attribute name with =", kHead + "[[attribute]]\nreading = \"r\"\nname = \"a=b\"\n",
       "attribute[0].name: must not contain '='"},
      {"attribute name with a quote", kHead + "[[attribute]]\nreading = \"r\"\nname = \"a'b\"\n",
       "attribute[0].name: must not contain '''"},
      {"attribute name with a tab", kHead + "[[attribute]]\nreading = \"r\"\nname = \"a\\tb\"\n",
       "attribute[0].name: must not contain spaces or control characters"},
      {"attribute name id", kHead + "[[attribute]]\nreading = \"r\"\nname = \"id\"\n",
       "attribute[0].name: \"id\" is a member of the entity"},
      {"attribute name type", kHead + "[[attribute]]\nreading = \"r\"\nname = \"type\"\n",
       "attribute[0].name: \"type\" is a member"},
      {"attribute name keyword", kHead + "[[attribute]]\nreading = \"r\"\nname = \"@context\"\n",
       "attribute[0].name: must not start with '@'"},
      {"attribute name empty", kHead + "[[attribute]]\nreading = \"r\"\nname = \"\"\n",
       "attribute[0].name: must not be empty"},
      {"two attributes write one name", kHead + kAttr + "[[attribute]]\nreading = \"s\"\nname = \"a\"\n",
       "attribute[1].name: \"a\" is already written by attribute[0]"},
      {"unit not a string", kHead + kAttr + "unit = 5\n", "attribute[0].unit: must be a string, got an integer"},
      {"unit is a SenML unit", kHead + kAttr + "unit = \"Cel\"\n", "attribute[0].unit: must be a UN/CEFACT common code"},
      {"unit is a symbol", kHead + kAttr + "unit = \"°C\"\n", "attribute[0].unit: must be a UN/CEFACT"},
      {"unit too long", kHead + kAttr + "unit = \"CELS\"\n", "attribute[0].unit: must be a UN/CEFACT"},
      {"scale not a number", kHead + kAttr + "scale = \"0.1\"\n", "attribute[0].scale: must be a number, got a string"},
      {"scale zero", kHead + kAttr + "scale = 0\n", "attribute[0].scale: must not be 0"},
      {"scale infinite", kHead + kAttr + "scale = inf\n", "attribute[0].scale: must be a finite number"},
      {"offset NaN", kHead + kAttr + "offset = nan\n", "attribute[0].offset: must be a finite number"},
      {"offset not a number", kHead + kAttr + "offset = true\n", "attribute[0].offset: must be a number"},
      {"values not a table", kHead + kAttr + "values = [1, 2]\n", "attribute[0].values: must be a table, got an array"},
      {"values empty", kHead + kAttr + "values = {}\n", "attribute[0].values: must not be empty"},
      {"values with scale", kHead + kAttr + "scale = 2\nvalues = { \"1\" = \"a\" }\n",
       "attribute[0].values: cannot be combined with scale/offset"},
      {"values: 1 and 1.0 are one key", kHead + kAttr + "values = { \"1\" = \"a\", \"1.0\" = \"b\" }\n",
       "attribute[0].values.1.0: same reading value as the key \"1\""},
      {"values: on and \"on\" are one key", kHead + kAttr + "values = { \"on\" = 1, '\"on\"' = 2 }\n",
       "attribute[0].values.on: same reading value as the key"},
      {"values: a date", kHead + kAttr + "values = { \"1\" = 2024-01-01 }\n",
       "attribute[0].values.1: must be a string, number, boolean, array or table, got a date"},
      {"values: NaN", kHead + kAttr + "values = { \"1\" = nan }\n", "attribute[0].values.1: must be a finite number"},
  };
  for (const BadCase& c : cases) {
    Result<Profile> p = parse_profile(c.text, "t.toml");
    if (p.ok()) {
      ADD_FAILURE() << c.label << ": parsed, expected an error containing: " << c.reason;
      continue;
    }
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << c.label;
    EXPECT_NE(p.status().message().find(c.reason), std::string::npos)
        << c.label << ": got \"" << p.status().message() << "\", wanted \"" << c.reason << "\"";
    EXPECT_EQ(p.status().message().rfind("t.toml", 0), 0u) << c.label << ": " << p.status().message();
  }
}

TEST(ProfileParse, ToJsonHasEveryField) {
  Profile q = parse_ok(R"(
name = "x"
description = "d"
decoder = "chirpstack"
inner = "lpp"
entity_type = "ParkingSpot"
entity_id = "urn:ngsi-ld:ParkingSpot:{tenant}:{device}"
keep_unmapped = true
[[attribute]]
reading = "presence_1"
name = "status"
values = { "1" = "occupied", "0" = "free" }
[[attribute]]
reading = "temperature_2"
name = "temperature"
unit = "CEL"
scale = 1
)");
  EXPECT_EQ(model::to_json(profile_to_json(q)),
            R"({"name":"x","description":"d","decoder":"chirpstack","inner":"lpp","entity_type":"ParkingSpot",)"
            R"("entity_id":"urn:ngsi-ld:ParkingSpot:{tenant}:{device}","keep_unmapped":true,"attributes":[)"
            R"({"reading":"presence_1","name":"status","values":{"0":"free","1":"occupied"}},)"
            R"({"reading":"temperature_2","name":"temperature","unit":"CEL","scale":1,"offset":0}],"source":"t.toml"})");
  Profile r = parse_ok(kGood);
  EXPECT_TRUE(profile_to_json(r).at("inner").is_null());
}

// ---------------------------------------------------------------- mapping

std::string attrs_text(const Mapped& m) {
  std::string s;
  for (const MappedAttribute& a : m.attributes) {
    s += a.name + "=" + model::to_json(a.value);
    if (!a.unit_code.empty()) s += "[" + a.unit_code + "]";
    if (a.time_ms) s += "@" + std::to_string(*a.time_ms);
    s += " ";
  }
  return s;
}

TEST(ProfileMap, ScaleAndOffset) {
  Profile p = parse_ok(kHead + R"(
[[attribute]]
reading = "h"
name = "relativeHumidity"
scale = 0.01
[[attribute]]
reading = "raw"
name = "temperature"
scale = 0.1
offset = -40
[[attribute]]
reading = "kw"
name = "power"
scale = 1000
[[attribute]]
reading = "n"
name = "count"
)");
  Result<Mapped> m = map_readings(p, device(),
                                  {reading("h", 57), reading("raw", 612), reading("kw", 1.5), reading("n", 7)});
  ASSERT_TRUE(m.ok()) << m.status().message();
  // 57 * 0.01 would print 0.5700000000000001.
  EXPECT_EQ(attrs_text(*m), "relativeHumidity=0.57 temperature=21.2 power=1500 count=7 ");

  Result<Mapped> bad = map_readings(p, device(), {reading("raw", "hot")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "reading 'raw' (attribute 'temperature'): scale/offset need a number, got \"hot\"");
  Result<Mapped> boolean = map_readings(p, device(), {reading("h", true)});
  ASSERT_FALSE(boolean.ok());
  EXPECT_NE(boolean.status().message().find("reading 'h' (attribute 'relativeHumidity')"), std::string::npos);
}

TEST(ProfileMap, ValueTables) {
  Profile p = parse_ok(kHead + R"(
[[attribute]]
reading = "occupied"
name = "status"
values = { "true" = "occupied", "false" = "free", "1" = "occupied", "0.0" = "free", '"closed"' = "closed", unknown = "unknown" }
[[attribute]]
reading = "alarm"
name = "alarmTamper"
values = { "true" = 1, "false" = 0 }
)");
  struct Case {
    json::value in;
    std::string out;
  };
  const std::vector<Case> cases = {
      {true, R"("occupied")"}, {false, R"("free")"},    {1, R"("occupied")"},        {1.0, R"("occupied")"},
      {0, R"("free")"},        {0.0, R"("free")"},      {"closed", R"("closed")"},   {"unknown", R"("unknown")"},
      {json::value(uint64_t{1}), R"("occupied")"},
  };
  for (const Case& c : cases) {
    Result<Mapped> m = map_readings(p, device(), {reading("occupied", c.in)});
    ASSERT_TRUE(m.ok()) << model::to_json(c.in) << ": " << m.status().message();
    ASSERT_EQ(m->attributes.size(), 1u);
    EXPECT_EQ(model::to_json(m->attributes[0].value), c.out) << model::to_json(c.in);
  }
  Result<Mapped> n = map_readings(p, device(), {reading("alarm", true)});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(attrs_text(*n), "alarmTamper=1 ");

  for (const json::value& v : {json::value(2), json::value("maybe"), json::value(0.5)}) {
    Result<Mapped> bad = map_readings(p, device(), {reading("occupied", v)});
    ASSERT_FALSE(bad.ok()) << model::to_json(v);
    EXPECT_EQ(bad.status().message(), "reading 'occupied' (attribute 'status'): value " + model::to_json(v) +
                                          " is not in the profile's values table");
  }
}

TEST(ProfileMap, SenmlUnitsBecomeUnCefactCodes) {
  EXPECT_EQ(unit_code_of("Cel"), "CEL");
  EXPECT_EQ(unit_code_of("%RH"), "P1");
  EXPECT_EQ(unit_code_of("ug/m3"), "GQ");
  EXPECT_EQ(unit_code_of("hPa"), "A97");
  EXPECT_EQ(unit_code_of("kWh"), "KWH");
  EXPECT_EQ(unit_code_of(""), "");
  EXPECT_EQ(unit_code_of("furlong/fortnight"), "furlong/fortnight");  // unknown: kept as sent
  EXPECT_EQ(unit_code_of("CEL"), "CEL");
}

TEST(ProfileMap, UnmappedDroppedOrKept) {
  const std::string attrs = "[[attribute]]\nreading = \"t\"\nname = \"temperature\"\n";
  const std::vector<Reading> in = {reading("zeta", 1, "Cel"), reading("t", 20), reading("alpha", "x"),
                                   reading("temperature", 99), reading("bad name", 3), reading("id", 4)};
  Profile drop = parse_ok(kHead + attrs);
  Result<Mapped> d = map_readings(drop, device(), in);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(attrs_text(*d), "temperature=20 ");
  EXPECT_EQ(d->dropped, 5u);

  Profile keep = parse_ok(kHead + "keep_unmapped = true\n" + attrs);
  Result<Mapped> k = map_readings(keep, device(), in);
  ASSERT_TRUE(k.ok());
  // Profile order first, then kept ones by name with their decoded unit as a
  // UN/CEFACT code (SenML "Cel" is "CEL"); a kept
  // reading never overwrites a mapped attribute, and names NGSI-LD refuses are dropped.
  EXPECT_EQ(attrs_text(*k), "temperature=20 alpha=\"x\" zeta=1[CEL] ");
  EXPECT_EQ(k->dropped, 3u);

  Result<Mapped> none = map_readings(drop, device(), {reading("other", 1)});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->attributes.empty());
  EXPECT_EQ(none->dropped, 1u);
}

TEST(ProfileMap, UnitsTimesAndRepeatedReadings) {
  Profile p = parse_ok(kHead + R"(
[[attribute]]
reading = "temperature_1"
name = "temperature"
unit = "CEL"
[[attribute]]
reading = "temperature_1"
name = "temperatureRaw"
[[attribute]]
reading = "pressure"
name = "atmosphericPressure"
)");
  Result<Mapped> m = map_readings(p, device(),
                                  {reading("temperature_1", 21.5, "Cel", 1000), reading("pressure", 1013, "hPa"),
                                   reading("temperature_1", 21.7, "Cel", 2000)});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(attrs_text(*m),
            "temperature=21.5[CEL]@1000 temperature=21.7[CEL]@2000 temperatureRaw=21.5[CEL]@1000 "
            "temperatureRaw=21.7[CEL]@2000 atmosphericPressure=1013[A97] ");
}

TEST(ProfileMap, EntityIdTemplate) {
  Profile def = parse_ok(kGood);
  Result<Mapped> a = map_readings(def, device("aq-7", "north"), {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->entity_type, "AirQualityObserved");
  EXPECT_EQ(a->entity_id, "urn:ngsi-ld:AirQualityObserved:aq-7");

  Profile t = parse_ok(kHead + "entity_id = \"urn:ngsi-ld:T:{tenant}:{device}:{device}\"\n" + kAttr);
  Result<Mapped> b = map_readings(t, device("s1", ""), {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->entity_id, "urn:ngsi-ld:T:default:s1:s1");
  Result<Mapped> c = map_readings(t, device("s1", "north"), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entity_id, "urn:ngsi-ld:T:north:s1:s1");

  // Without {device}: every device of the profile feeds one entity.
  Profile one = parse_ok(kHead + "entity_id = \"urn:ngsi-ld:T:station-3\"\n" + kAttr);
  Result<Mapped> d = map_readings(one, device("s9"), {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->entity_id, "urn:ngsi-ld:T:station-3");
}

TEST(ProfileMap, Unprofiled) {
  Mapped m = map_unprofiled(device("dev-1", "north"),
                            {reading("temperature", 21.5, "Cel", 5), reading("a(b)", 1), reading("door", true)});
  EXPECT_EQ(m.entity_type, "Device");
  EXPECT_EQ(m.entity_id, "urn:ngsi-ld:Device:dev-1");
  EXPECT_EQ(attrs_text(m), "temperature=21.5[CEL]@5 door=true ");
  EXPECT_EQ(m.dropped, 1u);
}

// ---------------------------------------------------------------- shipped profiles

struct Shipped {
  std::string profile;
  std::string payload;  // LPP: hex
  std::string want;     // attrs_text of the mapping
};

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

const char* const kChirpstackUp = R"({
  "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
  "time": "2026-11-25T08:15:00+00:00",
  "deviceInfo": {
    "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "City",
    "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97", "applicationName": "parking",
    "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad", "deviceProfileName": "puck",
    "deviceName": "P-0042", "devEui": "70b3d57ed0051a2c"
  },
  "devAddr": "00189440", "adr": true, "dr": 5, "fCnt": 17, "fPort": 1, "confirmed": false,
  "data": "AQ==",
  "object": {"occupied": true},
  "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": 4217106255, "rssi": -97, "snr": 8.5}],
  "txInfo": {"frequency": 868100000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7}}}
})";

TEST(ProfileBuiltin, EveryShippedProfileMapsItsExamplePayload) {
  const int64_t ts = 1764000000000;  // "ts": 1764000000
  const std::string t = "@" + std::to_string(ts);
  const std::vector<Shipped> cases = {
      {"air-quality",
       R"({"no2": 41.5, "o3": 61, "pm10": 23, "pm25": 12.4, "co": 0.4, "temperature": 18.2, "humidity": 54, "ts": 1764000000})",
       "no2=41.5[GQ]" + t + " o3=61[GQ]" + t + " co=0.4[GP]" + t + " pm10=23[GQ]" + t + " pm25=12.4[GQ]" + t +
           " temperature=18.2[CEL]" + t + " relativeHumidity=0.54[C62]" + t + " "},
      {"air-quality-lpp", "016700B6" "02686C" "03021036" "040208FC" "050204D8",
       "temperature=18.2[CEL] relativeHumidity=0.54[C62] no2=41.5[GQ] pm10=23[GQ] pm25=12.4[GQ] "},
      {"traffic-loop", R"({"vehicles": 42, "speed": 47.5, "occupancy": 12.5, "congested": false, "ts": 1764000000})",
       "intensity=42" + t + " averageVehicleSpeed=47.5[KMH]" + t + " occupancy=0.125[C62]" + t + " congested=false" +
           t + " "},
      {"water-meter",
       R"({"index": 123456, "flow_min": 0, "flow_max": 420, "leak": false, "tamper": true, "backflow": false, "ts": 1764000000})",
       "waterConsumption=123.456[MTQ]" + t + " minFlow=0[E32]" + t + " maxFlow=420[E32]" + t + " alarmStopsLeaks=0" + t +
           " alarmTamper=1" + t + " alarmWaterQuality=0" + t + " "},
      {"water-quality",
       R"({"temperature": 12.4, "ph": 7.6, "conductivity": 512, "turbidity": 1.8, "oxygen": 9.1, "ts": 1764000000})",
       "temperature=12.4[CEL]" + t + " pH=7.6" + t + " conductivity=512[G42]" + t + " turbidity=1.8" + t +
           " O2=9.1[M1]" + t + " "},
      {"water-level", R"({"level": 1.82, "flow": 12.4, "ts": 1764000000})",
       "height=1.82[MTR]" + t + " flow=12.4[MQS]" + t + " "},
      {"energy-meter",
       R"({"energy_import": 150781.96, "energy_export": 1059.8, "power": 31700.3, "frequency": 50.02, "power_factor": 0.97, "ts": 1764000000})",
       "totalActiveEnergyImport=150781.96[KWH]" + t + " totalActiveEnergyExport=1059.8[KWH]" + t +
           " totalActivePower=31700.3[WTT]" + t + " frequency=50.02[HTZ]" + t + " totalPowerFactor=0.97" + t + " "},
      {"parking-sensor", R"({"occupied": true, "ts": 1764000000})", "status=\"occupied\"" + t + " "},
      {"parking-sensor-chirpstack", kChirpstackUp, "status=\"occupied\"@" + std::to_string(kNow) + " "},
      {"street-light", R"({"on": true, "dimming": 70, "power": 38.5, "voltage": 231.2, "current": 0.17, "ts": 1764000000})",
       "powerState=\"on\"" + t + " illuminanceLevel=0.7[C62]" + t + " powerConsumption=38.5[WTT]" + t +
           " voltage=231.2[VLT]" + t + " current=0.17[AMP]" + t + " "},
      {"noise", R"({"laeq": 58.3, "lamax": 71.9, "las": 55.2, "ts": 1764000000})",
       "LAeq=58.3[2N]" + t + " LAmax=71.9[2N]" + t + " LAS=55.2[2N]" + t + " "},
  };

  std::vector<Profile> shipped = ProfileSet::builtin();
  // Every file of profiles/ parsed (builtin() skips one that does not).
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(fs::path(URBIS_SOURCE_DIR) / "profiles"))
    if (entry.path().extension() == ".toml") files.insert(entry.path().stem().string());
  ASSERT_EQ(shipped.size(), files.size());
  ASSERT_EQ(profile_detail::builtin_profile_files().size(), files.size());

  std::set<std::string> tested;
  for (const Shipped& c : cases) tested.insert(c.profile);
  for (const Profile& p : shipped) {
    EXPECT_TRUE(files.count(p.name)) << p.name << ": the name must be the file's name";
    EXPECT_EQ(p.source, "builtin");
    EXPECT_FALSE(p.description.empty()) << p.name;
    EXPECT_TRUE(tested.count(p.name)) << p.name << ": add its example payload to this test";
  }

  for (const Shipped& c : cases) {
    auto it = std::find_if(shipped.begin(), shipped.end(), [&](const Profile& p) { return p.name == c.profile; });
    ASSERT_NE(it, shipped.end()) << c.profile;
    DecodeOptions o;
    o.now_ms = kNow;
    o.inner = it->inner;
    const std::string payload = it->decoder == Format::kCayenneLpp ? unhex(c.payload) : c.payload;
    Result<Decoded> d = decode(it->decoder, payload, o);
    ASSERT_TRUE(d.ok()) << c.profile << ": " << d.status().message();
    Result<Mapped> m = map_readings(*it, device("dev-1"), d->readings);
    ASSERT_TRUE(m.ok()) << c.profile << ": " << m.status().message();
    EXPECT_EQ(attrs_text(*m), c.want) << c.profile;
    EXPECT_EQ(m->dropped, 0u) << c.profile;
    EXPECT_EQ(m->entity_id, "urn:ngsi-ld:" + it->entity_type + ":dev-1") << c.profile;
  }
}

// ---------------------------------------------------------------- ProfileSet

class ProfileSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("urbis-profiles-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  fs::path dir_;
};

TEST_F(ProfileSetTest, BuiltinOnly) {
  ProfileSet set;
  EXPECT_EQ(set.find("air-quality"), nullptr);  // nothing before the first load
  ASSERT_TRUE(set.load("").ok());
  auto p = set.find("air-quality");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->source, "builtin");
  EXPECT_EQ(set.all().size(), ProfileSet::builtin().size());
  EXPECT_EQ(set.find("nope"), nullptr);
}

TEST_F(ProfileSetTest, DirectoryAddsAndOverrides) {
  write("air.toml", R"(
name = "air-quality"
decoder = "senml"
entity_type = "AirQualityObserved"
keep_unmapped = true
)");
  write("mine.toml", kHead + kAttr);
  write("README.md", "not a profile");
  ProfileSet set;
  ASSERT_TRUE(set.load(dir_.string()).ok());
  auto air = set.find("air-quality");
  ASSERT_NE(air, nullptr);
  EXPECT_EQ(air->decoder, Format::kSenmlJson);
  EXPECT_EQ(air->source, (dir_ / "air.toml").string());
  auto mine = set.find("p");
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(set.all().size(), ProfileSet::builtin().size() + 1);
  auto all = set.all();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](auto& a, auto& b) { return a->name < b->name; }));
  ASSERT_NE(set.find("noise"), nullptr);  // the other shipped ones stay
}

TEST_F(ProfileSetTest, BadFileFailsTheLoadAndKeepsTheSet) {
  write("good.toml", kHead + kAttr);
  ProfileSet set;
  ASSERT_TRUE(set.load(dir_.string()).ok());
  auto held = set.find("p");
  ASSERT_NE(held, nullptr);

  write("broken.toml", kHead + kAttr + "unit = \"Cel\"\n");
  Status s = set.load(dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find((dir_ / "broken.toml").string() + ": attribute[0].unit:"), std::string::npos)
      << s.message();
  EXPECT_EQ(set.find("p"), held);  // the previous set is still served

  fs::remove(dir_ / "broken.toml");
  write("twin.toml", kHead + kAttr);
  Status twin = set.load(dir_.string());
  ASSERT_FALSE(twin.ok());
  EXPECT_NE(twin.message().find("\"p\" is also the name of the profile in " + (dir_ / "good.toml").string()),
            std::string::npos)
      << twin.message();
}

TEST_F(ProfileSetTest, MissingAndEmptyDirectory) {
  ProfileSet set;
  Status s = set.load((dir_ / "absent").string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find((dir_ / "absent").string()), std::string::npos) << s.message();
  EXPECT_EQ(set.find("air-quality"), nullptr);

  write("file.toml", kHead + kAttr);
  Status f = set.load((dir_ / "file.toml").string());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.message().find("not a directory"), std::string::npos);

  fs::remove(dir_ / "file.toml");
  ASSERT_TRUE(set.load(dir_.string()).ok());
  EXPECT_EQ(set.all().size(), ProfileSet::builtin().size());
}

TEST_F(ProfileSetTest, ReadersDuringReload) {
  write("mine.toml", kHead + kAttr);
  ProfileSet set;
  ASSERT_TRUE(set.load(dir_.string()).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> missing{0};
  std::thread reader([&] {
    while (!stop) {
      auto p = set.find("p");
      if (p == nullptr || p->name != "p") ++missing;
    }
  });
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(set.load(dir_.string()).ok());
  stop = true;
  reader.join();
  EXPECT_EQ(missing.load(), 0);
}

}  // namespace
}  // namespace urbis::devices
