// The MQTT wire codec: pure functions from bytes to packets and back.
//
// Framing and decoding are separate so a connection can find packet boundaries
// in its input without copying, then decode one complete packet at a time.
// Every function here is safe on arbitrary input (it is a fuzz target); errors
// carry the MQTT 5 reason code the broker must send before closing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mqtt/codec/packet.hpp"

namespace urbis::mqtt {

struct DecodeError {
  uint8_t reason = rc::kMalformedPacket;  // kMalformedPacket, kProtocolError, kPacketTooLarge,
                                          // kUnsupportedProtocolVersion, kTopicNameInvalid, ...
  std::string message;                    // what exactly was wrong, for logs and reason strings
};

// Result of looking for one packet at the start of a byte buffer.
struct Frame {
  enum class State { kIncomplete, kComplete, kMalformed, kTooLarge };
  State state = State::kIncomplete;
  size_t header_len = 0;     // fixed header: type byte + 1..4 length bytes
  size_t remaining_len = 0;  // variable header + payload
  size_t total() const { return header_len + remaining_len; }
};

// Finds the packet at the start of `in`. kMalformed when the remaining-length
// varint is longer than 4 bytes; kTooLarge when total() would exceed max_packet_size
// (reported as soon as the length is known, before the body arrives).
Frame frame(std::span<const uint8_t> in, size_t max_packet_size);

// Decodes one complete packet (`in` is exactly frame.total() bytes).
// `version` is the connection's negotiated version; for CONNECT it is ignored
// and the version comes from the packet. Validates everything the OASIS
// normative statements require of a receiver that can be checked on one packet:
// reserved flag bits, QoS 3, UTF-8 strings (well-formed, no U+0000), wildcard
// characters in PUBLISH topics, empty SUBSCRIBE, duplicate/forbidden properties.
// Returns false and fills `err` on failure; on success fills `out`.
// On failure `out` holds some valid but unspecified packet. Decoding into a
// Packet that already holds a Publish reuses its string buffers.
bool decode(std::span<const uint8_t> in, Version version, Packet& out, DecodeError& err);

// The protocol level a complete CONNECT packet (`in` as for decode) asks for,
// read without decoding the rest: lets the broker answer a CONNECT that fails
// to decode with a CONNACK in the client's own version. nullopt unless `in`
// is a CONNECT with protocol name "MQTT" and level 4 or 5.
std::optional<Version> connect_version(std::span<const uint8_t> in);

// Appends the wire encoding of `p` for `version` to `out`.
// REQUIRES: every string and binary field fits in 65535 bytes, the packet's
// remaining length in 268435455, and fields hold values the wire can carry
// (Ack.type one of the four acks, QoS <= 2); packets from decode() always do.
// CONNECT is encoded for its own Connect.version; `version` is ignored for it.
void encode(const Packet& p, Version version, std::string& out);

// Size in bytes encode() would append, for max-packet-size checks before sending.
size_t encoded_size(const Packet& p, Version version);

// Topic validation helpers shared by codec and broker.
// A topic name: non-empty (unless allow_empty, for MQTT 5 aliases), no '+' or '#'.
bool valid_topic_name(std::string_view topic);
// A topic filter: non-empty; '#' only last and alone in its level; '+' alone in its level.
bool valid_topic_filter(std::string_view filter);
// Well-formed UTF-8 without U+0000 and without surrogates (MQTT-1.5.4-1, -2).
bool valid_utf8(std::string_view s);

}  // namespace urbis::mqtt

namespace urbis::mqtt {

// MQTT 5 property block (length varint + properties) on its own, for storing a
// message's properties (docs/formats/storage.md). decode_properties accepts any
// property id valid anywhere; it validates types and lengths only.
void encode_properties(const Properties& props, std::string& out);
bool decode_properties(std::span<const uint8_t> in, Properties& out, DecodeError& err);

}  // namespace urbis::mqtt
