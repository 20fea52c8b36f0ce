// Fuzz target: the ChirpStack v4 uplink events (first byte: the inner format of 'data') device decoder. See support/devices_fuzz.hpp.
#include "support/devices_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return urbis::devices::fuzz::decode_one(urbis::devices::Format::kChirpstackV4, data, size);
}
