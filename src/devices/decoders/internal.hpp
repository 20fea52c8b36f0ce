// Private to src/devices/decoders: one entry point per format, called by
// decode() (decoder.cpp), which checks the common limits afterwards.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "devices/decoders/decoder.hpp"

namespace urbis::devices::detail {

Result<Decoded> decode_json(std::string_view payload, const DecodeOptions& o);
Result<Decoded> decode_senml_json(std::string_view payload, const DecodeOptions& o);
Result<Decoded> decode_senml_cbor(std::string_view payload, const DecodeOptions& o);
Result<Decoded> decode_lpp(std::string_view payload, const DecodeOptions& o);
Result<Decoded> decode_chirpstack(std::string_view payload, const DecodeOptions& o);
Result<Decoded> decode_tts(std::string_view payload, const DecodeOptions& o);

// The readings of an already parsed flat JSON object (ChirpStack `object`, TTS
// `decoded_payload`). `where` prefixes error messages ("chirpstack: object").
Result<Decoded> decode_json_object(const boost::json::object& obj, std::string_view where, const DecodeOptions& o);

// Parses JSON text (depth limited). `where` prefixes the error ("json", "senml").
// `sp` holds the document: decoders pass a monotonic resource on their stack
// (ScratchJson) because a payload is parsed, read once and dropped. Readings
// must take values by assignment (`r.value = v`), which copies into the
// reading's own default storage, never by copy construction, which would
// share the scratch storage.
Result<boost::json::value> parse_json(std::string_view text, std::string_view where, boost::json::storage_ptr sp = {});

// Storage for one parsed payload: the first 4 KiB on the stack, more from the heap.
struct ScratchJson {
  unsigned char buffer[4096];
  boost::json::monotonic_resource resource{buffer, sizeof buffer};
  boost::json::storage_ptr storage() { return boost::json::storage_ptr(&resource); }
};

// Epoch seconds or milliseconds (a number below 1e11 is seconds: 1e11 s is in the
// year 5138, 1e11 ms in 1973) or ISO 8601 text, to epoch ms. nullopt when `v` is
// neither or out of range (before 1970 or after 9999).
std::optional<int64_t> time_ms_of(const boost::json::value& v);

// True when `ms` is an epoch time this platform stores (1970 to 9999).
inline bool time_in_range(double ms) { return ms >= 0 && ms < 253402300800000.0; }

inline Status fail(std::string_view where, std::string_view what) {
  std::string m(where);
  m += ": ";
  m += what;
  return InvalidArgument(std::move(m));
}

}  // namespace urbis::devices::detail
