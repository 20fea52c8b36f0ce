// Device payload decoders: bytes a device (or its LoRaWAN network server) sent,
// turned into named readings. Pure functions, no I/O, no state: the ingest path
// calls them on whatever arrives, and the fuzz targets call them on anything.
//
// Formats (format_from_name() takes the name in parentheses):
//   kJson        (json)        flat JSON object, one member per reading:
//                                {"temperature": 21.5, "door": true, "ts": 1764000000}
//                              Optional time member "observedAt", "timestamp", "time" or "ts":
//                              ISO 8601 text or epoch number (seconds when < 1e11, else ms).
//                              A member {"value": v, "unit"|"unitCode": u, "observedAt"|"time": t}
//                              is one reading with its unit and time; other nested objects are
//                              flattened with '.' ("pm.pm10"); arrays stay JSON; null is skipped.
//   kSenmlJson   (senml+json)  RFC 8428 JSON: base fields, relative times, v/vs/vb/vd, sum.
//   kSenmlCbor   (senml+cbor)  RFC 8428 CBOR (integer labels), same semantics.
//   kCayenneLpp  (lpp)         Cayenne LPP v1 binary: channel, type, value; standard type table.
//   kChirpstackV4 (chirpstack) ChirpStack v4 uplink event JSON (application/<app>/device/<devEUI>/event/up).
//   kTtsV3       (tts)         The Things Stack v3 uplink message JSON (v3/<app>@<tenant>/devices/<dev>/up).
//
// Every failure is InvalidArgument with a reason that names where decoding
// stopped, prefixed by the format: "senml[2]: 'v' must be a number",
// "lpp: truncated at byte 7 (type 0x67 needs 2 bytes)", "chirpstack: 'devEui' missing".
// Decoding never throws, never crashes on any input, and runs in time linear in
// the payload size (fuzzed: tests/fuzz/devices_*_fuzz.cpp).
//
// Thread-safety: all functions are pure and may be called concurrently.
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace urbis::devices {

// One decoded value.
struct Reading {
  // "temperature"; SenML: the resolved name (bn + n); Cayenne LPP: "<type>_<channel>",
  // e.g. "temperature_3"; nested flat JSON: "pm.pm10". Never empty.
  std::string name;
  // A number (int64, uint64 or double), bool or string; JSON for structured values
  // (LPP accelerometer {"x","y","z"}, GPS {"latitude","longitude","altitude"}, JSON arrays).
  // SenML vd (data) is the base64url text, in JSON and CBOR alike.
  boost::json::value value;
  // As given by the format: the SenML unit, the unit LPP implies ("Cel"), the
  // flat JSON "unit"/"unitCode". May be empty.
  std::string unit;
  // Absolute epoch milliseconds when the payload (or its LoRaWAN envelope) gives a time.
  std::optional<int64_t> time_ms;
  // SenML sum (s): the value is an integrated total, not an instantaneous value.
  bool sum = false;
};

// What a LoRaWAN network server says about the uplink frame.
struct LorawanMeta {
  std::string dev_eui;          // 16 lowercase hex digits
  uint32_t f_cnt = 0;           // uplink frame counter (0 when the server omitted it)
  uint8_t f_port = 0;
  std::string application_id;   // ChirpStack applicationId, TTS application_id
  std::string device_id;        // ChirpStack deviceName, TTS device_id
  std::optional<int64_t> received_ms;  // network server time of reception
  std::optional<double> rssi;          // best gateway (highest RSSI)
  std::optional<double> snr;           // of the same gateway
  std::string gateway_id;              // of the same gateway
  std::optional<uint64_t> frequency_hz;
  std::optional<int> spreading_factor;
  bool confirmed = false;
};

struct Decoded {
  std::vector<Reading> readings;
  std::optional<LorawanMeta> lorawan;      // ChirpStack / TTS envelopes
  std::optional<std::string> device_hint;  // devEUI (lowercase) or, without one, TTS device_id
  std::string idempotency_key;             // "lorawan:<devEUI>:<fCnt>" when known, else ""
};

enum class Format { kJson, kSenmlJson, kSenmlCbor, kCayenneLpp, kChirpstackV4, kTtsV3 };

// "json", "senml+json" (also "senml", "senml-json"), "senml+cbor" (also
// "senml-cbor"), "lpp" (also "cayenne"), "chirpstack", "tts" (also "ttn");
// case-sensitive. nullopt for anything else.
std::optional<Format> format_from_name(std::string_view name);
// The canonical name, as format_from_name() takes it.
std::string_view format_name(Format f);
// True for kChirpstackV4 and kTtsV3 (formats that carry another format inside).
bool is_envelope(Format f);

struct DecodeOptions {
  // Wall-clock epoch ms of arrival: the base of SenML relative times.
  int64_t now_ms = 0;
  // LoRaWAN envelopes: how to decode the binary frame payload (`data`,
  // `frm_payload`), e.g. kCayenneLpp from the device's profile. nullopt = take the
  // network server's decoded `object` / `decoded_payload` (as flat JSON).
  // Must not itself be an envelope format.
  std::optional<Format> inner;
  // A payload with more readings than this is refused (whole, not truncated).
  size_t max_readings = 1000;
};

// Decodes `payload` as format `f`. InvalidArgument naming the failure.
// An envelope whose frame has no payload (a heartbeat) decodes to no readings.
Result<Decoded> decode(Format f, std::string_view payload, const DecodeOptions& o);

// The parts of a ChirpStack v4 event topic "application/<app>/device/<devEUI>/event/<event>".
struct ChirpstackTopic {
  std::string application_id;
  std::string dev_eui;  // lowercase
  std::string event;    // "up", "join", "status", ...
};
// nullopt when `topic` does not have that shape (devEUI must be 16 hex digits).
std::optional<ChirpstackTopic> parse_chirpstack_topic(std::string_view topic);

}  // namespace urbis::devices
