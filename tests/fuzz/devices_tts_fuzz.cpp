// Fuzz target: the The Things Stack v3 uplinks (first byte: the inner format of 'frm_payload') device decoder. See support/devices_fuzz.hpp.
#include "support/devices_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return urbis::devices::fuzz::decode_one(urbis::devices::Format::kTtsV3, data, size);
}
