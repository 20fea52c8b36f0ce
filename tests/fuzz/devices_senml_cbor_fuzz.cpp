// Fuzz target: the SenML CBOR (RFC 8428 section 6, and the CBOR reader under it) device decoder. See support/devices_fuzz.hpp.
#include "support/devices_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return urbis::devices::fuzz::decode_one(urbis::devices::Format::kSenmlCbor, data, size);
}
