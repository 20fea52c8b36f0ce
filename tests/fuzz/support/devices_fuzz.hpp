// Shared body of the device decoder fuzz targets (tests/fuzz/devices_*_fuzz.cpp).
// Decoding must never crash, and what decodes must keep the decoder's promises:
// no more readings than the limit, every reading named, envelopes with their
// LoRaWAN metadata and a key that names the devEUI and frame counter.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "devices/decoders/decoder.hpp"

namespace urbis::devices::fuzz {

inline int decode_one(Format f, const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  DecodeOptions o;
  o.now_ms = 1795594500000;
  o.max_readings = 64;
  if (is_envelope(f)) {
    // First byte: how the frame payload is decoded (the device profile's choice).
    if (in.empty()) return 0;
    static constexpr std::optional<Format> kInner[] = {std::nullopt, Format::kCayenneLpp, Format::kSenmlCbor,
                                                       Format::kJson, Format::kSenmlJson};
    o.inner = kInner[static_cast<uint8_t>(in[0]) % 5];
    in.remove_prefix(1);
  }
  Result<Decoded> r = decode(f, in, o);
  if (!r.ok()) {
    if (r.status().code() != Code::kInvalidArgument || r.status().message().empty()) std::abort();
    return 0;
  }
  if (r->readings.size() > o.max_readings) std::abort();
  for (const Reading& rd : r->readings) {
    if (rd.name.empty()) std::abort();
  }
  if (is_envelope(f)) {
    if (!r->lorawan) std::abort();
    const LorawanMeta& m = *r->lorawan;
    if (!m.dev_eui.empty()) {
      if (m.dev_eui.size() != 16) std::abort();
      if (r->idempotency_key != "lorawan:" + m.dev_eui + ":" + std::to_string(m.f_cnt)) std::abort();
    } else if (!r->idempotency_key.empty()) {
      std::abort();
    }
  } else if (r->lorawan || !r->idempotency_key.empty()) {
    std::abort();
  }
  return 0;
}

}  // namespace urbis::devices::fuzz
