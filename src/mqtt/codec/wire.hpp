// Private to the codec: byte-level readers and writers shared by decode.cpp,
// encode.cpp and properties.cpp. Not part of the public surface (codec.hpp).
//
// Encoding is written once as templates over a "sink": CountSink only adds up
// sizes, StringSink appends bytes. encode() runs the body twice (count, then
// write) and encoded_size() runs the count only, so the two can never disagree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/codec/codec.hpp"
#include "mqtt/codec/packet.hpp"

namespace urbis::mqtt::wire {

// Largest value a Variable Byte Integer can carry (4 bytes of 7 bits).
inline constexpr uint32_t kMaxVarint = 268'435'455;

inline size_t varint_size(size_t v) {
  return v < 128 ? 1 : v < 16'384 ? 2 : v < 2'097'152 ? 3 : 4;
}

class CountSink {
 public:
  void byte(uint8_t) { n_ += 1; }
  void u16(uint16_t) { n_ += 2; }
  void u32(uint32_t) { n_ += 4; }
  void varint(size_t v) { n_ += varint_size(v); }
  void bytes(std::string_view v) { n_ += v.size(); }
  void str(std::string_view v) { n_ += 2 + v.size(); }  // UTF-8 string or binary data
  size_t size() const { return n_; }

 private:
  size_t n_ = 0;
};

// Appends to a caller-owned string. The caller reserves the exact size first.
class StringSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void u16(uint16_t v) {
    const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out_.append(b, 2);
  }
  void u32(uint32_t v) {
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
    out_.append(b, 4);
  }
  // REQUIRES: v <= kMaxVarint
  void varint(size_t v) {
    do {
      uint8_t b = v & 0x7F;
      v >>= 7;
      if (v) b |= 0x80;
      byte(b);
    } while (v);
  }
  void bytes(std::string_view v) { out_.append(v.data(), v.size()); }
  // REQUIRES: v.size() <= 65535 (longer strings cannot be expressed on the wire)
  void str(std::string_view v) {
    u16(static_cast<uint16_t>(v.size()));
    bytes(v);
  }

 private:
  std::string& out_;
};

// Bounded reader over one packet. Every read checks the bound and returns false
// when the input is too short; callers turn that into a Malformed Packet.
class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const uint8_t* pos() const { return p_; }

  bool u8(uint8_t& v) {
    if (p_ == end_) return false;
    v = *p_++;
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
    p_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (left() < 4) return false;
    v = (uint32_t{p_[0]} << 24) | (uint32_t{p_[1]} << 16) | (uint32_t{p_[2]} << 8) | p_[3];
    p_ += 4;
    return true;
  }
  // Variable Byte Integer, at most 4 bytes.
  bool varint(uint32_t& v) {
    v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p_ == end_) return false;
      uint8_t b = *p_++;
      v |= uint32_t{static_cast<uint8_t>(b & 0x7F)} << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  // Two-byte length followed by that many bytes (UTF-8 string or binary data);
  // the view points into the input.
  bool bin(std::string_view& v) {
    uint16_t n;
    if (!u16(n) || left() < n) return false;
    v = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  // The rest of the input.
  std::string_view rest() {
    std::string_view v(reinterpret_cast<const char*>(p_), left());
    p_ = end_;
    return v;
  }
  // Splits off the next n bytes as their own reader.
  bool sub(size_t n, Reader& out) {
    if (left() < n) return false;
    out = Reader(p_, p_ + n);
    p_ += n;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Which packet a property block belongs to; each property id has a mask of the
// places where it may appear (OASIS MQTT 5.0, table in 2.2.2.2).
enum PropCtx : uint16_t {
  kCtxConnect = 1u << 0,
  kCtxConnack = 1u << 1,
  kCtxPublish = 1u << 2,
  kCtxWill = 1u << 3,
  kCtxPubAck = 1u << 4,  // PUBACK, PUBREC, PUBREL, PUBCOMP
  kCtxSubscribe = 1u << 5,
  kCtxSuback = 1u << 6,
  kCtxUnsubscribe = 1u << 7,
  kCtxUnsuback = 1u << 8,
  kCtxDisconnect = 1u << 9,
  kCtxAuth = 1u << 10,
  // Standalone block (decode_properties): any known id, types and lengths only.
  kCtxAny = 0x7FF,
};

// Reads a property block (length varint + properties) for `ctx` from `r`.
// Checks ids, types, lengths, UTF-8, duplicates and, unless ctx is kCtxAny,
// whether each property may appear in `ctx` and value ranges.
bool read_properties(Reader& r, PropCtx ctx, Properties& out, DecodeError& err);

bool props_empty(const Properties& p);

// Writes the properties without the length prefix, in ascending id order.
template <class Sink>
void write_property_list(const Properties& p, Sink& s) {
  auto b = [&](uint8_t id, const std::optional<uint8_t>& v) {
    if (v) { s.byte(id); s.byte(*v); }
  };
  auto h = [&](uint8_t id, const std::optional<uint16_t>& v) {
    if (v) { s.byte(id); s.u16(*v); }
  };
  auto w = [&](uint8_t id, const std::optional<uint32_t>& v) {
    if (v) { s.byte(id); s.u32(*v); }
  };
  auto t = [&](uint8_t id, const std::optional<std::string>& v) {
    if (v) { s.byte(id); s.str(*v); }
  };
  b(0x01, p.payload_format_indicator);
  w(0x02, p.message_expiry_interval);
  t(0x03, p.content_type);
  t(0x08, p.response_topic);
  t(0x09, p.correlation_data);
  for (uint32_t id : p.subscription_identifiers) {
    s.byte(0x0B);
    s.varint(id);
  }
  w(0x11, p.session_expiry_interval);
  t(0x12, p.assigned_client_identifier);
  h(0x13, p.server_keep_alive);
  t(0x15, p.authentication_method);
  t(0x16, p.authentication_data);
  b(0x17, p.request_problem_information);
  w(0x18, p.will_delay_interval);
  b(0x19, p.request_response_information);
  t(0x1A, p.response_information);
  t(0x1C, p.server_reference);
  t(0x1F, p.reason_string);
  h(0x21, p.receive_maximum);
  h(0x22, p.topic_alias_maximum);
  h(0x23, p.topic_alias);
  b(0x24, p.maximum_qos);
  b(0x25, p.retain_available);
  for (const auto& [k, v] : p.user_properties) {
    s.byte(0x26);
    s.str(k);
    s.str(v);
  }
  w(0x27, p.maximum_packet_size);
  b(0x28, p.wildcard_subscription_available);
  b(0x29, p.subscription_identifiers_available);
  b(0x2A, p.shared_subscription_available);
}

// Writes a property block: length varint, then the properties.
template <class Sink>
void write_properties(const Properties& p, Sink& s) {
  if (props_empty(p)) {
    s.byte(0);
    return;
  }
  CountSink c;
  write_property_list(p, c);
  s.varint(c.size());
  write_property_list(p, s);
}

}  // namespace urbis::mqtt::wire
