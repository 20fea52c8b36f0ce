// Device payload decoders: tables of cases per format, with the examples of the
// specifications (RFC 8428 SenML, the Cayenne LPP table, the ChirpStack v4 and
// The Things Stack v3 uplink documentation), and malformed or truncated inputs
// with the fragment of the reason a user would read.
#include "devices/decoders/decoder.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "devices/decoders/cbor.hpp"
#include "devices/decoders/encoding.hpp"
#include "devices/decoders/frame_counter.hpp"
#include "model/json_format.hpp"

namespace urbis::devices {
namespace {

constexpr int64_t kNow = 1795594500000;  // 2026-11-25T08:15:00Z

struct Want {
  std::string name;
  std::string value;  // as model::to_json prints it
  std::string unit;
  std::optional<int64_t> time_ms;
  bool sum = false;
};

struct Case {
  std::string label;
  std::string payload;  // for binary formats: hex
  std::vector<Want> want;
};

struct BadCase {
  std::string label;
  std::string payload;  // for binary formats: hex
  std::string reason;   // fragment of the error message
};

bool binary(Format f) { return f == Format::kSenmlCbor || f == Format::kCayenneLpp; }

std::string bytes_of(Format f, const std::string& payload) {
  if (!binary(f)) return payload;
  auto b = hex_decode(payload);
  EXPECT_TRUE(b.has_value()) << "bad hex in the test table: " << payload;
  return b.value_or("");
}

Result<Decoded> run(Format f, const std::string& payload, std::optional<Format> inner = std::nullopt) {
  DecodeOptions o;
  o.now_ms = kNow;
  o.inner = inner;
  return decode(f, bytes_of(f, payload), o);
}

void expect_readings(const Decoded& d, const std::vector<Want>& want, const std::string& label) {
  ASSERT_EQ(d.readings.size(), want.size()) << label;
  for (size_t i = 0; i < want.size(); ++i) {
    const Reading& r = d.readings[i];
    const Want& w = want[i];
    EXPECT_EQ(r.name, w.name) << label << " reading " << i;
    EXPECT_EQ(model::to_json(r.value), w.value) << label << " reading " << i;
    EXPECT_EQ(r.unit, w.unit) << label << " reading " << i;
    EXPECT_EQ(r.time_ms, w.time_ms) << label << " reading " << i;
    EXPECT_EQ(r.sum, w.sum) << label << " reading " << i;
  }
}

void run_table(Format f, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    auto r = run(f, c.payload);
    ASSERT_TRUE(r.ok()) << c.label << ": " << r.status().message();
    expect_readings(*r, c.want, c.label);
    EXPECT_FALSE(r->lorawan.has_value()) << c.label;
    EXPECT_EQ(r->idempotency_key, "") << c.label;
  }
}

void run_bad_table(Format f, const std::vector<BadCase>& cases, std::optional<Format> inner = std::nullopt) {
  for (const auto& c : cases) {
    auto r = run(f, c.payload, inner);
    ASSERT_FALSE(r.ok()) << c.label << " decoded but should not";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.label;
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos)
        << c.label << ": '" << r.status().message() << "' lacks '" << c.reason << "'";
  }
}

// ---------------------------------------------------------------- names

TEST(DecoderFormat, NamesRoundTrip) {
  for (Format f : {Format::kJson, Format::kSenmlJson, Format::kSenmlCbor, Format::kCayenneLpp, Format::kChirpstackV4,
                   Format::kTtsV3}) {
    EXPECT_EQ(format_from_name(format_name(f)), f) << format_name(f);
  }
  EXPECT_EQ(format_from_name("senml+json"), Format::kSenmlJson);
  EXPECT_EQ(format_from_name("lpp"), Format::kCayenneLpp);
  EXPECT_EQ(format_from_name("ttn"), Format::kTtsV3);
  EXPECT_EQ(format_from_name("xml"), std::nullopt);
  EXPECT_EQ(format_from_name(""), std::nullopt);
  EXPECT_TRUE(is_envelope(Format::kChirpstackV4));
  EXPECT_FALSE(is_envelope(Format::kSenmlCbor));
}

// ---------------------------------------------------------------- flat JSON

