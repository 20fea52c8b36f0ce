// Measurement payloads for `urbis bench mqtt --payload-format F`: one reading
// per message, in each format a device may send, so the ingest benchmark can
// compare decode + map + commit per format against the raw ingest path with
// the same number of readings per message.
//
// Every payload carries a distinct time (base_ms + n) where the format has
// one, so the ingest path stores every message instead of treating it as a
// replay of the same series and instant. Cayenne LPP has no time: its points
// take the arrival time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace urbis::app {

enum class BenchPayload {
  kIngest,      // {"observedAt":ms,"v":n}                  (urbis/ingest/... topics)
  kJson,        // {"observedAt":ms,"no2":x}                (flat JSON decoder)
  kSenmlJson,   // [{"n":"no2","u":"ug/m3","v":x,"t":s}]
  kSenmlCbor,   // the same in CBOR (RFC 8428 integer labels)
  kLpp,         // Cayenne LPP: channel 1 temperature (0x67), 0.1 °C
  kChirpstack,  // ChirpStack v4 uplink event with "object":{"no2":x} and fCnt n
};

// "ingest", "json", "senml+json", "senml+cbor", "lpp", "chirpstack"; nullopt otherwise.
std::optional<BenchPayload> bench_payload_from_name(std::string_view name);

// Payload number `n` of publisher `publisher`. `dev_eui` is used by kChirpstack.
std::string bench_payload(BenchPayload f, uint64_t n, int64_t base_ms, std::string_view dev_eui);

// The 16-hex-digit DevEUI the benchmark uses for publisher `i` ("0000bbbb0000000<i>").
std::string bench_dev_eui(int i);

}  // namespace urbis::app
