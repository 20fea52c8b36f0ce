// The seam between the broker and the data path: topics that carry
// measurements.
//
// For a PUBLISH whose topic the sink wants, the broker routes the message to
// subscribers as usual and also hands it to the sink, which decodes and
// stores it. A QoS 1/2 PUBLISH is acknowledged only after the sink reports the
// data committed (the durability promise in ARCHITECTURE.md); QoS 0 is stored
// too, without that promise. The device registry (issue: devices) provides the
// real sink; until then the app wires a prefix-based one.
#pragma once

#include <functional>
#include <string_view>

#include "common/status.hpp"
#include "mqtt/broker/auth.hpp"
#include "mqtt/broker/message.hpp"

namespace urbis::mqtt {

class IngestSink {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~IngestSink() = default;

  // Cheap check on the hot path: is this a measurement topic? Thread-safe.
  virtual bool wants(std::string_view topic) const = 0;

  // Decodes and stores `msg` from `who`. `done` runs exactly once, on any
  // thread, after the commit; with kInvalidArgument when the payload does not
  // decode (the publisher gets reason 0x99), kPermissionDenied or kNotFound
  // when the sender may not send it (0x87; both acknowledged under MQTT
  // 3.1.1, where resending cannot help), or another error when storing
  // failed (0x80, or a closed connection for MQTT 3.1.1 so the client resends).
  // Thread-safe; must not block the calling I/O thread.
  virtual void ingest(const ClientIdentity& who, const MessagePtr& msg, Done done) = 0;
};

}  // namespace urbis::mqtt
