// Encoding of MQTT 3.1.1 / 5.0 packets.
//
// Each packet body is written once, as a template over a sink (wire.hpp):
// encoded_size() counts, encode() counts, reserves and writes. A packet value
// is version-neutral; for 3.1.1 the MQTT 5-only parts (properties, ack reason
// codes) are left out and reason codes are mapped to 3.1.1 return codes.
#include "mqtt/codec/codec.hpp"
#include "mqtt/codec/wire.hpp"

namespace urbis::mqtt {

namespace {

using wire::write_properties;

// CONNACK: MQTT 5 reason code -> 3.1.1 return code (3.1.1 table 3.1).
// Failures without a 3.1.1 equivalent become 5 (not authorized) when they are
// about who the client is, else 3 (server unavailable).
uint8_t connack_v311(uint8_t reason) {
  switch (reason) {
    case rc::kUnsupportedProtocolVersion: return 1;
    case rc::kClientIdentifierNotValid: return 2;
    case rc::kServerUnavailable:
    case rc::kServerBusy: return 3;
    case rc::kBadUserNameOrPassword: return 4;
    case rc::kNotAuthorized:
    case rc::kBanned:
    case rc::kBadAuthenticationMethod: return 5;
    default: return reason < 0x80 ? 0 : 3;
  }
}

// SUBACK: granted QoS 0..2 as is, any failure as 0x80 (3.1.1 3.9.3).
uint8_t suback_v311(uint8_t reason) { return reason <= 2 ? reason : 0x80; }

template <class S>
void body(const Connect& c, Version, S& s) {
  // The version is the packet's own: CONNECT is what negotiates it.
  const bool v5 = c.version == Version::v5;
  s.str("MQTT");
  s.byte(static_cast<uint8_t>(c.version));
  uint8_t flags = 0;
  if (c.clean_start) flags |= 0x02;
  if (c.will) {
    flags |= 0x04;
    flags |= static_cast<uint8_t>((c.will->qos & 3) << 3);
    if (c.will->retain) flags |= 0x20;
  }
  if (c.password) flags |= 0x40;
  if (c.username) flags |= 0x80;
  s.byte(flags);
  s.u16(c.keep_alive);
  if (v5) write_properties(c.props, s);
  s.str(c.client_id);
  if (c.will) {
    if (v5) write_properties(c.will->props, s);
    s.str(c.will->topic);
    s.str(c.will->payload);
  }
  if (c.username) s.str(*c.username);
  if (c.password) s.str(*c.password);
}

template <class S>
void body(const Connack& c, Version v, S& s) {
  s.byte(c.session_present ? 1 : 0);
  if (v == Version::v5) {
    s.byte(c.reason);
    write_properties(c.props, s);
  } else {
    s.byte(connack_v311(c.reason));
  }
}

template <class S>
void body(const Publish& p, Version v, S& s) {
  s.str(p.topic);
  if (p.qos > 0) s.u16(p.packet_id);
  if (v == Version::v5) write_properties(p.props, s);
  s.bytes(p.payload);
}

// Reason code and properties of MQTT 5 acks, DISCONNECT and AUTH, in the
// shortest form the spec allows: nothing for Success without properties, the
// reason code alone when there are no properties.
template <class S>
void reason_and_props(uint8_t reason, const Properties& props, S& s) {
  const bool no_props = wire::props_empty(props);
  if (reason == rc::kSuccess && no_props) return;
  s.byte(reason);
  if (!no_props) write_properties(props, s);
}

template <class S>
void body(const Ack& a, Version v, S& s) {
  s.u16(a.packet_id);
  if (v == Version::v5) reason_and_props(a.reason, a.props, s);
}

template <class S>
void body(const Subscribe& sub, Version v, S& s) {
  const bool v5 = v == Version::v5;
  s.u16(sub.packet_id);
  if (v5) write_properties(sub.props, s);
  for (const SubscribeTopic& t : sub.topics) {
    s.str(t.filter);
    uint8_t opts = t.qos & 3;
    if (v5) {
      if (t.no_local) opts |= 0x04;
      if (t.retain_as_published) opts |= 0x08;
      opts |= static_cast<uint8_t>((t.retain_handling & 3) << 4);
    }
    s.byte(opts);
  }
}

template <class S>
void body(const Suback& a, Version v, S& s) {
  s.u16(a.packet_id);
  if (v == Version::v5) {
    write_properties(a.props, s);
    for (uint8_t r : a.reasons) s.byte(r);
  } else {
    for (uint8_t r : a.reasons) s.byte(suback_v311(r));
  }
}

template <class S>
void body(const Unsubscribe& u, Version v, S& s) {
  s.u16(u.packet_id);
  if (v == Version::v5) write_properties(u.props, s);
  for (const std::string& f : u.filters) s.str(f);
}

template <class S>
void body(const Unsuback& a, Version v, S& s) {
  s.u16(a.packet_id);
  if (v == Version::v5) {
    write_properties(a.props, s);
    for (uint8_t r : a.reasons) s.byte(r);
  }
}

template <class S>
void body(const Pingreq&, Version, S&) {}
template <class S>
void body(const Pingresp&, Version, S&) {}

template <class S>
void body(const Disconnect& d, Version v, S& s) {
  if (v == Version::v5) reason_and_props(d.reason, d.props, s);
}

template <class S>
void body(const Auth& a, Version, S& s) {
  // AUTH exists only in MQTT 5; it is written in the MQTT 5 form whatever the
  // version (a 3.1.1 peer must never be sent one).
  reason_and_props(a.reason, a.props, s);
}

uint8_t first_byte(const Packet& p) {
  if (const auto* pub = std::get_if<Publish>(&p)) {
    return static_cast<uint8_t>(0x30 | (pub->dup ? 0x08 : 0) | ((pub->qos & 3) << 1) |
                                (pub->retain ? 1 : 0));
  }
  const PacketType t = type_of(p);
  const bool flags2 =
      t == PacketType::Pubrel || t == PacketType::Subscribe || t == PacketType::Unsubscribe;
  return static_cast<uint8_t>((static_cast<uint8_t>(t) << 4) | (flags2 ? 0x2 : 0));
}

size_t body_size(const Packet& p, Version v) {
  wire::CountSink c;
  std::visit([&](const auto& x) { body(x, v, c); }, p);
  return c.size();
}

}  // namespace

void encode(const Packet& p, Version version, std::string& out) {
  const size_t n = body_size(p, version);
  out.reserve(out.size() + 1 + wire::varint_size(n) + n);
  wire::StringSink s(out);
  s.byte(first_byte(p));
  s.varint(n);
  std::visit([&](const auto& x) { body(x, version, s); }, p);
}

size_t encoded_size(const Packet& p, Version version) {
  const size_t n = body_size(p, version);
  return 1 + wire::varint_size(n) + n;
}

}  // namespace urbis::mqtt
