// CommandStore: where downlink commands and their status are kept across
// restarts, and where their history is read back.
//
// The CommandService holds every queued command in memory and is the only
// writer. Writes apply in call order; `done` runs after the commit (on the
// store's thread, or inside the call for the memory store) and must be quick.
// Reads come from committed data only.
//
// Implementations: MemoryCommandStore (below, tests) and
// storage/sqlite/command_store_sqlite.hpp (commands.db in the data directory).
// devices/ sees only this interface; app/ picks the backend.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "devices/commands/command.hpp"

namespace urbis::devices {

struct CommandPage {
  std::vector<Command> items;  // newest first (creation order, reversed)
  size_t total = 0;            // commands of the device, all pages together
};

class CommandStore {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~CommandStore() = default;

  // Inserts the command, or replaces the stored one with the same id (its
  // place in the creation order is kept). `done` may be empty.
  virtual void put(Command c, Done done) = 0;
  // Removes a command; removing a missing one succeeds.
  virtual void erase(const std::string& id, Done done) = 0;
  // Remembers the ChirpStack application of a LoRaWAN device.
  virtual void put_route(const std::string& device_id, const std::string& application_id, Done done) = 0;
  // Removes commands that are no longer queued and whose status changed before `before_ms`.
  virtual void prune(int64_t before_ms, Done done) = 0;

  // Every queued command, in creation order.
  virtual Result<std::vector<Command>> load_queued() = 0;
  // Every remembered device -> application id.
  virtual Result<std::map<std::string, std::string>> load_routes() = 0;
  virtual Result<std::optional<Command>> get(const std::string& id) = 0;
  // The commands of one device, newest first.
  virtual Result<CommandPage> list(const std::string& device_id, size_t offset, size_t limit) = 0;
  // Blocks until every earlier write completed; the first failure since the last flush.
  [[nodiscard]] virtual Status flush() = 0;
};

// Keeps commands in memory; `done` runs before the write returns. A failure
// can be injected for tests.
class MemoryCommandStore final : public CommandStore {
 public:
  void put(Command c, Done done) override {
    Status st = next_status();
    if (st.ok()) {
      std::lock_guard lock(mu_);
      auto it = std::find_if(rows_.begin(), rows_.end(), [&](const Command& r) { return r.id == c.id; });
      if (it != rows_.end()) {
        *it = std::move(c);
      } else {
        rows_.push_back(std::move(c));
      }
    }
    if (done) done(st);
  }
  void erase(const std::string& id, Done done) override {
    Status st = next_status();
    if (st.ok()) {
      std::lock_guard lock(mu_);
      std::erase_if(rows_, [&](const Command& r) { return r.id == id; });
    }
    if (done) done(st);
  }
  void put_route(const std::string& device_id, const std::string& application_id, Done done) override {
    {
      std::lock_guard lock(mu_);
      routes_[device_id] = application_id;
    }
    if (done) done(Status::Ok());
  }
  void prune(int64_t before_ms, Done done) override {
    {
      std::lock_guard lock(mu_);
      std::erase_if(rows_, [&](const Command& r) { return r.status != CommandStatus::kQueued && r.status_ms < before_ms; });
    }
    if (done) done(Status::Ok());
  }
  Result<std::vector<Command>> load_queued() override {
    std::lock_guard lock(mu_);
    std::vector<Command> out;
    for (const auto& r : rows_)
      if (r.status == CommandStatus::kQueued) out.push_back(r);
    return out;
  }
  Result<std::map<std::string, std::string>> load_routes() override {
    std::lock_guard lock(mu_);
    return routes_;
  }
  Result<std::optional<Command>> get(const std::string& id) override {
    std::lock_guard lock(mu_);
    for (const auto& r : rows_)
      if (r.id == id) return std::optional<Command>(r);
    return std::optional<Command>();
  }
  Result<CommandPage> list(const std::string& device_id, size_t offset, size_t limit) override {
    std::lock_guard lock(mu_);
    CommandPage page;
    for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
      if (it->device_id != device_id) continue;
      if (page.total >= offset && page.items.size() < limit) page.items.push_back(*it);
      ++page.total;
    }
    return page;
  }
  Status flush() override { return Status::Ok(); }

  // The next put/erase fails with `st` (once).
  void fail_next(Status st) {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(st);
  }

 private:
  Status next_status() {
    std::lock_guard lock(mu_);
    return std::exchange(fail_next_, Status::Ok());
  }
  mutable std::mutex mu_;
  std::vector<Command> rows_;                   // guarded by mu_; creation order
  std::map<std::string, std::string> routes_;  // guarded by mu_
  Status fail_next_;                            // guarded by mu_
};

}  // namespace urbis::devices
