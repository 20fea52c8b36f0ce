// MQTT 3.1.1 and 5.0 packets as plain values.
//
// This header is the codec's public surface together with codec.hpp. Packets are
// decoded from and encoded to the wire by codec.cpp; nothing here does I/O.
// A packet value is version-neutral: fields that exist only in MQTT 5 (reason
// codes on acks, properties) are ignored when encoding for 3.1.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace urbis::mqtt {

// Protocol level byte of CONNECT.
enum class Version : uint8_t { v311 = 4, v5 = 5 };

enum class PacketType : uint8_t {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Pubrec = 5,
  Pubrel = 6,
  Pubcomp = 7,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Unsuback = 11,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
  Auth = 15,
};

// MQTT 5 reason codes (OASIS MQTT 5.0, 2.4). 3.1.1 CONNACK return codes are
// mapped from these by the encoder (see codec.cpp).
namespace rc {
inline constexpr uint8_t kSuccess = 0x00;  // also Normal disconnection, Granted QoS 0
inline constexpr uint8_t kGrantedQos1 = 0x01;
inline constexpr uint8_t kGrantedQos2 = 0x02;
inline constexpr uint8_t kDisconnectWithWill = 0x04;
inline constexpr uint8_t kNoMatchingSubscribers = 0x10;
inline constexpr uint8_t kNoSubscriptionExisted = 0x11;
inline constexpr uint8_t kContinueAuthentication = 0x18;
inline constexpr uint8_t kReAuthenticate = 0x19;
inline constexpr uint8_t kUnspecifiedError = 0x80;
inline constexpr uint8_t kMalformedPacket = 0x81;
inline constexpr uint8_t kProtocolError = 0x82;
inline constexpr uint8_t kImplementationSpecificError = 0x83;
inline constexpr uint8_t kUnsupportedProtocolVersion = 0x84;
inline constexpr uint8_t kClientIdentifierNotValid = 0x85;
inline constexpr uint8_t kBadUserNameOrPassword = 0x86;
inline constexpr uint8_t kNotAuthorized = 0x87;
inline constexpr uint8_t kServerUnavailable = 0x88;
inline constexpr uint8_t kServerBusy = 0x89;
inline constexpr uint8_t kBanned = 0x8A;
inline constexpr uint8_t kServerShuttingDown = 0x8B;
inline constexpr uint8_t kBadAuthenticationMethod = 0x8C;
inline constexpr uint8_t kKeepAliveTimeout = 0x8D;
inline constexpr uint8_t kSessionTakenOver = 0x8E;
inline constexpr uint8_t kTopicFilterInvalid = 0x8F;
inline constexpr uint8_t kTopicNameInvalid = 0x90;
inline constexpr uint8_t kPacketIdentifierInUse = 0x91;
inline constexpr uint8_t kPacketIdentifierNotFound = 0x92;
inline constexpr uint8_t kReceiveMaximumExceeded = 0x93;
inline constexpr uint8_t kTopicAliasInvalid = 0x94;
inline constexpr uint8_t kPacketTooLarge = 0x95;
inline constexpr uint8_t kMessageRateTooHigh = 0x96;
inline constexpr uint8_t kQuotaExceeded = 0x97;
inline constexpr uint8_t kAdministrativeAction = 0x98;
inline constexpr uint8_t kPayloadFormatInvalid = 0x99;
inline constexpr uint8_t kRetainNotSupported = 0x9A;
inline constexpr uint8_t kQosNotSupported = 0x9B;
inline constexpr uint8_t kUseAnotherServer = 0x9C;
inline constexpr uint8_t kServerMoved = 0x9D;
inline constexpr uint8_t kSharedSubscriptionsNotSupported = 0x9E;
inline constexpr uint8_t kConnectionRateExceeded = 0x9F;
inline constexpr uint8_t kMaximumConnectTime = 0xA0;
inline constexpr uint8_t kSubscriptionIdentifiersNotSupported = 0xA1;
inline constexpr uint8_t kWildcardSubscriptionsNotSupported = 0xA2;
}  // namespace rc

