// Private to src/devices/decoders: one entry point per format, called by
// decode() (decoder.cpp), which checks the common limits afterwards.
#pragma once

#include <boost/json/object.hpp>

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

inline Status fail(std::string_view where, std::string_view what) {
  std::string m(where);
  m += ": ";
  m += what;
  return InvalidArgument(std::move(m));
}

}  // namespace urbis::devices::detail
