// Framing and decoding of MQTT 3.1.1 / 5.0 packets.
//
// The decoder is strict: it checks every normative statement about a received
// packet that needs no connection state (reserved bits, QoS 3, packet id 0,
// UTF-8, wildcards in topic names, property placement and duplicates, trailing
// bytes) and maps each failure to the reason code the broker sends before it
// closes. docs/formats/mqtt-codec.md lists the checks and codes. Checks that
// need connection state (topic alias range, receive maximum, subscription
// identifiers sent by a client, payload format 1 with a non-UTF-8 payload) are
// the broker's.
#include <limits>

#include "mqtt/codec/codec.hpp"
#include "mqtt/codec/wire.hpp"

namespace urbis::mqtt {

namespace {

using wire::Reader;

bool fail(DecodeError& err, uint8_t reason, const char* msg) {
  err.reason = reason;
  err.message = msg;
  return false;
}

bool malformed(DecodeError& err, const char* msg) { return fail(err, rc::kMalformedPacket, msg); }

// A UTF-8 string field (MQTT-1.5.4): read and validated, view into the input.
bool read_utf8(Reader& r, std::string_view& s, DecodeError& err, const char* what) {
  if (!r.bin(s)) return malformed(err, what);
  if (!valid_utf8(s)) return malformed(err, what);
  return true;
}

bool done(const Reader& r, DecodeError& err) {
  if (!r.empty()) return malformed(err, "bytes after the end of the packet");
  return true;
}

// Shared subscriptions (MQTT 5.0 4.8.2): "$share/{ShareName}/{filter}", the
// share name non-empty and without '/', '+', '#'.
bool valid_shared_filter(std::string_view f) {
  constexpr std::string_view kPrefix = "$share/";
  if (f.substr(0, kPrefix.size()) != kPrefix) return true;  // not shared
  std::string_view rest = f.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  std::string_view name = rest.substr(0, slash);
  if (name.find_first_of("+#") != std::string_view::npos) return false;
  return valid_topic_filter(rest.substr(slash + 1));
}

bool is_shared(std::string_view f) { return f.substr(0, 7) == "$share/"; }

// Reason codes each MQTT 5 packet may carry (OASIS MQTT 5.0, 3.x.2.1).
bool reason_allowed(PacketType t, uint8_t r) {
  switch (t) {
    case PacketType::Connack:
      switch (r) {
        case 0x00: case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85:
        case 0x86: case 0x87: case 0x88: case 0x89: case 0x8A: case 0x8C: case 0x90:
        case 0x95: case 0x97: case 0x99: case 0x9A: case 0x9B: case 0x9C: case 0x9D:
        case 0x9F:
          return true;
        default:
          return false;
      }
    case PacketType::Puback:
    case PacketType::Pubrec:
      switch (r) {
        case 0x00: case 0x10: case 0x80: case 0x83: case 0x87: case 0x90: case 0x91:
        case 0x97: case 0x99:
          return true;
        default:
          return false;
      }
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
      return r == 0x00 || r == 0x92;
    case PacketType::Suback:
      switch (r) {
        case 0x00: case 0x01: case 0x02: case 0x80: case 0x83: case 0x87: case 0x8F:
        case 0x91: case 0x97: case 0x9E: case 0xA1: case 0xA2:
          return true;
        default:
          return false;
      }
    case PacketType::Unsuback:
      switch (r) {
        case 0x00: case 0x11: case 0x80: case 0x83: case 0x87: case 0x8F: case 0x91:
          return true;
        default:
          return false;
      }
    case PacketType::Disconnect:
      switch (r) {
        case 0x00: case 0x04: case 0x80: case 0x81: case 0x82: case 0x83: case 0x87:
        case 0x89: case 0x8B: case 0x8D: case 0x8E: case 0x8F: case 0x90: case 0x93:
        case 0x94: case 0x95: case 0x96: case 0x97: case 0x98: case 0x99: case 0x9A:
        case 0x9B: case 0x9C: case 0x9D: case 0x9E: case 0x9F: case 0xA0: case 0xA1:
        case 0xA2:
          return true;
        default:
          return false;
      }
    case PacketType::Auth:
      return r == 0x00 || r == 0x18 || r == 0x19;
    default:
      return false;
  }
}

// ------------------------------------------------------------------ CONNECT

bool decode_connect(Reader& r, Packet& out, DecodeError& err) {
  std::string_view name;
  uint8_t level;
  if (!r.bin(name) || !r.u8(level)) return malformed(err, "CONNECT truncated in protocol name");
  if (name == "MQIsdp")
    return fail(err, rc::kUnsupportedProtocolVersion, "MQTT 3.1 (MQIsdp) is not supported");
  if (name != "MQTT")
    return fail(err, rc::kUnsupportedProtocolVersion, "unknown protocol name");
  if (level != 4 && level != 5)
    return fail(err, rc::kUnsupportedProtocolVersion, "unsupported protocol level");
  const Version v = static_cast<Version>(level);
  const bool v5 = v == Version::v5;

  uint8_t flags;
  uint16_t keep_alive;
  if (!r.u8(flags) || !r.u16(keep_alive)) return malformed(err, "CONNECT truncated");
  if (flags & 0x01) return malformed(err, "CONNECT reserved flag set");  // MQTT-3.1.2-3
  const bool will_flag = flags & 0x04;
  const uint8_t will_qos = (flags >> 3) & 3;
  const bool will_retain = flags & 0x20;
  const bool has_password = flags & 0x40;
  const bool has_username = flags & 0x80;
  if (will_qos == 3) return malformed(err, "CONNECT will QoS 3");
  if (!will_flag && (will_qos != 0 || will_retain))
    return malformed(err, "CONNECT will QoS/retain without will flag");  // MQTT-3.1.2-11/13/15
  if (!v5 && has_password && !has_username)
    return malformed(err, "CONNECT password without user name");  // 3.1.1 MQTT-3.1.2-22

  Connect& c = out.emplace<Connect>();
  c.version = v;
  c.clean_start = flags & 0x02;
  c.keep_alive = keep_alive;
  if (v5 && !wire::read_properties(r, wire::kCtxConnect, c.props, err)) return false;

  std::string_view s;
  if (!read_utf8(r, s, err, "CONNECT client identifier")) return false;
  c.client_id.assign(s);
  if (!v5 && c.client_id.empty() && !c.clean_start)  // 3.1.1 MQTT-3.1.3-8
    return fail(err, rc::kClientIdentifierNotValid,
                "empty client identifier requires clean session");
  if (will_flag) {
    Will& w = c.will.emplace();
    w.qos = will_qos;
    w.retain = will_retain;
    if (v5 && !wire::read_properties(r, wire::kCtxWill, w.props, err)) return false;
    if (!read_utf8(r, s, err, "CONNECT will topic")) return false;
    if (!valid_topic_name(s)) return fail(err, rc::kTopicNameInvalid, "invalid will topic");
    w.topic.assign(s);
    if (!r.bin(s)) return malformed(err, "CONNECT will payload truncated");
    w.payload.assign(s);
  }
  if (has_username) {
    if (!read_utf8(r, s, err, "CONNECT user name")) return false;
    c.username.emplace(s);
  }
  if (has_password) {
    if (!r.bin(s)) return malformed(err, "CONNECT password truncated");
    c.password.emplace(s);
  }
  return done(r, err);
}

bool decode_connack(Reader& r, Version v, Packet& out, DecodeError& err) {
  uint8_t flags, code;
  if (!r.u8(flags) || !r.u8(code)) return malformed(err, "CONNACK truncated");
  if (flags & 0xFE) return malformed(err, "CONNACK reserved flags set");
  Connack& c = out.emplace<Connack>();
  c.session_present = flags & 1;
  if (v == Version::v5) {
    if (!reason_allowed(PacketType::Connack, code))
      return fail(err, rc::kProtocolError, "invalid CONNACK reason code");
    c.reason = code;
    if (!wire::read_properties(r, wire::kCtxConnack, c.props, err)) return false;
  } else {
    // 3.1.1 return codes 0..5 as their MQTT 5 equivalents.
    static constexpr uint8_t kMap[] = {rc::kSuccess,           rc::kUnsupportedProtocolVersion,
                                       rc::kClientIdentifierNotValid, rc::kServerUnavailable,
                                       rc::kBadUserNameOrPassword, rc::kNotAuthorized};
    if (code > 5) return malformed(err, "invalid CONNACK return code");
    c.reason = kMap[code];
  }
  return done(r, err);
}

// ------------------------------------------------------------------ PUBLISH

bool decode_publish(Reader& r, uint8_t flags, Version v, Packet& out, DecodeError& err) {
  const uint8_t qos = (flags >> 1) & 3;
  const bool dup = flags & 0x08;
  if (qos == 3) return malformed(err, "PUBLISH QoS 3");  // MQTT-3.3.1-4
  if (qos == 0 && dup) return malformed(err, "PUBLISH QoS 0 with DUP set");  // MQTT-3.3.1-2
  std::string_view topic;
  if (!read_utf8(r, topic, err, "PUBLISH topic name")) return false;
  if (topic.empty()) {
    // MQTT 5 allows an empty name when a Topic Alias is present; whether the
    // alias is there and known is the broker's check.
    if (v != Version::v5) return malformed(err, "PUBLISH empty topic name");
  } else if (!valid_topic_name(topic)) {
    return fail(err, rc::kTopicNameInvalid, "PUBLISH topic name contains a wildcard");
  }
  uint16_t packet_id = 0;
  if (qos > 0) {
    if (!r.u16(packet_id)) return malformed(err, "PUBLISH truncated in packet identifier");
    if (packet_id == 0) return malformed(err, "PUBLISH packet identifier 0");
  }

  // Reuse the buffers of a Publish already in `out`: a connection decodes
  // into the same Packet again and again, so after warm-up the topic and the
  // payload copies need no allocation.
  Publish* p = std::get_if<Publish>(&out);
  if (!p) p = &out.emplace<Publish>();
  p->qos = qos;
  p->dup = dup;
  p->retain = flags & 1;
  p->packet_id = packet_id;
  if (!wire::props_empty(p->props)) p->props = Properties{};
  if (v == Version::v5 && !wire::read_properties(r, wire::kCtxPublish, p->props, err)) return false;
  p->topic.assign(topic);
  p->payload.assign(r.rest());
  return true;
}

// --------------------------------------------------- PUBACK/PUBREC/PUBREL/PUBCOMP

bool decode_ack(Reader& r, PacketType t, Version v, Packet& out, DecodeError& err) {
  uint16_t id;
  if (!r.u16(id)) return malformed(err, "ack truncated");
  if (id == 0) return malformed(err, "ack packet identifier 0");
  Ack& a = out.emplace<Ack>();
  a.type = t;
  a.packet_id = id;
  if (v == Version::v5 && !r.empty()) {
    // Remaining length 2 means Success without properties; 3 means a reason
    // code without properties (MQTT 5.0 3.4.2.1).
    if (!r.u8(a.reason)) return malformed(err, "ack truncated");
    if (!reason_allowed(t, a.reason)) return fail(err, rc::kProtocolError, "invalid ack reason code");
    if (!r.empty() && !wire::read_properties(r, wire::kCtxPubAck, a.props, err)) return false;
  }
  return done(r, err);
}

// ------------------------------------------------------------------ SUBSCRIBE

bool decode_subscribe(Reader& r, Version v, Packet& out, DecodeError& err) {
  const bool v5 = v == Version::v5;
  uint16_t id;
  if (!r.u16(id)) return malformed(err, "SUBSCRIBE truncated");
  if (id == 0) return malformed(err, "SUBSCRIBE packet identifier 0");  // MQTT-2.3.1-1
  Subscribe& s = out.emplace<Subscribe>();
  s.packet_id = id;
  if (v5 && !wire::read_properties(r, wire::kCtxSubscribe, s.props, err)) return false;
  if (r.empty()) {
    return fail(err, v5 ? rc::kProtocolError : rc::kMalformedPacket,
                "SUBSCRIBE without topic filters");  // MQTT-3.8.3-2 / 3.1.1 MQTT-3.8.3-3
  }
  while (!r.empty()) {
    std::string_view f;
    uint8_t opts;
    if (!read_utf8(r, f, err, "SUBSCRIBE topic filter")) return false;
    if (!r.u8(opts)) return malformed(err, "SUBSCRIBE options truncated");
    if (!valid_topic_filter(f) || (v5 && !valid_shared_filter(f)))
      return fail(err, rc::kTopicFilterInvalid, "SUBSCRIBE invalid topic filter");
    SubscribeTopic& t = s.topics.emplace_back();
    t.filter.assign(f);
    t.qos = opts & 3;
    if (v5) {
      if (opts & 0xC0) return malformed(err, "SUBSCRIBE options reserved bits set");  // MQTT-3.8.3-5
      // QoS 3 and Retain Handling 3 are Protocol Errors in MQTT 5 (3.8.3.1).
      if (t.qos == 3) return fail(err, rc::kProtocolError, "SUBSCRIBE QoS 3");
      t.no_local = opts & 0x04;
      t.retain_as_published = opts & 0x08;
      t.retain_handling = (opts >> 4) & 3;
      if (t.retain_handling == 3) return fail(err, rc::kProtocolError, "SUBSCRIBE retain handling 3");
      if (t.no_local && is_shared(f))  // MQTT-3.8.3-4
        return fail(err, rc::kProtocolError, "SUBSCRIBE no local on a shared subscription");
    } else {
      if (opts & 0xFC) return malformed(err, "SUBSCRIBE reserved bits set");  // 3.1.1 MQTT-3.8.3-4
      if (t.qos == 3) return malformed(err, "SUBSCRIBE QoS 3");
    }
  }
  return true;
}

bool decode_suback(Reader& r, Version v, Packet& out, DecodeError& err) {
  uint16_t id;
  if (!r.u16(id)) return malformed(err, "SUBACK truncated");
  if (id == 0) return malformed(err, "SUBACK packet identifier 0");
  Suback& s = out.emplace<Suback>();
  s.packet_id = id;
  if (v == Version::v5 && !wire::read_properties(r, wire::kCtxSuback, s.props, err)) return false;
  if (r.empty()) return malformed(err, "SUBACK without reason codes");
  s.reasons.reserve(r.left());
  while (!r.empty()) {
    uint8_t code;
    (void)r.u8(code);
    if (v == Version::v5) {
      if (!reason_allowed(PacketType::Suback, code))
        return fail(err, rc::kProtocolError, "invalid SUBACK reason code");
    } else if (code > 2 && code != 0x80) {
      return malformed(err, "invalid SUBACK return code");  // 3.1.1 MQTT-3.9.3-2
    }
    s.reasons.push_back(code);
  }
  return true;
}

bool decode_unsubscribe(Reader& r, Version v, Packet& out, DecodeError& err) {
  const bool v5 = v == Version::v5;
  uint16_t id;
  if (!r.u16(id)) return malformed(err, "UNSUBSCRIBE truncated");
  if (id == 0) return malformed(err, "UNSUBSCRIBE packet identifier 0");
  Unsubscribe& u = out.emplace<Unsubscribe>();
  u.packet_id = id;
  if (v5 && !wire::read_properties(r, wire::kCtxUnsubscribe, u.props, err)) return false;
  if (r.empty()) {
    return fail(err, v5 ? rc::kProtocolError : rc::kMalformedPacket,
                "UNSUBSCRIBE without topic filters");  // MQTT-3.10.3-2
  }
  while (!r.empty()) {
    std::string_view f;
    if (!read_utf8(r, f, err, "UNSUBSCRIBE topic filter")) return false;
    if (!valid_topic_filter(f) || (v5 && !valid_shared_filter(f)))
      return fail(err, rc::kTopicFilterInvalid, "UNSUBSCRIBE invalid topic filter");
    u.filters.emplace_back(f);
  }
  return true;
}

bool decode_unsuback(Reader& r, Version v, Packet& out, DecodeError& err) {
  uint16_t id;
  if (!r.u16(id)) return malformed(err, "UNSUBACK truncated");
  if (id == 0) return malformed(err, "UNSUBACK packet identifier 0");
  Unsuback& u = out.emplace<Unsuback>();
  u.packet_id = id;
  if (v == Version::v5) {
    if (!wire::read_properties(r, wire::kCtxUnsuback, u.props, err)) return false;
    if (r.empty()) return malformed(err, "UNSUBACK without reason codes");
    u.reasons.reserve(r.left());
    while (!r.empty()) {
      uint8_t code;
      (void)r.u8(code);
      if (!reason_allowed(PacketType::Unsuback, code))
        return fail(err, rc::kProtocolError, "invalid UNSUBACK reason code");
      u.reasons.push_back(code);
    }
  }
  return done(r, err);
}

// DISCONNECT and AUTH (MQTT 5): remaining length 0 means Success/Normal
// without properties, 1 means a reason code without properties.
template <class T>
bool decode_reason_props(Reader& r, PacketType t, wire::PropCtx ctx, Packet& out,
                         DecodeError& err) {
  T& d = out.emplace<T>();
  if (r.empty()) return true;
  (void)r.u8(d.reason);
  if (!reason_allowed(t, d.reason)) return fail(err, rc::kProtocolError, "invalid reason code");
  if (!r.empty() && !wire::read_properties(r, ctx, d.props, err)) return false;
  return done(r, err);
}

}  // namespace

Frame frame(std::span<const uint8_t> in, size_t max_packet_size) {
  Frame f;
  size_t value = 0;
  for (size_t i = 1;; ++i) {
    if (i >= in.size()) return f;  // the length is not complete yet
    const uint8_t b = in[i];
    value |= size_t{static_cast<uint8_t>(b & 0x7F)} << (7 * (i - 1));
    if (!(b & 0x80)) {
      f.header_len = i + 1;
      f.remaining_len = value;
      break;
    }
    if (i == 4) {  // a fourth length byte that announces a fifth
      f.state = Frame::State::kMalformed;
      return f;
    }
  }
  if (f.total() > max_packet_size)
    f.state = Frame::State::kTooLarge;
  else if (f.total() <= in.size())
    f.state = Frame::State::kComplete;
  return f;
}

std::optional<Version> connect_version(std::span<const uint8_t> in) {
  const Frame f = frame(in, std::numeric_limits<size_t>::max());
  if (f.state != Frame::State::kComplete || in[0] != 0x10) return std::nullopt;
  Reader r(in.data() + f.header_len, in.data() + f.total());
  std::string_view name;
  uint8_t level;
  if (!r.bin(name) || name != "MQTT" || !r.u8(level) || (level != 4 && level != 5))
    return std::nullopt;
  return static_cast<Version>(level);
}

bool decode(std::span<const uint8_t> in, Version version, Packet& out, DecodeError& err) {
  const Frame f = frame(in, std::numeric_limits<size_t>::max());
  if (f.state != Frame::State::kComplete || f.total() != in.size())
    return malformed(err, "packet length does not match its remaining length");
  const auto type = static_cast<PacketType>(in[0] >> 4);
  const uint8_t flags = in[0] & 0x0F;
  Reader r(in.data() + f.header_len, in.data() + in.size());
  const bool v5 = version == Version::v5;

  // Fixed-header flags are fixed for every type but PUBLISH (MQTT-2.1.3-1).
  const uint8_t want = (type == PacketType::Pubrel || type == PacketType::Subscribe ||
                        type == PacketType::Unsubscribe)
                           ? 0x2
                           : 0x0;
  if (type != PacketType::Publish && flags != want)
    return malformed(err, "invalid fixed header flags");

  switch (type) {
    case PacketType::Connect:
      return decode_connect(r, out, err);
    case PacketType::Connack:
      return decode_connack(r, version, out, err);
    case PacketType::Publish:
      return decode_publish(r, flags, version, out, err);
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
      return decode_ack(r, type, version, out, err);
    case PacketType::Subscribe:
      return decode_subscribe(r, version, out, err);
    case PacketType::Suback:
      return decode_suback(r, version, out, err);
    case PacketType::Unsubscribe:
      return decode_unsubscribe(r, version, out, err);
    case PacketType::Unsuback:
      return decode_unsuback(r, version, out, err);
    case PacketType::Pingreq:
      out.emplace<Pingreq>();
      return done(r, err);
    case PacketType::Pingresp:
      out.emplace<Pingresp>();
      return done(r, err);
    case PacketType::Disconnect:
      if (!v5) {
        out.emplace<Disconnect>();
        return done(r, err);
      }
      return decode_reason_props<Disconnect>(r, type, wire::kCtxDisconnect, out, err);
    case PacketType::Auth:
      if (!v5) return malformed(err, "AUTH does not exist in MQTT 3.1.1");
      return decode_reason_props<Auth>(r, type, wire::kCtxAuth, out, err);
    default:
      return malformed(err, "reserved packet type 0");
  }
}

}  // namespace urbis::mqtt
