// DeviceStore: where the registry keeps devices across restarts.
//
// The registry holds every device in memory and is the only writer; the store
// only persists. Two kinds of writes:
//   - put()/erase(): an administrator's change; the whole row, committed
//     before `done` runs (the API answers only after it).
//   - put_activity(): last seen / last error / error count / automatic state
//     changes of many devices at once, batched by the registry because they
//     happen on every message. It never blocks: false means "not queued, try
//     again later".
// Writes of one store apply in call order.
//
// Implementations: MemoryDeviceStore (below, tests) and
// storage/sqlite/device_store_sqlite.hpp (devices.db in the data directory).
// devices/ sees only this interface; app/ picks the backend.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "devices/registry/credentials.hpp"
#include "devices/registry/device.hpp"

namespace urbis::devices {

// A device with its secret part, as stored.
struct StoredDevice {
  Device device;
  TokenHash token;  // empty = no token (revoked or never set)
};

// The frequently changing part of a device.
struct DeviceActivity {
  std::string id;
  DeviceState state = DeviceState::kProvisioned;
  int64_t last_seen_ms = 0;
  std::string last_error;
  int64_t last_error_ms = 0;
  int64_t error_count = 0;
};

class DeviceStore {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~DeviceStore() = default;

  // Inserts or replaces the row of `d.device.id`. `done` may be empty; it
  // runs on the store's thread after the commit and must be quick.
  virtual void put(StoredDevice d, Done done) = 0;
  // Removes the device; removing a missing one succeeds.
  virtual void erase(const std::string& id, Done done) = 0;
  // Updates the activity columns of devices that exist (missing ones are
  // skipped). Returns false, queuing nothing, when the store is busy.
  virtual bool put_activity(std::vector<DeviceActivity> batch, Done done) = 0;
  // Every committed device, ordered by id.
  virtual Result<std::vector<StoredDevice>> load() = 0;
  // Blocks until every earlier write completed; the first failure since the last flush.
  [[nodiscard]] virtual Status flush() = 0;
};

// Keeps devices in memory; `done` is called before the write returns. A
// failure can be injected for tests.
class MemoryDeviceStore final : public DeviceStore {
 public:
  void put(StoredDevice d, Done done) override {
    Status st = next_status();
    if (st.ok()) {
      std::lock_guard lock(mu_);
      rows_[d.device.id] = std::move(d);
    }
    if (done) done(st);
  }
  void erase(const std::string& id, Done done) override {
    Status st = next_status();
    if (st.ok()) {
      std::lock_guard lock(mu_);
      rows_.erase(id);
    }
    if (done) done(st);
  }
  bool put_activity(std::vector<DeviceActivity> batch, Done done) override {
    {
      std::lock_guard lock(mu_);
      ++activity_batches_;
      for (auto& a : batch) {
        auto it = rows_.find(a.id);
        if (it == rows_.end()) continue;
        Device& d = it->second.device;
        d.state = a.state;
        d.last_seen_ms = a.last_seen_ms;
        d.last_error = a.last_error;
        d.last_error_ms = a.last_error_ms;
        d.error_count = a.error_count;
      }
    }
    if (done) done(Status::Ok());
    return true;
  }
  Result<std::vector<StoredDevice>> load() override {
    std::lock_guard lock(mu_);
    std::vector<StoredDevice> out;
    for (const auto& [_, d] : rows_) out.push_back(d);
    return out;
  }
  Status flush() override { return Status::Ok(); }

  // The next put/erase fails with `st` (once).
  void fail_next(Status st) {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(st);
  }
  size_t activity_batches() const {
    std::lock_guard lock(mu_);
    return activity_batches_;
  }

 private:
  Status next_status() {
    std::lock_guard lock(mu_);
    Status st = fail_next_;
    fail_next_ = Status::Ok();
    return st;
  }
  mutable std::mutex mu_;
  std::map<std::string, StoredDevice> rows_;  // guarded by mu_
  Status fail_next_;                          // guarded by mu_
  size_t activity_batches_ = 0;               // guarded by mu_
};

}  // namespace urbis::devices
