// Byte-text encodings the device formats use: base64 (LoRaWAN network servers
// carry the frame payload as base64), base64url (SenML vd), hex (devEUIs, test vectors).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace urbis::devices {

// Standard (RFC 4648 section 4) or URL-safe (section 5) alphabet, padding
// optional; no whitespace. nullopt when `s` is not base64.
std::optional<std::string> base64_decode(std::string_view s);

// URL-safe alphabet without padding (what SenML vd carries, RFC 8428 section 4.3).
std::string base64url_encode(std::string_view bytes);

// Hex digits in either case; spaces between bytes are allowed ("03 67 01 10").
// nullopt on any other character or an odd number of digits.
std::optional<std::string> hex_decode(std::string_view s);

// Lowercase hex, no separators.
std::string hex_encode(std::string_view bytes);

}  // namespace urbis::devices
