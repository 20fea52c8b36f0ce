// Device decoder throughput: payloads per second (items) and payload bytes per
// second, per format, on typical uplinks: an air-quality station's reading of
// four values (flat JSON, SenML JSON and CBOR, Cayenne LPP) and the same LPP
// frame inside a ChirpStack v4 event and a The Things Stack v3 uplink, decoded
// from `data`/`frm_payload` and from the network server's decoded object.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "devices/decoders/decoder.hpp"
#include "devices/decoders/encoding.hpp"

namespace {

using urbis::devices::decode;
using urbis::devices::DecodeOptions;
using urbis::devices::Format;

const std::string kLppHex = "01 67 00 E1 02 68 61 03 02 0F A0 04 73 27 77";  // 22.5 Cel, 48.5 %RH, 40.0, 1010.3 hPa

std::string lpp() { return *urbis::devices::hex_decode(kLppHex); }

std::string chirpstack(bool with_object) {
  return std::string(R"({"deduplicationId":"3ac7e3c4-4401-4b8d-9386-a5c902f9202d","time":"2022-07-18T09:34:15.775023242+00:00",)"
                     R"("deviceInfo":{"tenantId":"52f14cd4-c6f1-4fbd-8f87-4025e1d49242","applicationId":"17c82e96-be03-4f38-aef3-f83d48582d97",)"
                     R"("deviceName":"aq-station-7","devEui":"0101010101010101"},"devAddr":"00189440","dr":5,"fCnt":1234,"fPort":1,)"
                     R"("data":"AWcA4QJoYQMCD6AEcyd3","rxInfo":[{"gatewayId":"0016c001f153a14c","rssi":-36,"snr":10.5},)"
                     R"({"gatewayId":"0016c001f153a14d","rssi":-80,"snr":-2.5}],)"
                     R"("txInfo":{"frequency":867500000,"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":7,"codeRate":"CR_4_5"}}})") +
         (with_object ? R"(,"object":{"temperature":22.5,"humidity":48.5,"NO2":40.0,"pressure":1010.3}})" : "}");
}

std::string tts(bool with_object) {
  return std::string(R"({"end_device_ids":{"device_id":"aq-station-7","application_ids":{"application_id":"city-air"},)"
                     R"("dev_eui":"0004A30B001C0530","join_eui":"800000000000000C","dev_addr":"00BCB929"},)"
                     R"("correlation_ids":["as:up:01E0ZC6YXJ8D6Q5DQ2X5FQ3ZHN"],"received_at":"2020-02-12T15:15:59.398871383Z",)"
                     R"("uplink_message":{"session_key_id":"AXA50...","f_port":1,"f_cnt":1234,"frm_payload":"AWcA4QJoYQMCD6AEcyd3",)") +
         (with_object ? R"("decoded_payload":{"temperature":22.5,"humidity":48.5,"NO2":40.0,"pressure":1010.3},)" : "") +
         R"("rx_metadata":[{"gateway_ids":{"gateway_id":"gtw1","eui":"9C5C8E00001A05C4"},"time":"2020-02-12T15:15:45.787Z",)"
         R"("timestamp":2463457000,"rssi":-35,"channel_rssi":-35,"snr":5.2,"channel_index":2}],)"
         R"("settings":{"data_rate":{"lora":{"bandwidth":125000,"spreading_factor":7}},"coding_rate":"4/6","frequency":"868300000"},)"
         R"("received_at":"2020-02-12T15:15:59.398871383Z","consumed_airtime":"0.056576s"}})";
}

void BM_Decode(benchmark::State& state, Format f, std::string payload, std::optional<Format> inner) {
  DecodeOptions o;
  o.now_ms = 1795594500000;
  o.inner = inner;
  if (!decode(f, payload, o).ok()) {
    state.SkipWithError("benchmark payload does not decode");
    return;
  }
  for (auto _ : state) {
    auto r = decode(f, payload, o);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}

const std::string kJson = R"({"ts":1795594500,"temperature":22.5,"humidity":48.5,"NO2":40.0,"pressure":1010.3})";
const std::string kSenml =
    R"([{"bn":"urn:dev:ow:10e2073a01080063:","bt":1795594500,"n":"temperature","u":"Cel","v":22.5},)"
    R"({"n":"humidity","u":"%RH","v":48.5},{"n":"NO2","u":"ug/m3","v":40.0},{"n":"pressure","u":"hPa","v":1010.3}])";
// The same pack in CBOR with integer labels (RFC 8428 section 6).
const std::string kSenmlCborHex =
    "84a521781c75726e3a6465763a6f773a313065323037336130313038303036333a221a6b069904006b74656d706572617475726501"
    "6343656c02f94da0a3006868756d6964697479016325524802f95210a300634e4f32016575672f6d3302f95100a300687072657373"
    "757265016368506102fb408f926666666666";

}  // namespace

BENCHMARK_CAPTURE(BM_Decode, json, Format::kJson, kJson, std::nullopt);
BENCHMARK_CAPTURE(BM_Decode, senml_json, Format::kSenmlJson, kSenml, std::nullopt);
BENCHMARK_CAPTURE(BM_Decode, senml_cbor, Format::kSenmlCbor, *urbis::devices::hex_decode(kSenmlCborHex),
                  std::nullopt);
BENCHMARK_CAPTURE(BM_Decode, lpp, Format::kCayenneLpp, lpp(), std::nullopt);
BENCHMARK_CAPTURE(BM_Decode, chirpstack_data_lpp, Format::kChirpstackV4, chirpstack(false), Format::kCayenneLpp);
BENCHMARK_CAPTURE(BM_Decode, chirpstack_object, Format::kChirpstackV4, chirpstack(true), std::nullopt);
BENCHMARK_CAPTURE(BM_Decode, tts_frm_payload_lpp, Format::kTtsV3, tts(false), Format::kCayenneLpp);
BENCHMARK_CAPTURE(BM_Decode, tts_decoded_payload, Format::kTtsV3, tts(true), std::nullopt);