TEST(DecoderJson, Table) {
  run_table(Format::kJson, {
      {"flat numbers, bool, string", R"({"temperature": 21.5, "humidity": 40, "door": true, "state": "ok"})",
       {{"temperature", "21.5", "", {}}, {"humidity", "40", "", {}}, {"door", "true", "", {}},
        {"state", "\"ok\"", "", {}}}},
      {"ISO time applies to every reading", R"({"observedAt": "2026-11-25T08:15:00Z", "NO2": 41, "PM10": 18.5})",
       {{"NO2", "41", "", kNow}, {"PM10", "18.5", "", kNow}}},
      {"epoch seconds", R"({"ts": 1795594500, "NO2": 41})", {{"NO2", "41", "", kNow}}},
      {"epoch milliseconds", R"({"timestamp": 1795594500123, "NO2": 41})", {{"NO2", "41", "", kNow + 123}}},
      {"detailed member with unit and own time",
       R"({"time": 1795594500, "t": {"value": 18.4, "unitCode": "CEL", "observedAt": "2026-11-25T08:16:00Z"}, "h": 3})",
       {{"t", "18.4", "CEL", kNow + 60000}, {"h", "3", "", kNow}}},
      {"nested objects flatten", R"({"pm": {"pm10": 18, "pm25": 9}, "loc": [4.5, 51.2]})",
       {{"pm.pm10", "18", "", {}}, {"pm.pm25", "9", "", {}}, {"loc", "[4.5,51.2]", "", {}}}},
      {"null is skipped", R"({"a": null, "b": 1})", {{"b", "1", "", {}}}},
      {"empty object", "{}", {}},
  });
}

TEST(DecoderJson, BadInput) {
  run_bad_table(Format::kJson, {
      {"not JSON", "{\"a\": ", "json: not JSON"},
      {"not an object", "[1,2]", "json: payload must be a JSON object"},
      {"bad time", R"({"ts": "yesterday", "a": 1})", "'ts' is not a time"},
      {"time before 1970", R"({"ts": -5, "a": 1})", "'ts' is not a time"},
      {"two times", R"({"ts": 1795594500, "time": 1795594500, "a": 1})", "both 'time' and 'ts'"},
      {"empty name", R"({"": 1})", "empty member name"},
      {"bad unit", R"({"t": {"value": 1, "unit": 5}})", "json: 't': 'unit' must be a string"},
      {"too deep", R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}})", "nests deeper"},
      {"truncated", R"({"temperature": 21.)", "json: not JSON"},
  });
}

TEST(DecoderJson, MaxReadings) {
  DecodeOptions o;
  o.max_readings = 2;
  auto r = decode(Format::kJson, R"({"a":1,"b":2,"c":3})", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit of 2"), std::string::npos) << r.status().message();
  EXPECT_TRUE(decode(Format::kJson, R"({"a":1,"b":2})", o).ok());
}

// ---------------------------------------------------------------- SenML JSON (RFC 8428 section 5)

TEST(DecoderSenmlJson, Rfc8428Examples) {
  const std::string bn = "urn:dev:ow:10e2073a01080063";
  const int64_t bt = 1276020076001;
  run_table(Format::kSenmlJson, {
      {"5.1.1 single datapoint", R"([{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}])",
       {{bn, "23.1", "Cel", {}}}},
      {"5.1.2 multiple datapoints",
       R"([{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},{"n":"current","u":"A","v":1.2}])",
       {{bn + ":voltage", "120.1", "V", {}}, {bn + ":current", "1.2", "A", {}}}},
      {"5.1.3 multiple measurements: base time, base unit, relative t",
       R"([{"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,"bu":"A","bver":5,"n":"voltage","u":"V","v":120.1},
           {"n":"current","t":-5,"v":1.2},{"n":"current","t":-4,"v":1.3},{"n":"current","t":-3,"v":1.4},
           {"n":"current","t":-2,"v":1.5},{"n":"current","t":-1,"v":1.6},{"n":"current","v":1.7}])",
       {{"urn:dev:ow:10e2073a0108006:voltage", "120.1", "V", bt},
        {"urn:dev:ow:10e2073a0108006:current", "1.2", "A", bt - 5000},
        {"urn:dev:ow:10e2073a0108006:current", "1.3", "A", bt - 4000},
        {"urn:dev:ow:10e2073a0108006:current", "1.4", "A", bt - 3000},
        {"urn:dev:ow:10e2073a0108006:current", "1.5", "A", bt - 2000},
        {"urn:dev:ow:10e2073a0108006:current", "1.6", "A", bt - 1000},
        {"urn:dev:ow:10e2073a0108006:current", "1.7", "A", bt}}},
      {"5.1.5 multiple data types: base name only, units per record",
       R"([{"bn":"urn:dev:ow:10e2073a01080063:","bt":1.320067464e+09,"bu":"%RH","v":20},
           {"u":"lon","v":24.30621},{"u":"lat","v":60.07965},{"t":60,"v":20.3}])",
       {{bn + ":", "20", "%RH", 1320067464000},
        {bn + ":", "24.30621", "lon", 1320067464000},
        {bn + ":", "60.07965", "lat", 1320067464000},
        {bn + ":", "20.3", "%RH", 1320067524000}}},
      {"5.1.6 collection of resources: vs, vb, vd",
       R"([{"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},{"n":"label","vs":"Machine Room"},
           {"n":"open","vb":false},{"n":"nfc-reader","vd":"aGkgCg"}])",
       {{bn + ":temp", "23.1", "Cel", {}},
        {bn + ":label", "\"Machine Room\"", "", {}},
        {bn + ":open", "false", "", {}},
        {bn + ":nfc-reader", "\"aGkgCg\"", "", {}}}},
  });
}