// MQTT 5 properties (OASIS MQTT 5.0, 2.2.2.2). Absent optionals are not encoded.
// Which properties a packet may carry is checked by the decoder; a property that
// is not allowed in a packet, or appears twice where that is forbidden, is a
// Protocol Error (0x82).
struct Properties {
  std::optional<uint8_t> payload_format_indicator;      // 0x01
  std::optional<uint32_t> message_expiry_interval;      // 0x02
  std::optional<std::string> content_type;              // 0x03
  std::optional<std::string> response_topic;            // 0x08
  std::optional<std::string> correlation_data;          // 0x09 (binary)
  std::vector<uint32_t> subscription_identifiers;       // 0x0B (repeats in PUBLISH)
  std::optional<uint32_t> session_expiry_interval;      // 0x11
  std::optional<std::string> assigned_client_identifier;  // 0x12
  std::optional<uint16_t> server_keep_alive;            // 0x13
  std::optional<std::string> authentication_method;     // 0x15
  std::optional<std::string> authentication_data;       // 0x16 (binary)
  std::optional<uint8_t> request_problem_information;   // 0x17
  std::optional<uint32_t> will_delay_interval;          // 0x18
  std::optional<uint8_t> request_response_information;  // 0x19
  std::optional<std::string> response_information;      // 0x1A
  std::optional<std::string> server_reference;          // 0x1C
  std::optional<std::string> reason_string;             // 0x1F
  std::optional<uint16_t> receive_maximum;              // 0x21
  std::optional<uint16_t> topic_alias_maximum;          // 0x22
  std::optional<uint16_t> topic_alias;                  // 0x23
  std::optional<uint8_t> maximum_qos;                   // 0x24
  std::optional<uint8_t> retain_available;              // 0x25
  std::vector<std::pair<std::string, std::string>> user_properties;  // 0x26 (repeats)
  std::optional<uint32_t> maximum_packet_size;          // 0x27
  std::optional<uint8_t> wildcard_subscription_available;     // 0x28
  std::optional<uint8_t> subscription_identifiers_available;  // 0x29
  std::optional<uint8_t> shared_subscription_available;       // 0x2A

  bool operator==(const Properties&) const = default;
};

struct Will {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties props;  // will properties (MQTT 5)
  bool operator==(const Will&) const = default;
};

struct Connect {
  Version version = Version::v5;
  bool clean_start = true;  // "clean session" in 3.1.1
  uint16_t keep_alive = 60;  // seconds; 0 disables
  std::string client_id;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary
  Properties props;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  bool session_present = false;
  uint8_t reason = rc::kSuccess;  // MQTT 5 reason code; mapped for 3.1.1
  Properties props;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  std::string topic;  // may be empty in MQTT 5 when a topic alias is set
  uint16_t packet_id = 0;  // only for qos > 0
  Properties props;
  std::string payload;
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape.
struct Ack {
  PacketType type = PacketType::Puback;  // one of Puback, Pubrec, Pubrel, Pubcomp
  uint16_t packet_id = 0;
  uint8_t reason = rc::kSuccess;
  Properties props;
  bool operator==(const Ack&) const = default;
};

struct SubscribeTopic {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false;             // MQTT 5
  bool retain_as_published = false;  // MQTT 5
  uint8_t retain_handling = 0;       // MQTT 5: 0 send, 1 send if new, 2 never
  bool operator==(const SubscribeTopic&) const = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  Properties props;
  std::vector<SubscribeTopic> topics;  // at least one
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  uint16_t packet_id = 0;
  Properties props;
  std::vector<uint8_t> reasons;  // one per topic; 3.1.1 failures are encoded as 0x80
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  Properties props;
  std::vector<std::string> filters;  // at least one
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  uint16_t packet_id = 0;
  Properties props;
  std::vector<uint8_t> reasons;  // MQTT 5 only; not encoded for 3.1.1
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
  bool operator==(const Pingreq&) const = default;
};
struct Pingresp {
  bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
  uint8_t reason = rc::kSuccess;
  Properties props;
  bool operator==(const Disconnect&) const = default;
};

struct Auth {
  uint8_t reason = rc::kSuccess;
  Properties props;
  bool operator==(const Auth&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, Ack, Subscribe, Suback, Unsubscribe, Unsuback,
                            Pingreq, Pingresp, Disconnect, Auth>;

PacketType type_of(const Packet& p);
const char* name_of(PacketType t);

}  // namespace urbis::mqtt
