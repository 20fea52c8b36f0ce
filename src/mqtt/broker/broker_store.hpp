// What the broker keeps across restarts, behind an interface.
//
// The broker calls these from its I/O threads; an implementation queues the
// change and returns at once (group commit happens on its own writer thread),
// so a slow disk never stalls message routing. Changes are applied in the
// order they were submitted. flush() waits until every submitted change is
// durable. Thread-safe.
//
// The SQLite implementation is storage/sqlite/broker_store_sqlite.hpp; tests
// use MemoryBrokerStore (broker/memory_broker_store.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "mqtt/codec/packet.hpp"

namespace urbis::mqtt {

struct StoredMessage {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties props;             // MQTT 5 properties of the PUBLISH (as received)
  int64_t expiry_unix_ms = 0;   // absolute message expiry; 0 = never
  bool operator==(const StoredMessage&) const = default;
};

struct StoredSubscription {
  std::string filter;  // as subscribed, including a "$share/<group>/" prefix
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  // 0 = none
  bool operator==(const StoredSubscription&) const = default;
};

// A message waiting for a client: queued while offline, or sent and not yet
// acknowledged (packet_id != 0).
struct StoredQueuedMessage {
  uint64_t seq = 0;        // per-session order; assigned by the broker, increasing
  uint16_t packet_id = 0;  // 0 while not yet sent
  bool pubrel_sent = false;  // QoS 2 outbound: PUBREC received, PUBREL sent
  StoredMessage msg;       // qos here is the delivery QoS (min of publish and subscription)
  std::vector<uint32_t> subscription_ids;
  bool operator==(const StoredQueuedMessage&) const = default;
};

struct StoredSession {
  std::string client_id;
  uint8_t protocol_version = 5;     // 4 = 3.1.1, 5 = 5.0
  uint32_t expiry_interval = 0;     // seconds after disconnect; 0xFFFFFFFF = never
  int64_t disconnected_unix_ms = 0; // 0 = was connected when last written
  std::vector<StoredSubscription> subscriptions;
  std::vector<StoredQueuedMessage> queue;  // filled by load(); written via enqueue()
  bool operator==(const StoredSession&) const = default;
};

struct BrokerSnapshot {
  std::vector<StoredMessage> retained;
  std::vector<StoredSession> sessions;
};

class BrokerStore {
 public:
  virtual ~BrokerStore() = default;

  // Reads everything stored. Called once at start-up before any change.
  virtual Result<BrokerSnapshot> load() = 0;

  // Retained messages, keyed by topic. put replaces.
  virtual void put_retained(const StoredMessage& msg) = 0;
  virtual void erase_retained(const std::string& topic) = 0;

  // Session metadata (not subscriptions or queue). put replaces.
  virtual void put_session(const StoredSession& session) = 0;
  // Removes the session with its subscriptions and queue.
  virtual void erase_session(const std::string& client_id) = 0;

  // Subscriptions, keyed by (client_id, filter). put replaces.
  virtual void put_subscription(const std::string& client_id, const StoredSubscription& sub) = 0;
  virtual void erase_subscription(const std::string& client_id, const std::string& filter) = 0;

  // Queued / inflight messages of persistent sessions, keyed by (client_id, seq).
  // put replaces (used to record packet_id / pubrel_sent changes).
  virtual void put_queued(const std::string& client_id, const StoredQueuedMessage& m) = 0;
  virtual void erase_queued(const std::string& client_id, uint64_t seq) = 0;

  // Calls `done` once every change submitted before this call is durable, or
  // with an error when the store could not make it so. Never blocks. `done`
  // runs on the store's own thread (or inline); it must be quick and must not
  // call back into the store. This is how the broker acknowledges a QoS 1/2
  // PUBLISH only after what it changed is on disk.
  virtual void when_durable(std::function<void(const Status&)> done) = 0;

  // Blocks until every change submitted before the call is durable.
  [[nodiscard]] virtual Status flush() = 0;

  // Health of the writer: not ok after an I/O error (e.g. disk full); the
  // broker keeps serving from memory and reports it in $SYS and the logs.
  virtual Status health() const = 0;
};

}  // namespace urbis::mqtt
