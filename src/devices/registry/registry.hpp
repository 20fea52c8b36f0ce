// DeviceRegistry: every device of the node, in memory for fast reads, written
// through to a DeviceStore.
//
// Design note
// -----------
// Reads (get, list, authenticate, access) come from memory under a shared
// lock: the broker asks on every CONNECT, PUBLISH and SUBSCRIBE, so they must
// never wait for the disk. Administrative writes (create, update, remove,
// rotate, revoke) change memory at once and are committed to the store in
// call order; their callback runs after the commit, so the REST API answers
// only once the change is durable. If the commit fails, the change is undone
// in memory (unless a later change replaced it) and the callback gets the
// error.
//
// Activity (last seen, last error, error count, and the automatic state moves
// provisioned/silent -> active on connect) changes on every message. It is
// kept in memory and written in batches: at most one batch per
// `activity_flush_interval`, sent by whichever call notices the interval has
// passed, by a background thread every interval, and on flush(). A kill -9 therefore loses at most that interval of
// "last seen" — never a device or a credential. Last-seen is also coarse: a
// device seen again within a second is not marked dirty again.
//
// Credential epochs. Every device carries an in-memory epoch that changes when
// its credentials change (rotate, revoke, certificate binding) and a fresh one
// when it is created. A connection authenticated under an older epoch is
// refused its next PUBLISH/SUBSCRIBE, so "the old token is invalid at once"
// also holds for a device that is already connected.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on
// the store's thread (or inside the call, for validation errors and for a
// store that completes synchronously) and must be quick.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <condition_variable>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "devices/registry/device.hpp"
#include "devices/registry/device_store.hpp"

namespace urbis::devices {

struct RegistryOptions {
  // Longest time activity (last seen, errors) stays only in memory.
  std::chrono::milliseconds activity_flush_interval{5000};
  // Run a thread that writes pending activity every interval even when no
  // further message arrives to trigger it. Tests that drive a fake clock turn it off.
  bool background_flush = true;
  // An active device not seen for this long becomes silent (checked by the
  // background thread every activity_flush_interval, and by mark_silent()).
  // Zero: never.
  std::chrono::milliseconds silent_after{0};
};

struct ListQuery {
  std::optional<std::string> tenant;  // internal form ("" = default)
  std::optional<std::string> profile;
  std::optional<DeviceState> state;
  std::optional<std::string> tag;          // devices carrying this tag
  std::optional<std::string> name_prefix;  // devices whose name starts with this
  size_t offset = 0;
  size_t limit = 100;
};

struct DevicePage {
  std::vector<Device> items;  // ordered by id: paging is stable while nothing changes
  size_t total = 0;           // matching devices, all pages together
};

// A device together with a token that is shown this once.
struct DeviceWithToken {
  Device device;
  std::string token;
};

// The outcome of a device trying to connect.
enum class DeviceAuthOutcome {
  kNotADevice,      // no device has this id: ask someone else
  kOk,
  kBadCredentials,  // wrong, missing or revoked token, and no matching certificate
  kNotAllowed,      // credentials fine, but the device is quarantined or disabled
};

struct DeviceAuthResult {
  DeviceAuthOutcome outcome = DeviceAuthOutcome::kNotADevice;
  uint64_t epoch = 0;  // credential epoch at authentication (when kOk)
};

// What the broker needs per PUBLISH/SUBSCRIBE.
struct DeviceAccess {
  std::string tenant;
  DeviceState state;
  uint64_t epoch;
};

class DeviceRegistry {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;
  using StatusCallback = std::function<void(const Status&)>;

  // `store` and `clock` must outlive the registry.
  DeviceRegistry(DeviceStore& store, const Clock& clock, RegistryOptions options = {});
  // Stops the background thread and writes pending activity (without waiting for it).
  ~DeviceRegistry();
  DeviceRegistry(const DeviceRegistry&) = delete;
  DeviceRegistry& operator=(const DeviceRegistry&) = delete;

  // Reads every device from the store. Call once, before any other method.
  [[nodiscard]] Status load();

  // Creates a device with a fresh token. Errors: InvalidArgument (spec),
  // kAlreadyExists (id taken, in any tenant), or the store's error.
  void create(DeviceSpec spec, Callback<DeviceWithToken> done);
  // Applies a partial update. kNotFound when the id is unknown.
  void update(const std::string& id, DevicePatch patch, Callback<Device> done);
  // Deletes the device and its credentials. kNotFound when unknown.
  void remove(const std::string& id, StatusCallback done);
  // A new token; the previous one stops working at once.
  void rotate_token(const std::string& id, Callback<DeviceWithToken> done);
  // Removes the token; the device can then connect only with a certificate (if bound).
  void revoke_token(const std::string& id, Callback<Device> done);

  std::optional<Device> get(std::string_view id) const;
  DevicePage list(const ListQuery& q) const;
  size_t size() const;

  // CONNECT: `id` is the user name (or, without one, the certificate CN).
  // A verified client certificate whose CN equals the id authenticates a
  // device bound to certificates; otherwise the token must match.
  DeviceAuthResult authenticate(std::string_view id, const std::optional<std::string>& token,
                                std::string_view cert_cn) const;
  // PUBLISH/SUBSCRIBE: the device's tenant, state and credential epoch.
  std::optional<DeviceAccess> access(std::string_view id) const;

  // Activity, cheap enough for every message (see the design note).
  // A connect or message: last seen = now; provisioned or silent -> active.
  void record_seen(std::string_view id);
  // A message the platform could not use: counts it and keeps the text.
  void record_error(std::string_view id, std::string_view error);

  // Moves every active device whose last message is older than
  // `silent_after` to silent (a later message makes it active again).
  // Returns how many moved. The background thread calls it; tests call it directly.
  size_t mark_silent();

  // Writes pending activity and waits until every earlier write committed.
  // Returns the first store failure since the previous flush.
  [[nodiscard]] Status flush();

 private:
  struct Entry {
    StoredDevice row;
    uint64_t version = 0;  // bumped by every administrative change; guards undo
    uint64_t epoch = 0;    // credential epoch
  };

  // Commits `entry`'s current row (or the removal of `id` when `entry` is
  // null) and undoes the change in memory if the commit fails.
  // REQUIRES: write_mu_ held, mu_ not held.
  void commit(const std::string& id, std::optional<StoredDevice> before, std::optional<StoredDevice> after,
              uint64_t version, StatusCallback done);
  // Sends dirty activity to the store when due (or `force`). REQUIRES: write_mu_ held.
  void send_activity(bool force);
  void maybe_send_activity();

  DeviceStore& store_;
  const Clock& clock_;
  const RegistryOptions options_;

  // Serialises store submissions so they reach the store in the order the
  // changes were made in memory. Never taken inside mu_ or by callbacks.
  std::mutex write_mu_;

  mutable std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // guarded by mu_
  std::set<std::string, std::less<>> dirty_;           // guarded by mu_: activity not yet sent
  uint64_t next_version_ = 1;                          // guarded by mu_
  uint64_t next_epoch_ = 1;                            // guarded by mu_
  std::chrono::steady_clock::time_point last_activity_send_;  // guarded by mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread flusher_;    // last: started once every member above exists
};

}  // namespace urbis::devices
