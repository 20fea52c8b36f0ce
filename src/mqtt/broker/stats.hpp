// Broker counters for $SYS and the health endpoint.
//
// Each I/O thread writes its own cache-line-aligned slot with plain relaxed
// stores (single writer, no read-modify-write contention); readers sum the
// slots. Threads outside the pool share one extra slot updated atomically.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "net/io_pool.hpp"

namespace urbis::mqtt {

enum class Stat : int {
  kMessagesReceived,  // PUBLISH packets from clients
  kMessagesSent,      // PUBLISH packets to clients
  kBytesReceived,
  kBytesSent,
  kDroppedQos0,       // QoS 0 dropped because a subscriber queue was full
  kDroppedQueueFull,  // QoS 1/2 dropped because a queue hit its hard limit
  kDroppedTooLarge,   // not sent: larger than the client's maximum packet size
  kDroppedExpired,    // message expiry passed before delivery
  kPublishThrottled,  // reads paused by the per-client publish rate
  kConnectionsRefused,
  kCount
};

class Stats {
 public:
  explicit Stats(size_t threads) : slots_(threads + 1) {}

  void add(Stat s, uint64_t n = 1) {
    int t = net::IoPool::thread_index();
    auto& v = slot(t).v[static_cast<int>(s)];
    if (t >= 0 && static_cast<size_t>(t) + 1 < slots_.size()) {
      v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      v.fetch_add(n, std::memory_order_relaxed);
    }
  }

  uint64_t get(Stat s) const {
    uint64_t sum = 0;
    for (auto& sl : slots_) sum += sl.v[static_cast<int>(s)].load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> v[static_cast<int>(Stat::kCount)] = {};
  };
  Slot& slot(int t) {
    if (t >= 0 && static_cast<size_t>(t) + 1 < slots_.size()) return slots_[t];
    return slots_.back();
  }
  std::vector<Slot> slots_;
};

}  // namespace urbis::mqtt