TEST(DecoderSenmlJson, BaseValuesSumsAndRelativeTimes) {
  run_table(Format::kSenmlJson, {
      {"relative time from now (t below 2^28)", R"([{"n":"a","t":-60,"v":1}])", {{"a", "1", "", kNow - 60000}}},
      {"relative base time", R"([{"bn":"x:","bt":-10,"n":"a","t":5,"v":1}])", {{"x:a", "1", "", kNow - 5000}}},
      {"base value added", R"([{"bn":"m:","bv":100,"n":"a","v":1.5},{"n":"b","v":-1}])",
       {{"m:a", "101.5", "", {}}, {"m:b", "99", "", {}}}},
      {"sum with base sum", R"([{"bs":1000,"n":"energy","u":"Wh","s":250}])",
       {{"energy", "1250", "Wh", {}, true}}},
      {"value and sum together", R"([{"n":"flow","u":"l/s","v":2,"s":300}])",
       {{"flow", "2", "l/s", {}}, {"flow", "300", "l/s", {}, true}}},
      {"base-only record sets bases", R"([{"bn":"d:","bu":"Cel"},{"n":"t","v":20}])", {{"d:t", "20", "Cel", {}}}},
      {"unit overrides base unit", R"([{"bu":"Cel","n":"t","u":"K","v":293}])", {{"t", "293", "K", {}}}},
      {"unknown field ignored", R"([{"n":"a","v":1,"foo":"bar"}])", {{"a", "1", "", {}}}},
      {"empty pack", "[]", {}},
  });
}

TEST(DecoderSenmlJson, BadInput) {
  run_bad_table(Format::kSenmlJson, {
      {"not an array", R"({"n":"a","v":1})", "senml: a pack must be an array"},
      {"record not an object", R"([{"n":"a","v":1}, 5])", "senml[1]: a record must be an object"},
      {"v not a number", R"([{"n":"a","v":1},{"n":"b","v":1},{"n":"c","v":"x"}])", "senml[2]: 'v' must be a number"},
      {"vb not a bool", R"([{"n":"a","vb":1}])", "senml[0]: 'vb' must be a boolean"},
      {"vs not a string", R"([{"n":"a","vs":1}])", "'vs' must be a string"},
      {"two values", R"([{"n":"a","v":1,"vs":"x"}])", "more than one value field"},
      {"no value", R"([{"n":"a","u":"Cel"}])", "senml[0]: no value"},
      {"no name", R"([{"v":1}])", "senml[0]: no name"},
      {"bad name character", R"([{"n":"a b","v":1}])", "character SenML does not allow"},
      {"name starts with dash", R"([{"n":"-a","v":1}])", "character SenML does not allow at position 0"},
      {"must-understand field", R"([{"n":"a","v":1,"crit_":1}])", "must-understand field 'crit_'"},
      {"newer version", R"([{"bver":11,"n":"a","v":1}])", "version 11 is newer"},
      {"bt not a number", R"([{"bt":"now","n":"a","v":1}])", "'bt' must be a number"},
      {"time out of range", R"([{"n":"a","t":1e15,"v":1}])", "time is out of range"},
      {"truncated", R"([{"n":"a","v":1},{"n":"b")", "senml: not JSON"},
  });
}

// ---------------------------------------------------------------- SenML CBOR (RFC 8428 section 6)

