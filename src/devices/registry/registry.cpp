#include "devices/registry/registry.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/thread_name.hpp"

namespace urbis::devices {

namespace {

constexpr int64_t kSeenGranularityMs = 1000;

bool refused_state(DeviceState s) { return s == DeviceState::kQuarantined || s == DeviceState::kDisabled; }

Status not_found(std::string_view id) { return NotFound("id: no device '" + std::string(id) + "'"); }

}  // namespace

DeviceRegistry::DeviceRegistry(DeviceStore& store, const Clock& clock, RegistryOptions options)
    : store_(store), clock_(clock), options_(options), last_activity_send_(clock.now()) {
  if (!options_.background_flush) return;
  flusher_ = std::thread([this] {
    set_thread_name("dev-activity");
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, options_.activity_flush_interval, [this] { return stopping_; })) {
      lock.unlock();
      mark_silent();
      {
        std::lock_guard w(write_mu_);
        send_activity(/*force=*/true);
      }
      lock.lock();
    }
  });
}

DeviceRegistry::~DeviceRegistry() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    flusher_.join();
  }
  std::lock_guard w(write_mu_);
  send_activity(/*force=*/true);
}

Status DeviceRegistry::load() {
  auto rows = store_.load();
  if (!rows.ok()) return rows.status();
  std::unique_lock lock(mu_);
  entries_.clear();
  for (auto& r : *rows) {
    Entry e;
    e.row = std::move(r);
    e.row.device.has_token = !e.row.token.empty();
    e.version = next_version_++;
    e.epoch = next_epoch_++;
    std::string id = e.row.device.id;
    entries_.emplace(std::move(id), std::move(e));
  }
  return Status::Ok();
}

void DeviceRegistry::commit(const std::string& id, std::optional<StoredDevice> before,
                            std::optional<StoredDevice> after, uint64_t version, StatusCallback done) {
  const bool removal = !after.has_value();
  auto on_commit = [this, id, before = std::move(before), removal, version, done = std::move(done)](const Status& st) {
    if (!st.ok()) {
      ULOG_ERROR("device registry: change of '{}' not committed, undone: {}", id, st.message());
      std::unique_lock lock(mu_);
      auto it = entries_.find(id);
      if (removal) {
        if (it == entries_.end() && before) {
          Entry e{*before, next_version_++, next_epoch_++};
          entries_.emplace(id, std::move(e));
        }
      } else if (it != entries_.end() && it->second.version == version) {
        if (before) {
          it->second.row = *before;
          it->second.version = next_version_++;
          it->second.epoch = next_epoch_++;
        } else {
          entries_.erase(it);
        }
      }
    }
    if (done) done(st);
  };
  if (removal) {
    store_.erase(id, std::move(on_commit));
  } else {
    store_.put(std::move(*after), std::move(on_commit));
  }
}

void DeviceRegistry::create(DeviceSpec spec, Callback<DeviceWithToken> done) {
  if (Status st = validate_device_id(spec.id); !st.ok()) return done(st);
  auto token = generate_token();
  if (!token.ok()) return done(token.status());
  std::lock_guard w(write_mu_);
  StoredDevice row;
  uint64_t version;
  {
    std::unique_lock lock(mu_);
    if (entries_.count(spec.id) != 0) {
      return done(Status(Code::kAlreadyExists, "id: a device '" + spec.id + "' exists already"));
    }
    Device& d = row.device;
    d.tenant = spec.tenant;
    d.id = spec.id;
    d.name = std::move(spec.name);
    d.profile = std::move(spec.profile);
    d.location = spec.location;
    d.tags = std::move(spec.tags);
    d.state = spec.state.value_or(DeviceState::kProvisioned);
    d.firmware = std::move(spec.firmware);
    d.certificate = spec.certificate;
    d.created_ms = d.updated_ms = d.token_created_ms = clock_.unix_ms();
    d.has_token = true;
    row.token = token->stored;
    version = next_version_++;
    entries_.emplace(spec.id, Entry{row, version, next_epoch_++});
  }
  DeviceWithToken out{row.device, std::move(token->token)};
  std::string id = row.device.id;
  commit(id, std::nullopt, std::move(row), version,
         [out = std::move(out), done = std::move(done)](const Status& st) mutable {
           if (!st.ok()) return done(st);
           done(std::move(out));
         });
}

