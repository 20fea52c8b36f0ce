// Fuzz target: the flat JSON device decoder. See support/devices_fuzz.hpp.
#include "support/devices_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return urbis::devices::fuzz::decode_one(urbis::devices::Format::kJson, data, size);
}
