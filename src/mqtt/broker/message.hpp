// An application message as the broker routes it: immutable once built and
// shared by every subscriber it is delivered to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mqtt/codec/packet.hpp"

namespace urbis::mqtt {

struct Message {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;      // QoS it was published with
  bool retain = false;  // RETAIN flag as published
  Properties props;     // forwarded properties (topic alias and subscription ids removed)
  int64_t expiry_unix_ms = 0;  // 0 = never expires
  std::string origin_client;   // for no-local
};

using MessagePtr = std::shared_ptr<const Message>;

// Options of one subscription, as the topic tree stores them.
struct SubOptions {
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  // 0 = none
};

}  // namespace urbis::mqtt