void DeviceRegistry::update(const std::string& id, DevicePatch patch, Callback<Device> done) {
  std::lock_guard w(write_mu_);
  StoredDevice before, after;
  uint64_t version;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return done(not_found(id));
    before = it->second.row;
    Device& d = it->second.row.device;
    if (patch.name) d.name = *patch.name;
    if (patch.profile) d.profile = *patch.profile;
    if (patch.location) d.location = *patch.location;
    if (patch.tags) d.tags = *patch.tags;
    if (patch.state) d.state = *patch.state;
    if (patch.firmware) d.firmware = *patch.firmware;
    if (patch.certificate && *patch.certificate != d.certificate) {
      d.certificate = *patch.certificate;
      it->second.epoch = next_epoch_++;  // unbinding must cut certificate sessions
    }
    d.updated_ms = clock_.unix_ms();
    version = it->second.version = next_version_++;
    after = it->second.row;
  }
  Device out = after.device;
  commit(id, std::move(before), std::move(after), version,
         [out = std::move(out), done = std::move(done)](const Status& st) mutable {
           if (!st.ok()) return done(st);
           done(std::move(out));
         });
}

void DeviceRegistry::remove(const std::string& id, StatusCallback done) {
  std::lock_guard w(write_mu_);
  StoredDevice before;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return done(not_found(id));
    before = std::move(it->second.row);
    entries_.erase(it);
    dirty_.erase(id);
  }
  commit(id, std::move(before), std::nullopt, 0, std::move(done));
}

void DeviceRegistry::rotate_token(const std::string& id, Callback<DeviceWithToken> done) {
  auto token = generate_token();
  if (!token.ok()) return done(token.status());
  std::lock_guard w(write_mu_);
  StoredDevice before, after;
  uint64_t version;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return done(not_found(id));
    before = it->second.row;
    it->second.row.token = token->stored;
    Device& d = it->second.row.device;
    d.has_token = true;
    d.token_created_ms = d.updated_ms = clock_.unix_ms();
    it->second.epoch = next_epoch_++;
    version = it->second.version = next_version_++;
    after = it->second.row;
  }
  DeviceWithToken out{after.device, std::move(token->token)};
  commit(id, std::move(before), std::move(after), version,
         [out = std::move(out), done = std::move(done)](const Status& st) mutable {
           if (!st.ok()) return done(st);
           done(std::move(out));
         });
}

void DeviceRegistry::revoke_token(const std::string& id, Callback<Device> done) {
  std::lock_guard w(write_mu_);
  StoredDevice before, after;
  uint64_t version;
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return done(not_found(id));
    before = it->second.row;
    it->second.row.token = TokenHash{};
    Device& d = it->second.row.device;
    d.has_token = false;
    d.token_created_ms = 0;
    d.updated_ms = clock_.unix_ms();
    it->second.epoch = next_epoch_++;
    version = it->second.version = next_version_++;
    after = it->second.row;
  }
  Device out = after.device;
  commit(id, std::move(before), std::move(after), version,
         [out = std::move(out), done = std::move(done)](const Status& st) mutable {
           if (!st.ok()) return done(st);
           done(std::move(out));
         });
}

std::optional<Device> DeviceRegistry::get(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.row.device;
}

size_t DeviceRegistry::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

DevicePage DeviceRegistry::list(const ListQuery& q) const {
  DevicePage page;
  std::shared_lock lock(mu_);
  for (const auto& [id, e] : entries_) {
    const Device& d = e.row.device;
    if (q.tenant && d.tenant != *q.tenant) continue;
    if (q.profile && d.profile != *q.profile) continue;
    if (q.state && d.state != *q.state) continue;
    if (q.tag && !std::binary_search(d.tags.begin(), d.tags.end(), *q.tag)) continue;
    if (q.name_prefix && d.name.compare(0, q.name_prefix->size(), *q.name_prefix) != 0) continue;
    if (page.total >= q.offset && page.items.size() < q.limit) page.items.push_back(d);
    ++page.total;
  }
  return page;
}

