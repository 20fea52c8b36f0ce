#include "mqtt/broker/memory_broker_store.hpp"

namespace urbis::mqtt {

bool MemoryBrokerStore::writable() {
  if (fail_writes_) {
    Status s = IoError("memory broker store: injected write failure");
    health_ = s;
    if (failure_since_flush_.ok()) failure_since_flush_ = s;
    return false;
  }
  health_ = Status();  // a write that succeeds means the store works again
  return true;
}

void MemoryBrokerStore::set_fail_writes(bool fail) {
  std::lock_guard lock(mu_);
  fail_writes_ = fail;
}

Result<BrokerSnapshot> MemoryBrokerStore::load() {
  std::lock_guard lock(mu_);
  BrokerSnapshot snap;
  for (const auto& [topic, msg] : retained_) snap.retained.push_back(msg);
  for (const auto& [id, meta] : sessions_) {
    StoredSession s = meta;
    s.subscriptions.clear();
    s.queue.clear();
    for (auto it = subs_.lower_bound({id, std::string()}); it != subs_.end() && it->first.first == id; ++it) {
      s.subscriptions.push_back(it->second);
    }
    for (auto it = queued_.lower_bound({id, 0}); it != queued_.end() && it->first.first == id; ++it) {
      s.queue.push_back(it->second);
    }
    snap.sessions.push_back(std::move(s));
  }
  return snap;
}

void MemoryBrokerStore::put_retained(const StoredMessage& msg) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  StoredMessage m = msg;
  m.retain = true;  // as the SQLite store, which has no column for it
  retained_[m.topic] = std::move(m);
}

void MemoryBrokerStore::erase_retained(const std::string& topic) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  retained_.erase(topic);
}

void MemoryBrokerStore::put_session(const StoredSession& session) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  StoredSession meta = session;
  meta.subscriptions.clear();  // metadata only: subscriptions and queue have their own calls
  meta.queue.clear();
  sessions_[meta.client_id] = std::move(meta);
}

void MemoryBrokerStore::erase_session(const std::string& client_id) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  sessions_.erase(client_id);
  subs_.erase(subs_.lower_bound({client_id, std::string()}), subs_.lower_bound({client_id + '\0', std::string()}));
  queued_.erase(queued_.lower_bound({client_id, 0}), queued_.lower_bound({client_id + '\0', 0}));
}

void MemoryBrokerStore::put_subscription(const std::string& client_id, const StoredSubscription& sub) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  subs_[{client_id, sub.filter}] = sub;
}

void MemoryBrokerStore::erase_subscription(const std::string& client_id, const std::string& filter) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  subs_.erase({client_id, filter});
}

void MemoryBrokerStore::put_queued(const std::string& client_id, const StoredQueuedMessage& m) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  queued_[{client_id, m.seq}] = m;
}

void MemoryBrokerStore::erase_queued(const std::string& client_id, uint64_t seq) {
  std::lock_guard lock(mu_);
  if (!writable()) return;
  queued_.erase({client_id, seq});
}

Status MemoryBrokerStore::flush() {
  std::lock_guard lock(mu_);
  return std::exchange(failure_since_flush_, Status());
}

Status MemoryBrokerStore::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

void MemoryBrokerStore::when_durable(std::function<void(const Status&)> done) { done(health()); }

}  // namespace urbis::mqtt
