// Round trips: every packet type, both versions, with the properties each
// packet may carry. encode -> frame -> decode must give back the same value and
// encoded_size() must equal the bytes encode() wrote.
#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace urbis::mqtt {
namespace {

using testing::as_bytes;
using testing::hex;

struct Case {
  const char* name;
  Packet packet;
};

Properties user_props() {
  Properties p;
  p.user_properties = {{"site", "north"}, {"site", "south"}, {"", ""}, {"ünï", "cödé"}};
  return p;
}

Will full_will() {
  Will w;
  w.topic = "city/dev/42/status";
  w.payload = std::string("off\0line", 8);
  w.qos = 2;
  w.retain = true;
  w.props.will_delay_interval = 30;
  w.props.payload_format_indicator = 1;
  w.props.message_expiry_interval = 3600;
  w.props.content_type = "text/plain";
  w.props.response_topic = "city/dev/42/reply";
  w.props.correlation_data = std::string("\x00\xff\x01", 3);
  w.props.user_properties = {{"k", "v"}};
  return w;
}

std::vector<Case> v5_cases() {
  std::vector<Case> c;
  {
    Connect p;
    p.client_id = "sensor-0001";
    c.push_back({"connect_minimal", p});
    p.clean_start = false;
    p.keep_alive = 0;
    p.will = full_will();
    p.username = "dev";
    p.password = std::string("s3\0cr", 5);
    p.props = user_props();
    p.props.session_expiry_interval = 0xFFFFFFFF;
    p.props.receive_maximum = 100;
    p.props.maximum_packet_size = 1 << 20;
    p.props.topic_alias_maximum = 10;
    p.props.request_response_information = 1;
    p.props.request_problem_information = 0;
    p.props.authentication_method = "SCRAM-SHA-1";
    p.props.authentication_data = std::string("\x01\x02", 2);
    c.push_back({"connect_full", p});
    Connect q;
    q.client_id = "";
    q.password = "only-password";  // allowed without user name in MQTT 5
    c.push_back({"connect_password_only", q});
  }
  {
    Connack p;
    c.push_back({"connack_minimal", p});
    p.session_present = true;
    p.props = user_props();
    p.props.session_expiry_interval = 10;
    p.props.receive_maximum = 20;
    p.props.maximum_qos = 1;
    p.props.retain_available = 0;
    p.props.maximum_packet_size = 4096;
    p.props.assigned_client_identifier = "auto-1";
    p.props.topic_alias_maximum = 5;
    p.props.reason_string = "welcome";
    p.props.wildcard_subscription_available = 1;
    p.props.subscription_identifiers_available = 0;
    p.props.shared_subscription_available = 1;
    p.props.server_keep_alive = 120;
    p.props.response_information = "resp/";
    p.props.server_reference = "other:1883";
    p.props.authentication_method = "SCRAM-SHA-1";
    p.props.authentication_data = "xyz";
    c.push_back({"connack_full", p});
    Connack f;
    f.reason = rc::kBadUserNameOrPassword;
    c.push_back({"connack_failure", f});
  }
  {
    Publish p;
    p.topic = "city/air/no2";
    p.payload = "{\"v\":21.5}";
    c.push_back({"publish_qos0", p});
    p.qos = 1;
    p.packet_id = 1;
    p.retain = true;
    c.push_back({"publish_qos1_retain", p});
    p.qos = 2;
    p.packet_id = 65535;
    p.dup = true;
    p.retain = false;
    p.payload = "";
    c.push_back({"publish_qos2_dup_empty_payload", p});
    Publish q;
    q.topic = "";  // topic alias in use
    q.qos = 1;
    q.packet_id = 7;
    q.props = user_props();
    q.props.topic_alias = 3;
    q.props.payload_format_indicator = 1;
    q.props.message_expiry_interval = 60;
    q.props.content_type = "application/json";
    q.props.response_topic = "r/1";
    q.props.correlation_data = std::string(1, '\0');
    q.props.subscription_identifiers = {1, 127, 128, 16383, 16384, 268435455};
    q.payload = std::string(300, 'x');  // two-byte remaining length
    c.push_back({"publish_alias_all_props", q});
  }
  for (PacketType t : {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel,
                       PacketType::Pubcomp}) {
    Ack a;
    a.type = t;
    a.packet_id = 0x1234;
    c.push_back({"ack_short", a});
    a.reason = (t == PacketType::Pubrel || t == PacketType::Pubcomp) ? rc::kPacketIdentifierNotFound
                                                                      : rc::kNoMatchingSubscribers;
    c.push_back({"ack_reason_only", a});
    a.props = user_props();
    a.props.reason_string = "why";
    c.push_back({"ack_reason_props", a});
    a.reason = rc::kSuccess;
    c.push_back({"ack_success_props", a});
  }
  {
    Subscribe s;
    s.packet_id = 10;
    s.topics = {{"city/+/temp", 0, false, false, 0},
                {"city/#", 1, true, true, 2},
                {"$share/g1/city/+/air", 2, false, true, 1},
                {"#", 2, false, false, 0}};
    c.push_back({"subscribe", s});
    s.props = user_props();
    s.props.subscription_identifiers = {268435455};
    c.push_back({"subscribe_props", s});
  }
  {
    Suback s;
    s.packet_id = 10;
    s.reasons = {0, 1, 2, rc::kNotAuthorized, rc::kTopicFilterInvalid,
                 rc::kSharedSubscriptionsNotSupported, rc::kWildcardSubscriptionsNotSupported};
    c.push_back({"suback", s});
    s.props = user_props();
    s.props.reason_string = "partly";
    c.push_back({"suback_props", s});
  }
  {
    Unsubscribe u;
    u.packet_id = 11;
    u.filters = {"city/+/temp", "a//b", "/"};
    c.push_back({"unsubscribe", u});
    u.props = user_props();
    c.push_back({"unsubscribe_props", u});
  }
  {
    Unsuback u;
    u.packet_id = 11;
    u.reasons = {0, rc::kNoSubscriptionExisted, rc::kNotAuthorized};
    c.push_back({"unsuback", u});
    u.props = user_props();
    u.props.reason_string = "done";
    c.push_back({"unsuback_props", u});
  }
  c.push_back({"pingreq", Pingreq{}});
  c.push_back({"pingresp", Pingresp{}});
  {
    Disconnect d;
    c.push_back({"disconnect_normal", d});
    d.reason = rc::kDisconnectWithWill;
    c.push_back({"disconnect_reason", d});
    d.reason = rc::kServerMoved;
    d.props = user_props();
    d.props.session_expiry_interval = 0;
    d.props.reason_string = "moved";
    d.props.server_reference = "b:1883";
    c.push_back({"disconnect_props", d});
  }
  {
    Auth a;
    c.push_back({"auth_success", a});
    a.reason = rc::kContinueAuthentication;
    c.push_back({"auth_continue", a});
    a.reason = rc::kReAuthenticate;
    a.props = user_props();
    a.props.authentication_method = "SCRAM-SHA-1";
    a.props.authentication_data = std::string("\0\1\2", 3);
    a.props.reason_string = "again";
    c.push_back({"auth_props", a});
  }
  return c;
}

// Packets that carry nothing MQTT 5-only, so 3.1.1 round-trips them exactly.
std::vector<Case> v311_cases() {
  std::vector<Case> c;
  {
    Connect p;
    p.version = Version::v311;
    p.client_id = "sensor-0001";
    c.push_back({"connect_minimal", p});
    p.clean_start = false;
    p.keep_alive = 65535;
    Will w;
    w.topic = "dev/1/lwt";
    w.payload = "gone";
    w.qos = 1;
    w.retain = true;
    p.will = w;
    p.username = "user";
    p.password = std::string("p\0w", 3);
    c.push_back({"connect_full", p});
    Connect q;
    q.version = Version::v311;
    q.username = "only-user";
    c.push_back({"connect_user_only_empty_id", q});
  }
  for (uint8_t r : {rc::kSuccess, rc::kUnsupportedProtocolVersion, rc::kClientIdentifierNotValid,
                    rc::kServerUnavailable, rc::kBadUserNameOrPassword, rc::kNotAuthorized}) {
    Connack a;
    a.reason = r;
    a.session_present = r == 0;
    c.push_back({"connack", a});
  }
  {
    Publish p;
    p.topic = "a/b";
    p.payload = "1";
    c.push_back({"publish_qos0", p});
    p.qos = 2;
    p.packet_id = 9;
    p.dup = true;
    p.retain = true;
    p.payload = std::string(20000, '\xAB');  // three-byte remaining length
    c.push_back({"publish_qos2_big", p});
  }
  for (PacketType t : {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel,
                       PacketType::Pubcomp}) {
    Ack a;
    a.type = t;
    a.packet_id = 1;
    c.push_back({"ack", a});
  }
  {
    Subscribe s;
    s.packet_id = 1;
    s.topics = {{"a/+", 0}, {"b/#", 1}, {"$share/x/y", 2}};
    c.push_back({"subscribe", s});
    Suback a;
    a.packet_id = 1;
    a.reasons = {0, 1, 2, 0x80};
    c.push_back({"suback", a});
    Unsubscribe u;
    u.packet_id = 2;
    u.filters = {"a/+", "b/#"};
    c.push_back({"unsubscribe", u});
    Unsuback ua;
    ua.packet_id = 2;
    c.push_back({"unsuback", ua});
  }
  c.push_back({"pingreq", Pingreq{}});
  c.push_back({"pingresp", Pingresp{}});
  c.push_back({"disconnect", Disconnect{}});
  return c;
}

void expect_round_trip(const Case& c, Version v) {
  SCOPED_TRACE(c.name);
  std::string wire;
  encode(c.packet, v, wire);
  EXPECT_EQ(wire.size(), encoded_size(c.packet, v));

  Frame f = frame(as_bytes(wire), wire.size());
  ASSERT_EQ(f.state, Frame::State::kComplete) << hex(wire);
  EXPECT_EQ(f.total(), wire.size());
  EXPECT_EQ(frame(as_bytes(wire), wire.size() - 1).state, Frame::State::kTooLarge);
  if (wire.size() > 2) {
    EXPECT_EQ(frame(as_bytes(wire).first(wire.size() - 1), 1 << 20).state,
              Frame::State::kIncomplete);
  }

  Packet out;
  DecodeError err;
  ASSERT_TRUE(decode(as_bytes(wire), v, out, err)) << err.message << ": " << hex(wire);
  EXPECT_EQ(type_of(out), type_of(c.packet));
  EXPECT_TRUE(out == c.packet) << hex(wire);

  // Encoding appends: a second packet after the first decodes too.
  std::string two = wire;
  encode(c.packet, v, two);
  EXPECT_EQ(two.size(), 2 * wire.size());
  EXPECT_EQ(two.substr(wire.size()), wire);
}

TEST(CodecRoundTrip, EveryPacketTypeV5) {
  auto cases = v5_cases();
  for (const auto& c : cases) expect_round_trip(c, Version::v5);
  // All 15 control packet types are covered.
  std::vector<bool> seen(16);
  for (const auto& c : cases) seen[static_cast<int>(type_of(c.packet))] = true;
  for (int t = 1; t <= 15; ++t) EXPECT_TRUE(seen[t]) << name_of(static_cast<PacketType>(t));
}

TEST(CodecRoundTrip, EveryPacketTypeV311) {
  auto cases = v311_cases();
  for (const auto& c : cases) expect_round_trip(c, Version::v311);
  std::vector<bool> seen(16);
  for (const auto& c : cases) seen[static_cast<int>(type_of(c.packet))] = true;
  for (int t = 1; t <= 14; ++t) EXPECT_TRUE(seen[t]) << name_of(static_cast<PacketType>(t));
}

TEST(CodecRoundTrip, DecodeReusesPublishBuffers) {
  Publish a;
  a.topic = "t/1";
  a.qos = 1;
  a.packet_id = 5;
  a.props.user_properties = {{"a", "b"}};
  a.payload = "first";
  Publish b;
  b.topic = "t/2";
  b.payload = "second, longer";
  Packet out;
  DecodeError err;
  std::string w1 = testing::encoded(a, Version::v5), w2 = testing::encoded(b, Version::v5);
  ASSERT_TRUE(decode(as_bytes(w1), Version::v5, out, err));
  EXPECT_TRUE(out == Packet(a));
  // Decoding into a Packet that already holds a Publish must not leak any of
  // the old fields (properties, packet id) into the new one.
  ASSERT_TRUE(decode(as_bytes(w2), Version::v5, out, err));
  EXPECT_TRUE(out == Packet(b));
}

TEST(CodecRoundTrip, V5OnlyFieldsAreDroppedFor311) {
  // A 3.1.1 peer gets no properties and no ack reason codes.
  Ack a;
  a.type = PacketType::Puback;
  a.packet_id = 3;
  a.reason = rc::kNotAuthorized;
  a.props.reason_string = "no";
  EXPECT_EQ(testing::encoded(a, Version::v311), testing::bytes({0x40, 0x02, 0x00, 0x03}));

  Disconnect d;
  d.reason = rc::kServerShuttingDown;
  d.props.reason_string = "bye";
  EXPECT_EQ(testing::encoded(d, Version::v311), testing::bytes({0xE0, 0x00}));

  Unsuback u;
  u.packet_id = 4;
  u.reasons = {0, 0x11};
  u.props.reason_string = "x";
  EXPECT_EQ(testing::encoded(u, Version::v311), testing::bytes({0xB0, 0x02, 0x00, 0x04}));

  Publish p;
  p.topic = "t";
  p.props.message_expiry_interval = 5;
  p.payload = "x";
  EXPECT_EQ(testing::encoded(p, Version::v311), testing::bytes({0x30, 0x04, 0x00, 0x01, 't', 'x'}));
}

TEST(CodecRoundTrip, ConnackReasonCodesMapTo311ReturnCodes) {
  struct {
    uint8_t reason;
    uint8_t code;
  } const table[] = {
      {rc::kSuccess, 0},
      {rc::kUnsupportedProtocolVersion, 1},
      {rc::kClientIdentifierNotValid, 2},
      {rc::kServerUnavailable, 3},
      {rc::kServerBusy, 3},
      {rc::kBadUserNameOrPassword, 4},
      {rc::kNotAuthorized, 5},
      {rc::kBanned, 5},
      {rc::kBadAuthenticationMethod, 5},
      {rc::kUnspecifiedError, 3},
      {rc::kMalformedPacket, 3},
      {rc::kQuotaExceeded, 3},
      {rc::kConnectionRateExceeded, 3},
  };
  for (const auto& row : table) {
    Connack c;
    c.reason = row.reason;
    EXPECT_EQ(testing::encoded(c, Version::v311), testing::bytes({0x20, 0x02, 0x00, row.code}))
        << int(row.reason);
  }
}

TEST(CodecRoundTrip, SubackFailuresMapTo0x80For311) {
  Suback s;
  s.packet_id = 1;
  s.reasons = {0, 1, 2, rc::kNotAuthorized, rc::kTopicFilterInvalid, rc::kQuotaExceeded};
  EXPECT_EQ(testing::encoded(s, Version::v311),
            testing::bytes({0x90, 0x08, 0x00, 0x01, 0x00, 0x01, 0x02, 0x80, 0x80, 0x80}));
}

TEST(CodecRoundTrip, PropertiesInAnyOrderAreReencodedInIdOrder) {
  // user property, topic alias, user property, subscription ids 2 then 1
  const std::string wire = testing::bytes({0x30, 0x18, 0x00, 0x01, 't', 0x14,
                                           0x26, 0x00, 0x01, 'a', 0x00, 0x01, '1',
                                           0x23, 0x00, 0x05,
                                           0x26, 0x00, 0x01, 'b', 0x00, 0x00,
                                           0x0B, 0x02, 0x0B, 0x01});
  auto d = testing::decoded(wire, Version::v5);
  ASSERT_TRUE(d.ok) << d.err.message;
  const Publish& p = std::get<Publish>(d.packet);
  EXPECT_EQ(p.props.topic_alias, 5);
  EXPECT_EQ(p.props.subscription_identifiers, (std::vector<uint32_t>{2, 1}));
  ASSERT_EQ(p.props.user_properties.size(), 2u);
  EXPECT_EQ(p.props.user_properties[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(p.props.user_properties[1], (std::pair<std::string, std::string>{"b", ""}));
  EXPECT_TRUE(p.payload.empty());
  // Canonical order: 0x0B (both, in order), 0x23, then 0x26 (both, in order).
  EXPECT_EQ(hex(testing::encoded(p, Version::v5)),
            hex(testing::bytes({0x30, 0x18, 0x00, 0x01, 't', 0x14, 0x0B, 0x02, 0x0B, 0x01,
                                0x23, 0x00, 0x05, 0x26, 0x00, 0x01, 'a', 0x00, 0x01, '1',
                                0x26, 0x00, 0x01, 'b', 0x00, 0x00})));
}

TEST(CodecRoundTrip, StandalonePropertyBlock) {
  Properties p = user_props();
  p.payload_format_indicator = 1;
  p.message_expiry_interval = 1;
  p.content_type = "c";
  p.response_topic = "r";
  p.correlation_data = std::string("\0", 1);
  p.subscription_identifiers = {1, 2, 300};
  p.session_expiry_interval = 2;
  p.assigned_client_identifier = "a";
  p.server_keep_alive = 3;
  p.authentication_method = "m";
  p.authentication_data = "d";
  p.request_problem_information = 1;
  p.will_delay_interval = 4;
  p.request_response_information = 0;
  p.response_information = "i";
  p.server_reference = "s";
  p.reason_string = "why";
  p.receive_maximum = 5;
  p.topic_alias_maximum = 6;
  p.topic_alias = 7;
  p.maximum_qos = 0;
  p.retain_available = 1;
  p.maximum_packet_size = 8;
  p.wildcard_subscription_available = 1;
  p.subscription_identifiers_available = 1;
  p.shared_subscription_available = 0;
  std::string block;
  encode_properties(p, block);
  Properties back;
  DecodeError err;
  ASSERT_TRUE(decode_properties(as_bytes(block), back, err)) << err.message;
  EXPECT_TRUE(back == p);

  std::string empty;
  encode_properties(Properties{}, empty);
  EXPECT_EQ(empty, std::string(1, '\0'));
  ASSERT_TRUE(decode_properties(as_bytes(empty), back, err));
  EXPECT_TRUE(back == Properties{});

  // A byte after the block, or a block cut short, is refused.
  block.push_back('\0');
  EXPECT_FALSE(decode_properties(as_bytes(block), back, err));
  EXPECT_EQ(err.reason, rc::kMalformedPacket);
  block.resize(block.size() - 2);
  EXPECT_FALSE(decode_properties(as_bytes(block), back, err));
  EXPECT_EQ(err.reason, rc::kMalformedPacket);
}

}  // namespace
}  // namespace urbis::mqtt