TEST(DecoderSenmlCbor, Rfc8428Examples) {
  const std::string bn = "urn:dev:ow:10e2073a01080063";
  run_table(Format::kSenmlCbor, {
      // The section 5.1.2 pack as section 6 encodes it: integer labels, float64 values.
      {"5.1.2 in CBOR",
       "82a421781c75726e3a6465763a6f773a313065323037336130313038303036333a0067766f6c7461676501615602fb405e06666666"
       "6666a3006763757272656e7401614102fb3ff3333333333333",
       {{bn + ":voltage", "120.1", "V", {}}, {bn + ":current", "1.2", "A", {}}}},
      {"base time, base unit, bver, relative t",
       "83a721646465763a22fb41d303a15b00106223614120050067766f6c7461676501615602fb405e066666666666a300676375727265"
       "6e74062402fb3ff3333333333333a2006763757272656e7402fb3ffb333333333333",
       {{"dev:voltage", "120.1", "V", 1276020076001},
        {"dev:current", "1.2", "A", 1276020071001},
        {"dev:current", "1.7", "A", 1276020076001}}},
      {"5.1.6 in CBOR: vs, vb, vd as a byte string",
       "84a421781c75726e3a6465763a6f773a313065323037336130313038303036333a006474656d70016343656c02fb40371999999999"
       "9aa200656c6162656c036c4d616368696e6520526f6f6da200646f70656e04f4a2006a6e66632d72656164657208446869200a",
       {{bn + ":temp", "23.1", "Cel", {}},
        {bn + ":label", "\"Machine Room\"", "", {}},
        {bn + ":open", "false", "", {}},
        {bn + ":nfc-reader", "\"aGkgCg\"", "", {}}}},
      {"sum, base sum, base value, half floats", "81a60066656e6572677901636b576825f9564005f94100240a0201",
       {{"energy", "11", "kWh", {}}, {"energy", "102.5", "kWh", {}, true}}},
      {"half float", "81a200616102f93e00", {{"a", "1.5", "", {}}}},
      {"single float", "81a200616102fa47c35000", {{"a", "1e+05", "", {}}}},
      {"text labels and indefinite lengths", "9fbf616e6161617601ffff", {{"a", "1", "", {}}}},
      {"tagged time (tag 1, epoch)", "81a3006161" "06c11a5f5e1000" "0201", {{"a", "1", "", 1600000000000}}},
  });
}

TEST(DecoderSenmlCbor, BadInput) {
  run_bad_table(Format::kSenmlCbor, {
      {"empty", "", "senml: cbor: truncated"},
      {"truncated text", "81a2006561", "truncated at byte 5 (text string of 5 bytes"},
      {"truncated float64", "81a200616102fb405e0666", "truncated"},
      {"truncated array", "82a200616102f93e00", "truncated"},
      {"not an array", "a200616102f93e00", "senml: a pack must be an array"},
      {"v not a number", "81a20061610263616263", "senml[0]: 'v' must be a number"},
      {"NaN value", "81a200616102f97e00", "'v' must be a finite number"},
      {"map key is an array", "81a180016161", "map key that is neither an integer nor text"},
      {"repeated key", "81a300616102010202", "repeated map key 'v'"},
      {"trailing bytes", "80ff", "trailing bytes"},
      {"reserved info", "1c", "reserved additional information"},
      {"lone break", "ff", "unexpected break"},
      {"deep nesting", [] { std::string h; for (int i = 0; i < 20; ++i) h += "81"; return h + "00"; }(), "nesting deeper"},
      {"huge declared length", "9b00ffffffffffffff", "truncated"},
      {"indefinite integer", "1f", "indefinite length on an integer"},
  });
}

// ---------------------------------------------------------------- Cayenne LPP

TEST(DecoderLpp, StandardTable) {
  run_table(Format::kCayenneLpp, {
      {"two temperature sensors (Cayenne docs)", "03 67 01 10 05 67 00 FF",
       {{"temperature_3", "27.2", "Cel", {}}, {"temperature_5", "25.5", "Cel", {}}}},
      {"temperature and accelerometer (Cayenne docs)", "01 67 FF D7 06 71 04 D2 FB 2E 00 00",
       {{"temperature_1", "-4.1", "Cel", {}}, {"accelerometer_6", R"({"x":1.234,"y":-1.234,"z":0})", "G", {}}}},
      {"GPS (Cayenne docs)", "01 88 06 76 5F F2 96 0A 00 03 E8",
       {{"gps_1", R"({"latitude":42.3519,"longitude":-87.9094,"altitude":10})", "", {}}}},
      {"digital input 0x00", "01 00 01", {{"digital_in_1", "1", "", {}}}},
      {"digital output 0x01", "02 01 00", {{"digital_out_2", "0", "", {}}}},
      {"analog input 0x02 signed", "03 02 FF 9C", {{"analog_in_3", "-1", "", {}}}},
      {"analog output 0x03", "04 03 01 4A", {{"analog_out_4", "3.3", "", {}}}},
      {"illuminance 0x65", "05 65 01 2C", {{"luminosity_5", "300", "lx", {}}}},
      {"presence 0x66", "06 66 01", {{"presence_6", "1", "", {}}}},
      {"humidity 0x68, 0.5 %", "07 68 61", {{"relative_humidity_7", "48.5", "%RH", {}}}},
      {"barometer 0x73, 0.1 hPa unsigned", "08 73 27 77", {{"barometric_pressure_8", "1010.3", "hPa", {}}}},
      {"gyrometer 0x86, 0.01 deg/s", "09 86 00 64 FF 9C 01 F4",
       {{"gyrometer_9", R"({"x":1,"y":-1,"z":5})", "deg/s", {}}}},
      {"illuminance is unsigned", "01 65 FF FF", {{"luminosity_1", "65535", "lx", {}}}},
      {"same type, many channels", "00 67 00 0A FF 67 00 14",
       {{"temperature_0", "1", "Cel", {}}, {"temperature_255", "2", "Cel", {}}}},
  });
}

