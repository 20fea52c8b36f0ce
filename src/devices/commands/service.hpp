// CommandService: queues downlink commands for devices, hands them to the
// broker when someone can take them, and keeps their status.
//
// Design note
// -----------
// Submitting. A command is checked (device known, transport decided, bounds),
// kept in memory as "queued" and written to the CommandStore; the caller's
// callback runs after the commit, so the REST API answers 202 only once the
// command survives a crash. Only then does the command become eligible for
// dispatch.
//
// Dispatching (one worker thread, or tick() in tests). A queued command is
// offered to the DownlinkPublisher:
//   mqtt     topic urbis/<tenant>/<id>/down, QoS 1, counting only sessions
//            subscribed to exactly that topic (under the device ACL only the
//            device itself can be); an operator's wildcard subscription
//            receives a copy but does not make the command "sent".
//   lorawan  the ChirpStack v4 enqueue message on
//            application/<app>/device/<devEui>/command/down; any subscriber
//            counts (ChirpStack subscribes with wildcards). The application id
//            is the one given with the command, else the last one
//            note_lorawan_route() learned for the device.
// If at least one session took it, the command is "sent" (handed to a session
// that delivers it, now or when a persistent session reconnects: the broker's
// message expiry is the command's). Otherwise it stays "queued" with `error`
// saying what it waits for, and is offered again when a matching subscription
// appears (on_subscribed()), when a route is learned, and every
// retry_interval. Commands of one device are offered in creation order: while
// an older one waits, newer ones wait too.
//
// Bounds. At most max_pending_per_device queued commands per device and
// max_pending_total in all (ResourceExhausted beyond). A queued command whose
// time to live passes becomes "expired". Finished commands are kept in the
// store for history_days, then pruned.
//
// Memory holds queued commands plus finished ones whose final status is not
// committed yet, so reads (get/list: the store's committed rows overlaid with
// memory) never show a status going backwards.
//
// Thread-safety: all public methods may be called from any thread. Callbacks
// run on the store's thread (or inside the call for validation errors and a
// synchronous store) and must be quick.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "devices/commands/command.hpp"
#include "devices/commands/command_store.hpp"
#include "devices/registry/registry.hpp"

namespace urbis::devices {

struct CommandOptions {
  // Queued commands one device may have; one more is refused (HTTP 429).
  size_t max_pending_per_device = 100;
  // Queued commands of all devices together.
  size_t max_pending_total = 100000;
  // Time to live of a command that gives none.
  std::chrono::seconds default_ttl{24 * 3600};
  // How often a waiting command is offered again without a trigger.
  std::chrono::milliseconds retry_interval{10000};
  // How often the worker checks for expired commands.
  std::chrono::milliseconds sweep_interval{1000};
  // Finished commands are kept this many days; 0 = forever.
  uint32_t history_days = 30;
  // Run the worker thread. Tests that drive a fake clock call tick() instead.
  bool background = true;
};

// Where commands leave the platform: the MQTT broker in production, a fake in tests.
class DownlinkPublisher {
 public:
  virtual ~DownlinkPublisher() = default;
  // Publishes `payload` to `topic` with QoS 1, not retained; the message
  // expires at `expiry_unix_ms` (0 = never). Returns the number of sessions
  // that took it; with `exact_only`, only sessions subscribed to `topic`
  // itself (no wildcard) count. Must not block and must not call back into
  // the CommandService.
  virtual size_t publish(const std::string& topic, std::string payload, int64_t expiry_unix_ms,
                         bool exact_only) = 0;
};

// The one place that decides how a device is reached: LoRaWAN when the
// device carries the tag "lorawan", when a ChirpStack application is known
// for it (learned or given with the command), or when the command names a
// devEui; MQTT otherwise.
CommandTransport choose_transport(const Device& device, bool route_known, const CommandRequest& request);

class CommandService {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;
  using StatusCallback = std::function<void(const Status&)>;

  // `registry`, `store`, `publisher` and `clock` must outlive the service.
  CommandService(DeviceRegistry& registry, CommandStore& store, DownlinkPublisher& publisher, const Clock& clock,
                 CommandOptions options = {});
  // Stops the worker (see stop()).
  ~CommandService();
  CommandService(const CommandService&) = delete;
  CommandService& operator=(const CommandService&) = delete;

  // Reads queued commands and learned routes from the store. Call once, first.
  [[nodiscard]] Status load();
  // Starts the worker thread (when options.background); queued commands are
  // offered at once.
  void start();
  // Stops the worker; waits for it. Idempotent.
  void stop();

  // Queues a command for device `device_id`. Errors: kNotFound (no such
  // device), InvalidArgument naming the member (e.g. devEui for a LoRaWAN
  // device whose id is not a DevEUI), kResourceExhausted (bounds), or the
  // store's error. `done` gets the queued command after its commit.
  void submit(const std::string& device_id, CommandRequest request, Callback<Command> done);
  // One command of the device; kNotFound when it does not exist or belongs to another device.
  Result<Command> get(const std::string& device_id, const std::string& command_id) const;
  // The device's commands, newest first.
  Result<CommandPage> list(const std::string& device_id, size_t offset, size_t limit) const;
  // Deletes a queued command (cancel). kNotFound when unknown; a command that
  // is no longer queued cannot be taken back: kAlreadyExists ("status: ...",
  // HTTP 409), as it has already left or finished.
  void cancel(const std::string& device_id, const std::string& command_id, StatusCallback done);

  // The ChirpStack uplink path learned that `device_id` belongs to
  // application `application_id`: remembered (durably, when it changed), and
  // the device's waiting commands are offered again. Cheap when unchanged.
  void note_lorawan_route(std::string_view device_id, std::string_view application_id);
  // A session subscribed to `filter` (the broker's observer): waiting
  // commands whose topic it matches are offered again. Never blocks.
  void on_subscribed(std::string_view filter);

  // One worker pass: expires, offers due commands, prunes history when due.
  void tick();
  // Waits until every earlier store write committed.
  [[nodiscard]] Status flush();

  // Queued commands in memory (all devices).
  size_t queued() const;

 private:
  struct Entry {
    Command cmd;
    uint64_t seq = 0;           // creation order in this process
    bool committed = false;     // its insert committed: eligible for dispatch
    bool due = true;            // offer at the next pass
    std::chrono::steady_clock::time_point next_try{};
    uint64_t version = 0;       // bumped by each change; guards the removal after a final write
  };
  struct Write {
    Command cmd;
    uint64_t version;
  };

  // Offers one command; changes `e` in place. Returns true if it changed
  // (needs a write). REQUIRES: mu_ held.
  bool offer(Entry& e, std::chrono::steady_clock::time_point now);
  // Submits final or changed rows; removes final entries after their commit.
  // REQUIRES: write_mu_ held, mu_ not held.
  void write(std::vector<Write> writes);
  void run();
  void wake();

  DeviceRegistry& registry_;
  CommandStore& store_;
  DownlinkPublisher& publisher_;
  const Clock& clock_;
  const CommandOptions options_;

  // Serialises store submissions so they reach the store in the order the
  // changes were made in memory. Taken before mu_, never inside it.
  std::mutex write_mu_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;       // guarded by mu_; by command id
  std::map<std::string, std::string> routes_;  // guarded by mu_; device -> ChirpStack application
  uint64_t next_seq_ = 1;                      // guarded by mu_
  uint64_t next_version_ = 1;                  // guarded by mu_
  int64_t last_prune_ms_ = 0;                  // guarded by mu_

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;      // guarded by wake_mu_
  bool stopping_ = false;  // guarded by wake_mu_
  std::thread worker_;
};

}  // namespace urbis::devices
