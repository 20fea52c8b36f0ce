// Session state: what the broker remembers about a client id, connected or not.
//
// A session outlives its connections (persistent sessions) and is reached from
// several threads: the owning connection's thread (acks, sending) and any
// publisher's thread (delivery). Everything mutable is guarded by `mu`; the
// critical sections are short (append to a queue, move a batch out).
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mqtt/broker/message.hpp"
#include "mqtt/codec/packet.hpp"

namespace urbis::mqtt {

class Connection;

// A message waiting in a session's queue (not yet given a packet id).
struct Pending {
  MessagePtr msg;
  uint8_t qos = 0;                 // delivery QoS
  bool retain = false;             // RETAIN flag to send
  std::vector<uint32_t> sub_ids;   // subscription identifiers to send
  uint64_t seq = 0;                // persistence key; 0 = not persisted
};

// A QoS 1/2 message sent and not yet fully acknowledged.
struct Inflight {
  Pending p;
  bool pubrel_sent = false;  // QoS 2: PUBREC received, waiting for PUBCOMP
};

// FIFO of pending messages that costs one pointer while empty (std::deque
// allocates a block up front, which 10,000 idle sessions would pay for) and
// gives its memory back when drained.
class PendingQueue {
 public:
  bool empty() const { return !q_; }
  size_t size() const { return q_ ? q_->items.size() - q_->head : 0; }
  // REQUIRES: !empty().
  Pending& front() { return q_->items[q_->head]; }
  void push_back(Pending p) {
    if (!q_) q_ = std::make_unique<Items>();
    q_->items.push_back(std::move(p));
  }
  // REQUIRES: !empty().
  void pop_front() {
    auto& q = *q_;
    q.items[q.head] = Pending{};
    if (++q.head == q.items.size()) {
      clear();
    } else if (q.head >= 1024 && q.head * 2 >= q.items.size()) {
      q.items.erase(q.items.begin(), q.items.begin() + static_cast<std::ptrdiff_t>(q.head));
      q.head = 0;
    }
  }
  void clear() { q_.reset(); }

 private:
  struct Items {
    std::vector<Pending> items;
    size_t head = 0;  // items before it were delivered
  };
  std::unique_ptr<Items> q_;  // null while empty
};

// A map or set that allocates nothing until the first insertion, for the
// session state most idle clients never use (subscriptions, messages in
// flight): an empty std::map is 48 bytes, this is 8. Reading an empty one
// allocates nothing; clear() gives the memory back. Iterators of an empty one
// are value-initialised and compare equal.
template <typename C>
class LazyContainer {
 public:
  using key_type = typename C::key_type;
  using iterator = typename C::iterator;
  using const_iterator = typename C::const_iterator;

  bool empty() const { return !c_ || c_->empty(); }
  size_t size() const { return c_ ? c_->size() : 0; }
  size_t count(const key_type& k) const { return c_ ? c_->count(k) : 0; }
  iterator find(const key_type& k) { return c_ ? c_->find(k) : iterator(); }
  iterator begin() { return c_ ? c_->begin() : iterator(); }
  iterator end() { return c_ ? c_->end() : iterator(); }
  const_iterator begin() const { return c_ ? c_->cbegin() : const_iterator(); }
  const_iterator end() const { return c_ ? c_->cend() : const_iterator(); }

  auto& operator[](const key_type& k) { return get()[k]; }
  template <typename V>
  auto insert(V&& v) {
    return get().insert(std::forward<V>(v));
  }
  // REQUIRES: `it` points into this container.
  void erase(iterator it) { c_->erase(it); }
  size_t erase(const key_type& k) { return c_ ? c_->erase(k) : 0; }
  void clear() { c_.reset(); }
  // Moves everything out, leaving this empty.
  C take() { return c_ ? std::move(*std::exchange(c_, nullptr)) : C(); }

 private:
  C& get() {
    if (!c_) c_ = std::make_unique<C>();
    return *c_;
  }
  std::unique_ptr<C> c_;
};

class Session {
 public:
  explicit Session(std::string client_id) : client_id_(std::move(client_id)) {}

  const std::string& client_id() const { return client_id_; }
  // Whether a connection currently owns the session. Lock-free, for routing
  // decisions (shared subscriptions) that tolerate a stale answer.
  bool online() const { return online_.load(std::memory_order_relaxed); }
  void set_online(bool v) { online_.store(v, std::memory_order_relaxed); }

  std::mutex mu;
  // --- guarded by mu (the small fields first, packed: 10,000 idle sessions)
  std::shared_ptr<Connection> conn;      // owner, null while offline
  Version version = Version::v5;
  bool persistent = false;               // survives disconnect (expiry > 0 or clean session false)
  bool stored = false;                   // the BrokerStore holds a row for it
  bool flush_scheduled = false;          // a flush is posted to conn's executor
  bool discarded = false;                // removed from the broker; ignore late work
  uint16_t next_packet_id = 1;
  uint32_t expiry_interval = 0;          // seconds; 0xFFFFFFFF = never
  int64_t disconnected_unix_ms = 0;
  LazyContainer<std::map<std::string, SubOptions>> subscriptions;  // filter as given (incl. $share/...)
  PendingQueue queue;
  size_t queued_bytes = 0;
  LazyContainer<std::map<uint16_t, Inflight>> inflight;  // outbound, by packet id
  LazyContainer<std::set<uint16_t>> qos2_incoming;       // inbound QoS 2 ids awaiting PUBREL
  uint64_t next_seq = 1;
  std::unique_ptr<boost::asio::steady_timer> expiry_timer;  // runs while offline
  std::unique_ptr<boost::asio::steady_timer> will_timer;    // delayed will (MQTT 5)

  // Next free outbound packet id. REQUIRES: mu held, inflight.size() < 65535.
  uint16_t allocate_packet_id() {
    for (;;) {
      uint16_t id = next_packet_id++;
      if (next_packet_id == 0) next_packet_id = 1;
      if (id != 0 && !inflight.count(id)) return id;
    }
  }

 private:
  const std::string client_id_;
  std::atomic<bool> online_{false};
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace urbis::mqtt
