// Placeholder until the format decoders land.
#include "devices/decoders/internal.hpp"

namespace urbis::devices::detail {
Result<Decoded> decode_json(std::string_view, const DecodeOptions&) { return InvalidArgument("json: not implemented"); }
Result<Decoded> decode_senml_json(std::string_view, const DecodeOptions&) { return InvalidArgument("senml: not implemented"); }
Result<Decoded> decode_senml_cbor(std::string_view, const DecodeOptions&) { return InvalidArgument("senml: not implemented"); }
Result<Decoded> decode_lpp(std::string_view, const DecodeOptions&) { return InvalidArgument("lpp: not implemented"); }
Result<Decoded> decode_chirpstack(std::string_view, const DecodeOptions&) { return InvalidArgument("chirpstack: not implemented"); }
Result<Decoded> decode_tts(std::string_view, const DecodeOptions&) { return InvalidArgument("tts: not implemented"); }
}  // namespace urbis::devices::detail
