// MemoryBrokerStore: the BrokerStore interface kept in memory.
//
// For broker unit tests (and a broker run without persistence). Changes apply
// at once, so flush() has nothing to wait for. It behaves like the SQLite store
// where a test could tell the difference: put replaces, erase_session drops the
// session's subscriptions and queue, load() returns rows sorted by key
// (topic; client_id, then filter / seq), retained messages come back with
// retain = true, and subscriptions or queued messages of a client with no
// session record are not returned by load().
//
// Fault injection: set_fail_writes(true) makes every later put/erase fail as a
// full disk would — the change is lost, health() and the next flush() report
// an I/O error — until set_fail_writes(false) and a write succeeds again.
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "mqtt/broker/broker_store.hpp"

namespace urbis::mqtt {

class MemoryBrokerStore final : public BrokerStore {
 public:
  Result<BrokerSnapshot> load() override;

  void put_retained(const StoredMessage& msg) override;
  void erase_retained(const std::string& topic) override;
  void put_session(const StoredSession& session) override;
  void erase_session(const std::string& client_id) override;
  void put_subscription(const std::string& client_id, const StoredSubscription& sub) override;
  void erase_subscription(const std::string& client_id, const std::string& filter) override;
  void put_queued(const std::string& client_id, const StoredQueuedMessage& m) override;
  void erase_queued(const std::string& client_id, uint64_t seq) override;

  Status flush() override;
  void when_durable(std::function<void(const Status&)> done) override;
  Status health() const override;

  // While true, writes are dropped and reported as failed (see above).
  void set_fail_writes(bool fail);

 private:
  // Returns false (and records the failure) when writes are failing. REQUIRES: mu_ held.
  bool writable();

  mutable std::mutex mu_;
  // All guarded by mu_:
  bool fail_writes_ = false;
  Status health_;
  Status failure_since_flush_;
  std::map<std::string, StoredMessage> retained_;
  std::map<std::string, StoredSession> sessions_;  // metadata only
  std::map<std::pair<std::string, std::string>, StoredSubscription> subs_;
  std::map<std::pair<std::string, uint64_t>, StoredQueuedMessage> queued_;
};

}  // namespace urbis::mqtt