DeviceAuthResult DeviceRegistry::authenticate(std::string_view id, const std::optional<std::string>& token,
                                              std::string_view cert_cn) const {
  TokenHash stored;
  bool cert_ok = false;
  DeviceState state;
  uint64_t epoch;
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return {DeviceAuthOutcome::kNotADevice, 0};
    const Device& d = it->second.row.device;
    cert_ok = d.certificate && !cert_cn.empty() && cert_cn == d.id;
    if (!cert_ok) stored = it->second.row.token;
    state = d.state;
    epoch = it->second.epoch;
  }
  // Hash outside the lock; SHA-256 of a short token is a microsecond.
  if (!cert_ok && !(token && verify_token(*token, stored))) return {DeviceAuthOutcome::kBadCredentials, 0};
  // State is told only to whoever holds valid credentials.
  if (refused_state(state)) return {DeviceAuthOutcome::kNotAllowed, 0};
  return {DeviceAuthOutcome::kOk, epoch};
}

std::optional<DeviceAccess> DeviceRegistry::access(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return DeviceAccess{it->second.row.device.tenant, it->second.row.device.state, it->second.epoch};
}

void DeviceRegistry::record_seen(std::string_view id) {
  const int64_t now = clock_.unix_ms();
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    const Device& d = it->second.row.device;
    bool moves = d.state == DeviceState::kProvisioned || d.state == DeviceState::kSilent;
    if (!moves && now - d.last_seen_ms < kSeenGranularityMs) return;
  }
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    Device& d = it->second.row.device;
    if (d.state == DeviceState::kProvisioned || d.state == DeviceState::kSilent) d.state = DeviceState::kActive;
    d.last_seen_ms = now;
    dirty_.insert(it->first);
  }
  maybe_send_activity();
}

void DeviceRegistry::record_error(std::string_view id, std::string_view error) {
  {
    std::unique_lock lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    Device& d = it->second.row.device;
    d.last_error = std::string(error.substr(0, 512));
    d.last_error_ms = clock_.unix_ms();
    ++d.error_count;
    dirty_.insert(it->first);
  }
  maybe_send_activity();
}

size_t DeviceRegistry::mark_silent() {
  if (options_.silent_after.count() <= 0) return 0;
  const int64_t cutoff = clock_.unix_ms() - options_.silent_after.count();
  size_t moved = 0;
  std::unique_lock lock(mu_);
  for (auto& [id, e] : entries_) {
    Device& d = e.row.device;
    if (d.state != DeviceState::kActive || d.last_seen_ms == 0 || d.last_seen_ms >= cutoff) continue;
    d.state = DeviceState::kSilent;
    dirty_.insert(id);
    ++moved;
  }
  return moved;
}

void DeviceRegistry::maybe_send_activity() {
  {
    std::shared_lock lock(mu_);
    if (clock_.now() - last_activity_send_ < options_.activity_flush_interval) return;
  }
  // An administrative write in progress will be followed by another message soon.
  std::unique_lock w(write_mu_, std::try_to_lock);
  if (!w.owns_lock()) return;
  send_activity(/*force=*/false);
}

void DeviceRegistry::send_activity(bool force) {
  std::vector<DeviceActivity> batch;
  {
    std::unique_lock lock(mu_);
    if (!force && clock_.now() - last_activity_send_ < options_.activity_flush_interval) return;
    last_activity_send_ = clock_.now();
    batch.reserve(dirty_.size());
    for (const auto& id : dirty_) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      const Device& d = it->second.row.device;
      batch.push_back({d.id, d.state, d.last_seen_ms, d.last_error, d.last_error_ms, d.error_count});
    }
    if (batch.empty()) return;
    dirty_.clear();
  }
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const auto& a : batch) ids.push_back(a.id);
  if (!store_.put_activity(std::move(batch), {})) {
    // Busy store: keep them dirty for the next attempt.
    std::unique_lock lock(mu_);
    for (auto& id : ids) {
      if (entries_.count(id)) dirty_.insert(std::move(id));
    }
  }
}

Status DeviceRegistry::flush() {
  {
    std::lock_guard w(write_mu_);
    send_activity(/*force=*/true);
  }
  return store_.flush();
}

}  // namespace urbis::devices
