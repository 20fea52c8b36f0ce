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

// FIFO of pending messages that allocates nothing while empty (std::deque
// allocates a block up front, which 10,000 idle sessions would pay for) and
// gives its memory back when drained.
class PendingQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  Pending& front() { return items_[head_]; }
  void push_back(Pending p) { items_.push_back(std::move(p)); }
  void pop_front() {
    items_[head_] = Pending{};
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 1024 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    std::vector<Pending>().swap(items_);
    head_ = 0;
  }

 private:
  std::vector<Pending> items_;
  size_t head_ = 0;
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
  // --- guarded by mu
  std::shared_ptr<Connection> conn;      // owner, null while offline
  Version version = Version::v5;
  bool persistent = false;               // survives disconnect (expiry > 0 or clean session false)
  bool stored = false;                   // the BrokerStore holds a row for it
  uint32_t expiry_interval = 0;          // seconds; 0xFFFFFFFF = never
  int64_t disconnected_unix_ms = 0;
  std::map<std::string, SubOptions> subscriptions;  // filter as given (incl. $share/...)
  PendingQueue queue;
  size_t queued_bytes = 0;
  std::map<uint16_t, Inflight> inflight;  // outbound, by packet id
  std::set<uint16_t> qos2_incoming;       // inbound QoS 2 ids awaiting PUBREL
  uint16_t next_packet_id = 1;
  uint64_t next_seq = 1;
  bool flush_scheduled = false;           // a flush is posted to conn's executor
  std::shared_ptr<boost::asio::steady_timer> expiry_timer;  // runs while offline
  std::shared_ptr<boost::asio::steady_timer> will_timer;    // delayed will (MQTT 5)
  bool discarded = false;                 // removed from the broker; ignore late work

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