TEST(DecoderLpp, BadInput) {
  run_bad_table(Format::kCayenneLpp, {
      {"empty", "", "lpp: empty payload"},
      {"truncated value", "03 67 01 10 05 67 00", "lpp: truncated at byte 7 (type 0x67 needs 2 bytes)"},
      {"channel without type", "03 67 01 10 05", "lpp: truncated at byte 5 (channel 5 has no type)"},
      {"truncated GPS", "01 88 06 76 5F F2 96 0A 00 03", "type 0x88 needs 9 bytes"},
      {"unknown type", "01 67 00 10 02 99 00", "lpp: unknown type 0x99 at byte 5 (channel 2)"},
  });
}

// ---------------------------------------------------------------- ChirpStack v4

// The uplink event of the ChirpStack v4 documentation (integration JSON), with
// `data` as given; `extra` members are appended.
std::string chirpstack_event(const std::string& data, const std::string& extra = "") {
  return R"({
  "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
  "time": "2022-07-18T09:34:15.775023242+00:00",
  "deviceInfo": {
    "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
    "tenantName": "ChirpStack",
    "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
    "applicationName": "Test application",
    "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
    "deviceProfileName": "Test device-profile",
    "deviceName": "Test device",
    "devEui": "0101010101010101",
    "tags": {"key": "value"}
  },
  "devAddr": "00189440",
  "dr": 1,
  "fCnt": 10,
  "fPort": 1,
  "data": ")" + data + R"(",
  "rxInfo": [
    {"gatewayId": "0016c001f153a14c", "uplinkId": 4217106255, "rssi": -36, "snr": 10.5, "channel": 2,
     "rfChain": 1, "location": {}, "context": "E3OWOQ==",
     "metadata": {"region_name": "eu868", "region_common_name": "EU868"}},
    {"gatewayId": "0016c001f153a14d", "uplinkId": 4217106256, "rssi": -80, "snr": -2.5}
  ],
  "txInfo": {"frequency": 867500000,
             "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}}})" +
         extra + "}";
}

TEST(DecoderChirpstack, DataDecodedWithTheProfileFormat) {
  auto r = run(Format::kChirpstackV4, chirpstack_event("A2cBEAVnAP8="), Format::kCayenneLpp);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const int64_t t = 1658136855775;
  expect_readings(*r, {{"temperature_3", "27.2", "Cel", t}, {"temperature_5", "25.5", "Cel", t}}, "lpp in data");
  ASSERT_TRUE(r->lorawan.has_value());
  const LorawanMeta& m = *r->lorawan;
  EXPECT_EQ(m.dev_eui, "0101010101010101");
  EXPECT_EQ(m.f_cnt, 10u);
  EXPECT_EQ(m.f_port, 1);
  EXPECT_EQ(m.application_id, "17c82e96-be03-4f38-aef3-f83d48582d97");
  EXPECT_EQ(m.device_id, "Test device");
  EXPECT_EQ(m.received_ms, t);
  EXPECT_EQ(m.rssi, -36);  // the better of the two gateways
  EXPECT_EQ(m.snr, 10.5);
  EXPECT_EQ(m.gateway_id, "0016c001f153a14c");
  EXPECT_EQ(m.frequency_hz, 867500000u);
  EXPECT_EQ(m.spreading_factor, 7);
  EXPECT_EQ(r->device_hint, "0101010101010101");
  EXPECT_EQ(r->idempotency_key, "lorawan:0101010101010101:10");
}

TEST(DecoderChirpstack, ObjectFromTheDeviceProfileCodec) {
  auto r = run(Format::kChirpstackV4,
               chirpstack_event("qg==", R"(, "object": {"temperature": 22.5, "battery": {"value": 3.6, "unit": "V"}})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const int64_t t = 1658136855775;
  expect_readings(*r, {{"temperature", "22.5", "", t}, {"battery", "3.6", "V", t}}, "object");
  EXPECT_EQ(r->idempotency_key, "lorawan:0101010101010101:10");
}

TEST(DecoderChirpstack, OmittedDefaultsReadAsZero) {
  // pbjson leaves out zero values: the first uplink after a join has no fCnt.
  auto r = run(Format::kChirpstackV4,
               R"({"deviceInfo": {"devEui": "0101010101010101"}, "fPort": 2, "data": "A2cBEA=="})",
               Format::kCayenneLpp);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->lorawan->f_cnt, 0u);
  EXPECT_EQ(r->idempotency_key, "lorawan:0101010101010101:0");
  expect_readings(*r, {{"temperature_3", "27.2", "Cel", {}}}, "no time");
  // No payload at all: a valid uplink without readings.
  auto empty = run(Format::kChirpstackV4, R"({"deviceInfo": {"devEui": "0101010101010101"}, "fCnt": 3})");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->readings.empty());
  EXPECT_EQ(empty->idempotency_key, "lorawan:0101010101010101:3");
}

TEST(DecoderChirpstack, BadInput) {
  run_bad_table(Format::kChirpstackV4, {
      {"data without object or inner format", chirpstack_event("qg=="), "no 'object'"},
      {"not JSON", "{", "chirpstack: not JSON"},
      {"no deviceInfo", R"({"fCnt": 1})", "chirpstack: 'deviceInfo' missing"},
      {"no devEui", R"({"deviceInfo": {"deviceName": "x"}})", "chirpstack: 'deviceInfo.devEui' missing"},
      {"short devEui", R"({"deviceInfo": {"devEui": "0101"}})", "'deviceInfo.devEui' must be 16 hex digits"},
      {"negative fCnt", R"({"deviceInfo": {"devEui": "0101010101010101"}, "fCnt": -1})", "'fCnt' must be an integer"},
      {"fCnt above 32 bits", R"({"deviceInfo": {"devEui": "0101010101010101"}, "fCnt": 4294967296})", "'fCnt'"},
      {"fPort above 255", R"({"deviceInfo": {"devEui": "0101010101010101"}, "fPort": 256})", "'fPort'"},
      {"bad time", R"({"deviceInfo": {"devEui": "0101010101010101"}, "time": "soon"})", "'time' is not"},
      {"object not an object", R"({"deviceInfo": {"devEui": "0101010101010101"}, "object": 5})",
       "'object' must be an object"},
      {"bad rxInfo", R"({"deviceInfo": {"devEui": "0101010101010101"}, "rxInfo": [{"rssi": "loud"}]})",
       "'rxInfo[0].rssi' must be a number"},
  });
  run_bad_table(Format::kChirpstackV4, {
      {"truncated LPP in data", chirpstack_event("A2cBEAU="), "chirpstack: data: lpp: truncated at byte 5"},
      {"data not base64", chirpstack_event("A2c*"), "chirpstack: 'data' is not base64"},
  }, Format::kCayenneLpp);
  run_bad_table(Format::kChirpstackV4, {
      {"envelope inside an envelope", chirpstack_event("qg=="), "cannot be another network-server envelope"},
  }, Format::kTtsV3);
}

// ---------------------------------------------------------------- The Things Stack v3

// The uplink message of The Things Stack data-formats documentation; the frame
// counter and decoded payload vary.
std::string tts_uplink(const std::string& uplink_extra) {
  return R"({
  "end_device_ids": {
    "device_id": "dev1",
    "application_ids": {"application_id": "app1"},
    "dev_eui": "0004A30B001C0530",
    "join_eui": "800000000000000C",
    "dev_addr": "00BCB929"
  },
  "correlation_ids": ["as:up:01E0ZC6YXJ8D6Q5DQ2X5FQ3ZHN"],
  "received_at": "2020-02-12T15:15:59.398871383Z",
  "uplink_message": {
    "session_key_id": "AXA50...",
    "f_port": 1,
    "frm_payload": "A2cBEAVnAP8=",
    "rx_metadata": [{
      "gateway_ids": {"gateway_id": "gtw1", "eui": "9C5C8E00001A05C4"},
      "time": "2020-02-12T15:15:45.787Z",
      "timestamp": 2463457000,
      "rssi": -35,
      "channel_rssi": -35,
      "snr": 5.2,
      "location": {"latitude": 52.11, "longitude": 4.71, "altitude": 21, "source": "SOURCE_REGISTRY"},
      "uplink_token": "ChIKEAoOZ3R3MQ==",
      "channel_index": 2
    }],
    "settings": {
      "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
      "coding_rate": "4/6",
      "frequency": "868300000",
      "timestamp": 2463457000,
      "time": "2020-02-12T15:15:45.787Z"
    },
    "received_at": "2020-02-12T15:15:59.398871383Z",
    "consumed_airtime": "0.056576s")" +
         uplink_extra + "}}";
}

TEST(DecoderTts, DecodedPayload) {
  auto r = run(Format::kTtsV3, tts_uplink(R"(, "f_cnt": 2, "decoded_payload": {"temperature_3": 27.2, "temperature_5": 25.5})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const int64_t t = 1581520559398;
  expect_readings(*r, {{"temperature_3", "27.2", "", t}, {"temperature_5", "25.5", "", t}}, "decoded_payload");
  const LorawanMeta& m = *r->lorawan;
  EXPECT_EQ(m.dev_eui, "0004a30b001c0530");  // normalised to lowercase
  EXPECT_EQ(m.device_id, "dev1");
  EXPECT_EQ(m.application_id, "app1");
  EXPECT_EQ(m.f_cnt, 2u);
  EXPECT_EQ(m.f_port, 1);
  EXPECT_EQ(m.frequency_hz, 868300000u);  // sent as a string
  EXPECT_EQ(m.spreading_factor, 7);
  EXPECT_EQ(m.rssi, -35);
  EXPECT_EQ(m.snr, 5.2);
  EXPECT_EQ(m.gateway_id, "gtw1");
  EXPECT_EQ(m.received_ms, t);
  EXPECT_EQ(r->device_hint, "0004a30b001c0530");
  EXPECT_EQ(r->idempotency_key, "lorawan:0004a30b001c0530:2");
}

TEST(DecoderTts, FrmPayloadWithTheProfileFormatAndZeroFieldsOmitted) {
  // No f_cnt member: TTS omits zero values, so this is frame 0.
  auto r = run(Format::kTtsV3, tts_uplink(""), Format::kCayenneLpp);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const int64_t t = 1581520559398;
  expect_readings(*r, {{"temperature_3", "27.2", "Cel", t}, {"temperature_5", "25.5", "Cel", t}}, "frm_payload");
  EXPECT_EQ(r->lorawan->f_cnt, 0u);
  EXPECT_EQ(r->idempotency_key, "lorawan:0004a30b001c0530:0");
}

TEST(DecoderTts, WithoutDevEuiTheDeviceIdIsTheHint) {
  auto r = run(Format::kTtsV3,
               R"({"end_device_ids": {"device_id": "abp-1", "application_ids": {"application_id": "app1"}},
                   "uplink_message": {"f_cnt": 7, "decoded_payload": {"level": 3}}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->device_hint, "abp-1");
  EXPECT_EQ(r->idempotency_key, "");
  expect_readings(*r, {{"level", "3", "", {}}}, "abp");
}

TEST(DecoderTts, BadInput) {
  run_bad_table(Format::kTtsV3, {
      {"join accept is not an uplink",
       R"({"end_device_ids": {"device_id": "dev1"}, "join_accept": {"session_key_id": "x"}})",
       "tts: 'uplink_message' missing (not an uplink message)"},
      {"no ids", R"({"uplink_message": {}})", "tts: 'end_device_ids' missing"},
      {"no device id", R"({"end_device_ids": {}, "uplink_message": {}})", "'end_device_ids.device_id' missing"},
      {"frequency not a number", tts_uplink("").replace(tts_uplink("").find("\"868300000\""), 11, "\"868.3MHz\""),
       "'uplink_message.settings.frequency' must be an integer"},
      {"frm_payload without decoder", tts_uplink(""), "no 'decoded_payload'"},
      {"decoded_payload bad time", tts_uplink(R"(, "decoded_payload": {"time": "later", "a": 1})"),
       "tts: uplink_message: decoded_payload: 'time' is not a time"},
  });
  run_bad_table(Format::kTtsV3, {
      {"frm_payload is not LPP", tts_uplink("").replace(tts_uplink("").find("A2cBEAVnAP8="), 12, "A2cBEAVnAA=="),
       "tts: uplink_message: frm_payload: lpp: truncated at byte 7 (type 0x67 needs 2 bytes)"},
  }, Format::kCayenneLpp);
}

// ---------------------------------------------------------------- topics, encodings, CBOR

TEST(ChirpstackTopic, Parses) {
  auto t = parse_chirpstack_topic("application/17c82e96-be03/device/0101010101ABCDEF/event/up");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->application_id, "17c82e96-be03");
  EXPECT_EQ(t->dev_eui, "0101010101abcdef");
  EXPECT_EQ(t->event, "up");
  for (const char* bad : {"application/a/device/0101010101010101/event", "application/a/device/0101/event/up",
                          "application/a/device/010101010101010g/event/up", "app/a/device/0101010101010101/event/up",
                          "application/a/device/0101010101010101/event/up/x", "application//device/0101010101010101/event/up"})
    EXPECT_FALSE(parse_chirpstack_topic(bad).has_value()) << bad;
}

TEST(Encoding, Base64AndHex) {
  EXPECT_EQ(base64_decode("A2cBEAVnAP8="), hex_decode("03670110056700ff"));
  EXPECT_EQ(base64_decode("qg=="), std::string("\xaa"));
  EXPECT_EQ(base64_decode("qg"), std::string("\xaa"));      // unpadded
  EXPECT_EQ(base64_decode("-_8"), std::string("\xfb\xff"));  // URL-safe alphabet
  EXPECT_EQ(base64_decode(""), std::string());
  EXPECT_FALSE(base64_decode("q").has_value());
  EXPECT_FALSE(base64_decode("qg=").has_value());
  EXPECT_FALSE(base64_decode("q g=").has_value());
  EXPECT_EQ(base64url_encode("hi \n"), "aGkgCg");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64_decode(base64url_encode(s)), s);
  EXPECT_EQ(hex_encode(*hex_decode("03 67 01 10")), "03670110");
  EXPECT_FALSE(hex_decode("0").has_value());
  EXPECT_FALSE(hex_decode("0 3").has_value());
  EXPECT_FALSE(hex_decode("zz").has_value());
}

TEST(Cbor, GeneralItems) {
  struct C {
    const char* hex;
    const char* json;
  };
  // RFC 8949 appendix A examples.
  for (const C& c : std::vector<C>{
           {"00", "0"}, {"17", "23"}, {"1818", "24"}, {"190100", "256"}, {"1bffffffffffffffff", "18446744073709551615"},
           {"20", "-1"}, {"3863", "-100"}, {"f90000", "0"}, {"f93c00", "1"}, {"f97bff", "65504"},
           {"fa47c35000", "1e+05"}, {"fb3ff199999999999a", "1.1"}, {"f4", "false"}, {"f5", "true"}, {"f6", "null"},
           {"f7", "null"}, {"6449455446", "\"IETF\""}, {"4401020304", "\"AQIDBA\""}, {"83010203", "[1,2,3]"},
           {"a201020304", "{\"1\":2,\"3\":4}"}, {"a26161016162820203", "{\"a\":1,\"b\":[2,3]}"},
           {"7f657374726561646d696e67ff", "\"streaming\""}, {"9f018202039f0405ffff", "[1,[2,3],[4,5]]"},
           {"c074323031332d30332d32315432303a30343a30305a", "\"2013-03-21T20:04:00Z\""},
           {"3bffffffffffffffff", "-18446744073709551616"}}) {
    auto r = cbor_to_json(*hex_decode(c.hex));
    ASSERT_TRUE(r.ok()) << c.hex << ": " << r.status().message();
    EXPECT_EQ(model::to_json(*r), c.json) << c.hex;
  }
}

// ---------------------------------------------------------------- frame counters

TEST(FrameCounterTracker, Verdicts) {
  using V = FrameCounterTracker::Verdict;
  FrameCounterTracker t;
  EXPECT_EQ(t.check("0101010101010101", 100), V::kNew);
  EXPECT_EQ(t.check("0101010101010101", 101), V::kNew);
  EXPECT_EQ(t.check("0101010101010101", 101), V::kDuplicate);
  EXPECT_EQ(t.check("0101010101010101", 50), V::kReplay);
  EXPECT_EQ(t.check("0101010101010101", 102), V::kNew);  // the replay did not move the counter back
  EXPECT_EQ(t.check("0101010101010101", 0), V::kReset);   // rejoined
  EXPECT_EQ(t.check("0101010101010101", 1), V::kNew);
  EXPECT_EQ(t.check("0101010101010101", 0), V::kReplay);  // small, but the counter was not high
  EXPECT_EQ(t.check("0202020202020202", 5), V::kNew);     // devices are independent
  EXPECT_EQ(verdict_name(V::kReset), "reset");
}

TEST(FrameCounterTracker, BoundedForgetsLeastRecentlySeen) {
  using V = FrameCounterTracker::Verdict;
  FrameCounterTracker t({.capacity = 2, .reset_below = 16});
  EXPECT_EQ(t.check("a", 10), V::kNew);
  EXPECT_EQ(t.check("b", 10), V::kNew);
  EXPECT_EQ(t.check("a", 11), V::kNew);  // a is now the most recent
  EXPECT_EQ(t.check("c", 10), V::kNew);  // evicts b
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.check("a", 11), V::kDuplicate);
  EXPECT_EQ(t.check("b", 10), V::kNew);  // forgotten
  t.forget("b");
  EXPECT_EQ(t.check("b", 10), V::kNew);
}

TEST(FrameCounterTracker, ConcurrentChecksCountEachFrameOnce) {
  using V = FrameCounterTracker::Verdict;
  FrameCounterTracker t;
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      const std::string own = "000000000000000" + std::to_string(k);
      for (uint32_t i = 1000; i < 2000; ++i) {
        // The shared device: a counter value can be new to one thread only.
        if (t.check("0101010101010101", i) == V::kNew) ++fresh;
        // A device of its own: every step forward is new.
        EXPECT_EQ(t.check(own, i), V::kNew);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(fresh.load(), 1000);
  EXPECT_GE(fresh.load(), 1);
  EXPECT_EQ(t.check("0101010101010101", 1999), V::kDuplicate);
  EXPECT_EQ(t.size(), 5u);
}

}  // namespace
}  // namespace urbis::devices
