// Decoder: framing, byte-exact vectors worked out by hand from the OASIS specs,
// and a table of malformed packets with the reason code the broker must send.
#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace urbis::mqtt {
namespace {

using testing::as_bytes;
using testing::bytes;
using testing::decoded;
using testing::encoded;
using testing::hex;

// Builders for hand-written packets.
std::string u16(int v) { return bytes({(v >> 8) & 0xFF, v & 0xFF}); }
std::string str(std::string_view s) { return u16(static_cast<int>(s.size())) + std::string(s); }
std::string b(std::initializer_list<int> v) { return bytes(v); }
// Fixed header (first byte + remaining length) in front of `body`.
std::string pkt(int first, const std::string& body) {
  std::string out(1, static_cast<char>(first));
  size_t n = body.size();
  do {
    uint8_t d = n & 0x7F;
    n >>= 7;
    if (n) d |= 0x80;
    out.push_back(static_cast<char>(d));
  } while (n);
  return out + body;
}
// CONNECT with the given protocol name, level, flags, v5 property block (if
// level 5) and payload.
std::string connect(std::string_view name, int level, int flags, const std::string& payload,
                    const std::string& props = std::string(1, '\0')) {
  return pkt(0x10, str(name) + b({level, flags, 0x00, 0x3C}) + (level == 5 ? props : "") + payload);
}
// Property block from raw property bytes.
std::string props(const std::string& raw) { return b({static_cast<int>(raw.size())}) + raw; }

// ------------------------------------------------------------------ frame

TEST(CodecFrame, RemainingLengthBoundaries) {
  struct {
    std::string header;
    size_t remaining;
  } const table[] = {
      {b({0x30, 0x00}), 0},
      {b({0x30, 0x7F}), 127},
      {b({0x30, 0x80, 0x01}), 128},
      {b({0x30, 0xC1, 0x02}), 321},  // the example in MQTT 5.0 1.5.5
      {b({0x30, 0xFF, 0x7F}), 16'383},
      {b({0x30, 0x80, 0x80, 0x01}), 16'384},
      {b({0x30, 0xFF, 0xFF, 0x7F}), 2'097'151},
      {b({0x30, 0x80, 0x80, 0x80, 0x01}), 2'097'152},
      {b({0x30, 0xFF, 0xFF, 0xFF, 0x7F}), 268'435'455},
  };
  for (const auto& row : table) {
    Frame f = frame(as_bytes(row.header), SIZE_MAX);
    EXPECT_EQ(f.header_len, row.header.size()) << hex(row.header);
    EXPECT_EQ(f.remaining_len, row.remaining) << hex(row.header);
    EXPECT_EQ(f.state, row.remaining == 0 ? Frame::State::kComplete : Frame::State::kIncomplete);
  }
}

TEST(CodecFrame, FifthLengthByteIsMalformed) {
  EXPECT_EQ(frame(as_bytes(b({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})), SIZE_MAX).state,
            Frame::State::kMalformed);
  // Known as soon as the fourth length byte announces a fifth.
  EXPECT_EQ(frame(as_bytes(b({0x30, 0x80, 0x80, 0x80, 0x80})), SIZE_MAX).state,
            Frame::State::kMalformed);
  Packet p;
  DecodeError err;
  EXPECT_FALSE(decode(as_bytes(b({0xC0, 0x80, 0x80, 0x80, 0x80, 0x00})), Version::v5, p, err));
  EXPECT_EQ(err.reason, rc::kMalformedPacket);
}

TEST(CodecFrame, IncompleteUntilTheLastByte) {
  EXPECT_EQ(frame({}, 100).state, Frame::State::kIncomplete);
  EXPECT_EQ(frame(as_bytes(b({0x30})), 100).state, Frame::State::kIncomplete);
  EXPECT_EQ(frame(as_bytes(b({0x30, 0x80})), 100).state, Frame::State::kIncomplete);
  std::string p = pkt(0x30, str("a/b") + "payload");
  for (size_t n = 2; n < p.size(); ++n) {
    Frame f = frame(as_bytes(p).first(n), 100);
    EXPECT_EQ(f.state, Frame::State::kIncomplete) << n;
    EXPECT_EQ(f.total(), p.size());
  }
  // Bytes of the next packet after this one do not matter.
  p += b({0xC0, 0x00});
  Frame f = frame(as_bytes(p), 100);
  EXPECT_EQ(f.state, Frame::State::kComplete);
  EXPECT_EQ(f.total(), p.size() - 2);
}

TEST(CodecFrame, TooLargeBeforeTheBodyArrives) {
  // 2 header bytes + 200 announced: too large for a limit of 201, reported
  // from the header alone; a limit of exactly 202 is fine.
  auto header = b({0x30, 0xC8, 0x01});
  EXPECT_EQ(frame(as_bytes(header), 201).state, Frame::State::kTooLarge);
  EXPECT_EQ(frame(as_bytes(header), 203).state, Frame::State::kIncomplete);
  EXPECT_EQ(frame(as_bytes(b({0xC0, 0x00})), 2).state, Frame::State::kComplete);
  EXPECT_EQ(frame(as_bytes(b({0xC0, 0x00})), 1).state, Frame::State::kTooLarge);
}

// ------------------------------------------------------------------ known vectors

TEST(CodecVectors, ConnectV311) {
  Connect c;
  c.version = Version::v311;
  c.client_id = "abc";
  const std::string wire = b({0x10, 0x0F, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C,
                              0x00, 0x03, 'a', 'b', 'c'});
  EXPECT_EQ(hex(encoded(c, Version::v311)), hex(wire));
  auto d = decoded(wire, Version::v5);  // CONNECT carries its own version
  ASSERT_TRUE(d.ok) << d.err.message;
  EXPECT_TRUE(d.packet == Packet(c));
}

TEST(CodecVectors, ConnectV5WithWillAndCredentials) {
  Connect c;
  c.client_id = "id";
  c.clean_start = false;
  c.keep_alive = 10;
  c.will = Will{"w", "x", 1, true, {}};
  c.will->props.will_delay_interval = 5;
  c.username = "u";
  c.password = "p";
  c.props.session_expiry_interval = 300;
  // flags: username 0x80 | password 0x40 | will retain 0x20 | will QoS 1 0x08 | will 0x04
  const std::string wire =
      b({0x10, 0x26, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0xEC, 0x00, 0x0A,
         0x05, 0x11, 0x00, 0x00, 0x01, 0x2C,           // session expiry 300
         0x00, 0x02, 'i', 'd',                         // client id
         0x05, 0x18, 0x00, 0x00, 0x00, 0x05,           // will delay 5
         0x00, 0x01, 'w', 0x00, 0x01, 'x',             // will topic, payload
         0x00, 0x01, 'u', 0x00, 0x01, 'p'});
  EXPECT_EQ(hex(encoded(c, Version::v5)), hex(wire));
  auto d = decoded(wire, Version::v311);
  ASSERT_TRUE(d.ok) << d.err.message;
  EXPECT_TRUE(d.packet == Packet(c));
}

TEST(CodecVectors, PublishV5WithMessageExpiry) {
  Publish p;
  p.qos = 1;
  p.packet_id = 10;
  p.topic = "a/b";
  p.props.message_expiry_interval = 16;
  p.payload = "hi";
  const std::string wire = b({0x32, 0x0F, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 0x05, 0x02, 0x00,
                              0x00, 0x00, 0x10, 'h', 'i'});
  EXPECT_EQ(hex(encoded(p, Version::v5)), hex(wire));
  auto d = decoded(wire, Version::v5);
  ASSERT_TRUE(d.ok) << d.err.message;
  EXPECT_TRUE(d.packet == Packet(p));
}

TEST(CodecVectors, AcksShortForms) {
  Ack a;
  a.packet_id = 10;
  EXPECT_EQ(encoded(a, Version::v5), b({0x40, 0x02, 0x00, 0x0A}));
  a.reason = rc::kNoMatchingSubscribers;
  EXPECT_EQ(encoded(a, Version::v5), b({0x40, 0x03, 0x00, 0x0A, 0x10}));
  a.type = PacketType::Pubrel;
  a.reason = rc::kSuccess;
  a.props.reason_string = "r";
  EXPECT_EQ(encoded(a, Version::v5),
            b({0x62, 0x08, 0x00, 0x0A, 0x00, 0x04, 0x1F, 0x00, 0x01, 'r'}));

  // Remaining length 2 / 3 / 4 with property length 0 all decode.
  for (const std::string& w : {b({0x50, 0x02, 0x00, 0x0A}), b({0x50, 0x03, 0x00, 0x0A, 0x00}),
                               b({0x50, 0x04, 0x00, 0x0A, 0x00, 0x00})}) {
    auto d = decoded(w, Version::v5);
    ASSERT_TRUE(d.ok) << hex(w) << d.err.message;
    const Ack& got = std::get<Ack>(d.packet);
    EXPECT_EQ(got.type, PacketType::Pubrec);
    EXPECT_EQ(got.packet_id, 10);
    EXPECT_EQ(got.reason, rc::kSuccess);
  }
}

TEST(CodecVectors, SubscribeV5Options) {
  Subscribe s;
  s.packet_id = 1;
  s.topics = {{"a/#", 1, true, true, 2}};
  // options: QoS 1 | no local 0x04 | retain as published 0x08 | retain handling 2 << 4
  const std::string wire = b({0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, 'a', '/', '#', 0x2D});
  EXPECT_EQ(hex(encoded(s, Version::v5)), hex(wire));
  auto d = decoded(wire, Version::v5);
  ASSERT_TRUE(d.ok) << d.err.message;
  EXPECT_TRUE(d.packet == Packet(s));
}

TEST(CodecVectors, SmallPackets) {
  EXPECT_EQ(encoded(Pingreq{}, Version::v5), b({0xC0, 0x00}));
  EXPECT_EQ(encoded(Pingresp{}, Version::v311), b({0xD0, 0x00}));
  EXPECT_EQ(encoded(Disconnect{}, Version::v5), b({0xE0, 0x00}));
  EXPECT_EQ(encoded(Disconnect{rc::kDisconnectWithWill, {}}, Version::v5), b({0xE0, 0x01, 0x04}));
  EXPECT_EQ(encoded(Auth{}, Version::v5), b({0xF0, 0x00}));
  Connack c;
  c.session_present = true;
  EXPECT_EQ(encoded(c, Version::v5), b({0x20, 0x03, 0x01, 0x00, 0x00}));
  EXPECT_EQ(encoded(c, Version::v311), b({0x20, 0x02, 0x01, 0x00}));
  Unsubscribe u;
  u.packet_id = 2;
  u.filters = {"x"};
  EXPECT_EQ(encoded(u, Version::v311), b({0xA2, 0x05, 0x00, 0x02, 0x00, 0x01, 'x'}));
}

// ------------------------------------------------------------------ accepted edge cases

TEST(CodecDecode, AcceptedEdgeCases) {
  struct {
    const char* name;
    std::string wire;
    Version v;
  } const table[] = {
      {"v5 empty topic (alias)", pkt(0x30, str("") + props(b({0x23, 0x00, 0x01})) + "x"), Version::v5},
      {"v5 empty topic without alias (broker decides)", pkt(0x30, str("") + b({0}) + "x"), Version::v5},
      {"v5 password without user name", connect("MQTT", 5, 0x42, str("a") + str("pw")), Version::v5},
      {"v5 DISCONNECT length 0", b({0xE0, 0x00}), Version::v5},
      {"v5 DISCONNECT reason only", b({0xE0, 0x01, 0x8B}), Version::v5},
      {"v5 AUTH length 0", b({0xF0, 0x00}), Version::v5},
      {"BOM in topic", pkt(0x30, str("\xEF\xBB\xBFx") + "p"), Version::v311},
      {"v311 empty client id with clean session", connect("MQTT", 4, 0x02, str("")), Version::v311},
      {"4-byte UTF-8 topic", pkt(0x30, str("\xF0\x9F\x9A\xA6") + "p"), Version::v311},
      {"non-minimal remaining length", b({0xC0, 0x80, 0x00}), Version::v311},
      {"v5 repeated subscription ids in PUBLISH",
       pkt(0x30, str("t") + props(b({0x0B, 0x01, 0x0B, 0x02}))), Version::v5},
  };
  for (const auto& row : table) {
    auto d = decoded(row.wire, row.v);
    EXPECT_TRUE(d.ok) << row.name << ": " << d.err.message;
  }
}

// ------------------------------------------------------------------ malformed table

struct Bad {
  const char* name;
  std::string wire;
  Version v;
  uint8_t reason;
};

std::vector<Bad> bad_packets() {
  const auto v3 = Version::v311;
  const auto v5 = Version::v5;
  const uint8_t M = rc::kMalformedPacket, P = rc::kProtocolError;
  const std::string sub_a = str("a") + b({0x00});
  return {
      // fixed header
      {"reserved type 0", b({0x00, 0x00}), v5, M},
      {"5-byte remaining length", b({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}), v5, M},
      {"length shorter than bytes given", b({0xC0, 0x00, 0x00}), v3, M},
      {"length longer than bytes given", b({0xC0, 0x01}), v3, M},
      {"PINGREQ with a body", b({0xC0, 0x01, 0x00}), v3, M},
      {"PINGRESP flags", b({0xD1, 0x00}), v5, M},
      {"PUBREL flags 0", b({0x60, 0x02, 0x00, 0x01}), v3, M},
      {"PUBACK flags 1", b({0x41, 0x02, 0x00, 0x01}), v5, M},
      {"SUBSCRIBE flags 0", pkt(0x80, u16(1) + sub_a), v3, M},
      {"UNSUBSCRIBE flags 0", pkt(0xA0, u16(1) + str("a")), v3, M},
      {"CONNECT flags", pkt(0x11, str("MQTT") + b({4, 2, 0, 60}) + str("a")), v3, M},
      // PUBLISH
      {"PUBLISH QoS 3", pkt(0x36, str("t") + u16(1)), v3, M},
      {"PUBLISH QoS 0 with DUP", pkt(0x38, str("t")), v5, M},
      {"PUBLISH QoS 1 packet id 0", pkt(0x32, str("t") + u16(0)), v3, M},
      {"PUBLISH QoS 2 without packet id", pkt(0x34, str("t")), v3, M},
      {"PUBLISH topic with +", pkt(0x30, str("a/+/b")), v3, rc::kTopicNameInvalid},
      {"PUBLISH topic #", pkt(0x30, str("#") + b({0})), v5, rc::kTopicNameInvalid},
      {"PUBLISH empty topic 3.1.1", pkt(0x30, str("") + "x"), v3, M},
      {"PUBLISH topic overlong UTF-8", pkt(0x30, str("\xC0\x80x")), v3, M},
      {"PUBLISH topic U+0000", pkt(0x30, str(std::string("a\0", 2))), v3, M},
      {"PUBLISH topic surrogate", pkt(0x30, str("\xED\xA0\x80")), v3, M},
      {"PUBLISH topic length past end", pkt(0x30, u16(5) + "a"), v3, M},
      {"PUBLISH v5 without property length", pkt(0x30, str("t")), v5, M},
      {"PUBLISH v5 property length past end", pkt(0x30, str("t") + b({0x05, 0x23, 0x00})), v5, M},
      {"PUBLISH v5 unknown property", pkt(0x30, str("t") + props(b({0x05, 0x00}))), v5, M},
      {"PUBLISH v5 property not allowed", pkt(0x30, str("t") + props(b({0x11, 0, 0, 0, 1}))), v5, P},
      {"PUBLISH v5 duplicate topic alias",
       pkt(0x30, str("t") + props(b({0x23, 0, 1, 0x23, 0, 2}))), v5, P},
      {"PUBLISH v5 payload format 2", pkt(0x30, str("t") + props(b({0x01, 0x02}))), v5, P},
      {"PUBLISH v5 topic alias 0", pkt(0x30, str("t") + props(b({0x23, 0, 0}))), v5,
       rc::kTopicAliasInvalid},
      {"PUBLISH v5 subscription id 0", pkt(0x30, str("t") + props(b({0x0B, 0x00}))), v5, P},
      {"PUBLISH v5 content type bad UTF-8",
       pkt(0x30, str("t") + props(b({0x03}) + str("\xFF"))), v5, M},
      {"PUBLISH v5 user property without value", pkt(0x30, str("t") + props(b({0x26}) + str("k"))),
       v5, M},
      {"PUBLISH v5 response topic with wildcard",
       pkt(0x30, str("t") + props(b({0x08}) + str("r/#"))), v5, P},
      // CONNECT
      {"CONNECT MQTT 3.1 (MQIsdp)", connect("MQIsdp", 3, 0x02, str("a")), v3,
       rc::kUnsupportedProtocolVersion},
      {"CONNECT level 3 with name MQTT", connect("MQTT", 3, 0x02, str("a")), v3,
       rc::kUnsupportedProtocolVersion},
      {"CONNECT level 6", connect("MQTT", 6, 0x02, str("a")), v5, rc::kUnsupportedProtocolVersion},
      {"CONNECT unknown protocol name", connect("MQTX", 4, 0x02, str("a")), v3,
       rc::kUnsupportedProtocolVersion},
      {"CONNECT reserved flag", connect("MQTT", 4, 0x03, str("a")), v3, M},
      {"CONNECT will QoS 3", connect("MQTT", 4, 0x1E, str("a") + str("w") + str("x")), v3, M},
      {"CONNECT will retain without will", connect("MQTT", 5, 0x22, str("a")), v5, M},
      {"CONNECT will QoS without will", connect("MQTT", 4, 0x0A, str("a")), v3, M},
      {"CONNECT 3.1.1 password without user name", connect("MQTT", 4, 0x42, str("a") + str("p")),
       v3, M},
      {"CONNECT 3.1.1 empty client id, no clean session", connect("MQTT", 4, 0x00, str("")), v3,
       rc::kClientIdentifierNotValid},
      {"CONNECT trailing byte", connect("MQTT", 4, 0x02, str("a") + "z"), v3, M},
      {"CONNECT missing user name", connect("MQTT", 4, 0x82, str("a")), v3, M},
      {"CONNECT will topic with wildcard", connect("MQTT", 4, 0x06, str("a") + str("w/+") + str("x")),
       v3, rc::kTopicNameInvalid},
      {"CONNECT client id bad UTF-8", connect("MQTT", 4, 0x02, str("\xC3")), v3, M},
      {"CONNECT v5 receive maximum 0", connect("MQTT", 5, 0x02, str("a"), props(b({0x21, 0, 0}))), v5,
       P},
      {"CONNECT v5 maximum packet size 0",
       connect("MQTT", 5, 0x02, str("a"), props(b({0x27, 0, 0, 0, 0}))), v5, P},
      {"CONNECT v5 request problem information 2",
       connect("MQTT", 5, 0x02, str("a"), props(b({0x17, 2}))), v5, P},
      {"CONNECT v5 authentication data without method",
       connect("MQTT", 5, 0x02, str("a"), props(b({0x16}) + str("d"))), v5, P},
      {"CONNECT v5 duplicate session expiry",
       connect("MQTT", 5, 0x02, str("a"), props(b({0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2}))), v5, P},
      {"CONNECT v5 will property in CONNECT",
       connect("MQTT", 5, 0x02, str("a"), props(b({0x18, 0, 0, 0, 1}))), v5, P},
      // CONNACK
      {"CONNACK 3.1.1 return code 6", b({0x20, 0x02, 0x00, 0x06}), v3, M},
      {"CONNACK reserved flags", b({0x20, 0x02, 0x02, 0x00}), v3, M},
      {"CONNACK v5 without property length", b({0x20, 0x02, 0x00, 0x00}), v5, M},
      {"CONNACK v5 invalid reason", b({0x20, 0x03, 0x00, 0x10, 0x00}), v5, P},
      // acks
      {"PUBACK packet id 0", b({0x40, 0x02, 0x00, 0x00}), v5, M},
      {"PUBACK 3.1.1 with reason code", b({0x40, 0x03, 0x00, 0x01, 0x00}), v3, M},
      {"PUBACK truncated", b({0x40, 0x01, 0x00}), v5, M},
      {"PUBCOMP v5 invalid reason", b({0x70, 0x03, 0x00, 0x01, 0x10}), v5, P},
      {"PUBACK v5 property not allowed", b({0x40, 0x06, 0x00, 0x01, 0x00, 0x02, 0x01, 0x00}), v5, P},
      // SUBSCRIBE
      {"SUBSCRIBE 3.1.1 without topics", pkt(0x82, u16(1)), v3, M},
      {"SUBSCRIBE v5 without topics", pkt(0x82, u16(1) + b({0})), v5, P},
      {"SUBSCRIBE packet id 0", pkt(0x82, u16(0) + sub_a), v3, M},
      {"SUBSCRIBE 3.1.1 reserved option bits", pkt(0x82, u16(1) + str("a") + b({0x04})), v3, M},
      {"SUBSCRIBE 3.1.1 QoS 3", pkt(0x82, u16(1) + str("a") + b({0x03})), v3, M},
      {"SUBSCRIBE v5 reserved option bits", pkt(0x82, u16(1) + b({0}) + str("a") + b({0x40})), v5, M},
      {"SUBSCRIBE v5 retain handling 3", pkt(0x82, u16(1) + b({0}) + str("a") + b({0x30})), v5, P},
      {"SUBSCRIBE v5 QoS 3", pkt(0x82, u16(1) + b({0}) + str("a") + b({0x03})), v5, P},
      {"SUBSCRIBE missing options byte", pkt(0x82, u16(1) + str("a")), v3, M},
      {"SUBSCRIBE filter a#", pkt(0x82, u16(1) + str("a#") + b({0})), v3, rc::kTopicFilterInvalid},
      {"SUBSCRIBE filter #/a", pkt(0x82, u16(1) + str("#/a") + b({0})), v3, rc::kTopicFilterInvalid},
      {"SUBSCRIBE empty filter", pkt(0x82, u16(1) + str("") + b({0})), v3, rc::kTopicFilterInvalid},
      {"SUBSCRIBE v5 shared without filter", pkt(0x82, u16(1) + b({0}) + str("$share/g") + b({0})), v5,
       rc::kTopicFilterInvalid},
      {"SUBSCRIBE v5 shared with empty name",
       pkt(0x82, u16(1) + b({0}) + str("$share//a") + b({0})), v5, rc::kTopicFilterInvalid},
      {"SUBSCRIBE v5 no local on shared",
       pkt(0x82, u16(1) + b({0}) + str("$share/g/a") + b({0x04})), v5, P},
      {"SUBSCRIBE v5 two subscription ids",
       pkt(0x82, u16(1) + props(b({0x0B, 1, 0x0B, 2})) + sub_a), v5, P},
      {"SUBSCRIBE v5 subscription id 0", pkt(0x82, u16(1) + props(b({0x0B, 0})) + sub_a), v5, P},
      {"SUBSCRIBE v5 topic alias property", pkt(0x82, u16(1) + props(b({0x23, 0, 1})) + sub_a), v5, P},
      // SUBACK / UNSUBSCRIBE / UNSUBACK
      {"SUBACK 3.1.1 return code 3", pkt(0x90, u16(1) + b({0x03})), v3, M},
      {"SUBACK without codes", pkt(0x90, u16(1)), v3, M},
      {"SUBACK v5 invalid reason", pkt(0x90, u16(1) + b({0, 0x11})), v5, P},
      {"UNSUBSCRIBE 3.1.1 without topics", pkt(0xA2, u16(1)), v3, M},
      {"UNSUBSCRIBE v5 without topics", pkt(0xA2, u16(1) + b({0})), v5, P},
      {"UNSUBSCRIBE packet id 0", pkt(0xA2, u16(0) + str("a")), v3, M},
      {"UNSUBSCRIBE filter +a", pkt(0xA2, u16(1) + str("+a")), v3, rc::kTopicFilterInvalid},
      {"UNSUBACK 3.1.1 with payload", pkt(0xB0, u16(1) + b({0})), v3, M},
      {"UNSUBACK v5 invalid reason", pkt(0xB0, u16(1) + b({0, 0x01})), v5, P},
      // DISCONNECT / AUTH
      {"DISCONNECT 3.1.1 with body", b({0xE0, 0x01, 0x00}), v3, M},
      {"DISCONNECT v5 invalid reason", b({0xE0, 0x01, 0x05}), v5, P},
      {"DISCONNECT v5 property not allowed", b({0xE0, 0x04, 0x00, 0x02, 0x23, 0x00}), v5, P},
      {"DISCONNECT v5 bytes after properties", b({0xE0, 0x03, 0x00, 0x00, 0x00}), v5, M},
      {"AUTH in 3.1.1", b({0xF0, 0x00}), v3, M},
      {"AUTH v5 invalid reason", b({0xF0, 0x01, 0x01}), v5, P},
      {"AUTH flags", b({0xF1, 0x00}), v5, M},
  };
}

TEST(CodecDecode, MalformedPacketsGiveTheirReasonCode) {
  const auto table = bad_packets();
  EXPECT_GE(table.size(), 30u);
  for (const auto& row : table) {
    auto d = decoded(row.wire, row.v);
    EXPECT_FALSE(d.ok) << row.name << ": " << hex(row.wire);
    EXPECT_EQ(int(d.err.reason), int(row.reason)) << row.name << ": " << d.err.message;
    EXPECT_FALSE(d.err.message.empty()) << row.name;
  }
}

TEST(CodecDecode, ConnectVersionOfABrokenConnect) {
  // The broker answers a CONNECT that fails to decode in the client's version.
  auto bad311 = connect("MQTT", 4, 0x00, str(""));  // rejected: client id
  auto bad5 = connect("MQTT", 5, 0x02, str("a"), props(b({0x21, 0, 0})));  // receive maximum 0
  EXPECT_FALSE(decoded(bad311, Version::v5).ok);
  EXPECT_EQ(connect_version(as_bytes(bad311)), Version::v311);
  EXPECT_EQ(connect_version(as_bytes(bad5)), Version::v5);
  EXPECT_EQ(connect_version(as_bytes(connect("MQIsdp", 3, 0x02, str("a")))), std::nullopt);
  EXPECT_EQ(connect_version(as_bytes(connect("MQTT", 6, 0x02, str("a")))), std::nullopt);
  EXPECT_EQ(connect_version(as_bytes(b({0x10, 0x03, 0x00, 0x04, 'M'}))), std::nullopt);
  EXPECT_EQ(connect_version(as_bytes(b({0xC0, 0x00}))), std::nullopt);
  EXPECT_EQ(connect_version({}), std::nullopt);
}

TEST(CodecDecode, EveryTruncationOfAValidPacketIsRefused) {
  // Cutting a valid packet anywhere (and fixing up its length) never decodes
  // to something that reads past the end; the fuzz target checks more.
  Publish p;
  p.topic = "a/b";
  p.qos = 1;
  p.packet_id = 1;
  p.props.user_properties = {{"k", "v"}};
  p.props.correlation_data = "cd";
  const std::string full = encoded(p, Version::v5);
  const std::string body = full.substr(2);
  // Cutting inside the topic, packet id or property block fails; cutting
  // after the properties leaves a (shorter) valid payload.
  const size_t props_end = 2 + 3 + 2 + 1 + (1 + 2 + 1 + 2 + 1) + (1 + 2 + 2);
  for (size_t n = 0; n < props_end; ++n) {
    auto d = decoded(pkt(0x32, body.substr(0, n)), Version::v5);
    EXPECT_FALSE(d.ok) << n;
    EXPECT_EQ(d.err.reason, rc::kMalformedPacket) << n;
  }
  EXPECT_TRUE(decoded(pkt(0x32, body.substr(0, props_end)), Version::v5).ok);
}

}  // namespace
}  // namespace urbis::mqtt
