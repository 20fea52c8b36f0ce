#include "devices/commands/service.hpp"

#include <algorithm>
#include <set>

#include "common/log.hpp"
#include "common/thread_name.hpp"
#include "mqtt/codec/topic_match.hpp"

namespace urbis::devices {

namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000LL;
constexpr int64_t kPruneEveryMs = 3600 * 1000LL;

bool has_tag(const Device& d, std::string_view tag) {
  return std::find(d.tags.begin(), d.tags.end(), tag) != d.tags.end();
}

bool has_wildcard(std::string_view f) { return f.find_first_of("+#") != std::string_view::npos; }

}  // namespace

CommandTransport choose_transport(const Device& device, bool route_known, const CommandRequest& request) {
  if (has_tag(device, "lorawan") || route_known || request.application_id || request.dev_eui)
    return CommandTransport::kLorawan;
  return CommandTransport::kMqtt;
}

CommandService::CommandService(DeviceRegistry& registry, CommandStore& store, DownlinkPublisher& publisher,
                               const Clock& clock, CommandOptions options)
    : registry_(registry), store_(store), publisher_(publisher), clock_(clock), options_(options) {}

CommandService::~CommandService() { stop(); }

Status CommandService::load() {
  auto queued = store_.load_queued();
  if (!queued.ok()) return queued.status();
  auto routes = store_.load_routes();
  if (!routes.ok()) return routes.status();
  std::lock_guard lock(mu_);
  routes_ = std::move(*routes);
  for (Command& c : *queued) {
    Entry e;
    e.seq = next_seq_++;
    e.version = next_version_++;
    e.committed = true;
    std::string id = c.id;
    e.cmd = std::move(c);
    entries_.emplace(std::move(id), std::move(e));
  }
  if (!entries_.empty()) ULOG_INFO("commands: {} queued downlink commands restored", entries_.size());
  return Status::Ok();
}

void CommandService::start() {
  if (!options_.background || worker_.joinable()) return;
  worker_ = std::thread([this] { run(); });
}

void CommandService::stop() {
  {
    std::lock_guard lock(wake_mu_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void CommandService::wake() {
  {
    std::lock_guard lock(wake_mu_);
    wake_ = true;
  }
  wake_cv_.notify_one();
}

void CommandService::run() {
  set_thread_name("dev-commands");
  for (;;) {
    {
      std::unique_lock lock(wake_mu_);
      wake_cv_.wait_for(lock, options_.sweep_interval, [this] { return wake_ || stopping_; });
      if (stopping_) return;
      wake_ = false;
    }
    tick();
  }
}

size_t CommandService::queued() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [id, e] : entries_)
    if (e.cmd.status == CommandStatus::kQueued) ++n;
  return n;
}

void CommandService::submit(const std::string& device_id, CommandRequest request, Callback<Command> done) {
  auto device = registry_.get(device_id);
  if (!device) return done(NotFound("id: no device '" + device_id + "'"));
  const int64_t now = clock_.unix_ms();
  Command c;
  c.id = random_uuid();
  c.tenant = device->tenant;
  c.device_id = device_id;
  c.created_ms = now;
  c.status_ms = now;
  const int64_t ttl_s = request.ttl_s ? *request.ttl_s : options_.default_ttl.count();
  c.expires_ms = now + ttl_s * 1000;
  c.payload = std::move(request.payload);
  c.data = std::move(request.data);
  c.fport = request.fport.value_or(1);
  c.confirmed = request.confirmed;

  std::unique_lock wlock(write_mu_);
  Status refused;
  {
    std::lock_guard lock(mu_);
    auto route = routes_.find(device_id);
    c.transport = choose_transport(*device, route != routes_.end(), request);
    if (c.transport == CommandTransport::kLorawan) {
      if (request.dev_eui) {
        c.dev_eui = *request.dev_eui;
      } else if (is_dev_eui(device_id)) {
        c.dev_eui = device_id;
        std::transform(c.dev_eui.begin(), c.dev_eui.end(), c.dev_eui.begin(),
                       [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
      } else {
        refused = InvalidArgument("devEui: device '" + device_id +
                                  "' is reached over LoRaWAN but its id is not a DevEUI (16 hex digits); give devEui");
      }
      if (request.application_id) c.application_id = *request.application_id;
    }
    size_t for_device = 0;
    size_t total = 0;
    for (const auto& [id, e] : entries_) {
      if (e.cmd.status != CommandStatus::kQueued) continue;
      ++total;
      if (e.cmd.device_id == device_id) ++for_device;
    }
    if (!refused.ok()) {
    } else if (for_device >= options_.max_pending_per_device) {
      refused = Status(Code::kResourceExhausted, "commands: device '" + device_id + "' already has " +
                                                     std::to_string(for_device) +
                                                     " queued commands (the limit); wait or cancel some");
    } else if (total >= options_.max_pending_total) {
      refused = Status(Code::kResourceExhausted,
                       "commands: " + std::to_string(total) + " commands are queued in all (the limit)");
    } else {
      Entry e;
      e.cmd = c;
      e.seq = next_seq_++;
      e.version = next_version_++;
      entries_.emplace(c.id, std::move(e));
    }
  }
  if (!refused.ok()) return done(refused);
  store_.put(c, [this, c, done = std::move(done)](const Status& st) {
    if (!st.ok()) {
      {
        std::lock_guard lock(mu_);
        entries_.erase(c.id);
      }
      return done(st);
    }
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(c.id);
      if (it != entries_.end()) {
        it->second.committed = true;
        it->second.due = true;
      }
    }
    done(c);
    wake();
  });
}

Result<Command> CommandService::get(const std::string& device_id, const std::string& command_id) const {
  // Memory first (it is never older than the store), then the committed row.
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(command_id);
    if (it != entries_.end() && it->second.committed) {
      if (it->second.cmd.device_id != device_id) return NotFound("cid: no command '" + command_id + "'");
      return it->second.cmd;
    }
  }
  auto row = store_.get(command_id);
  if (!row.ok()) return row.status();
  if (!*row || (*row)->device_id != device_id) return NotFound("cid: no command '" + command_id + "'");
  return std::move(**row);
}

Result<CommandPage> CommandService::list(const std::string& device_id, size_t offset, size_t limit) const {
  // Snapshot memory before reading the store: a final status committed in
  // between is then either in the snapshot or in the rows.
  std::map<std::string, Command> overlay;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : entries_)
      if (e.committed && e.cmd.device_id == device_id) overlay.emplace(id, e.cmd);
  }
  auto page = store_.list(device_id, offset, limit);
  if (!page.ok()) return page.status();
  for (Command& c : page->items) {
    auto it = overlay.find(c.id);
    if (it != overlay.end()) c = it->second;
  }
  return page;
}

void CommandService::cancel(const std::string& device_id, const std::string& command_id, StatusCallback done) {
  std::unique_lock wlock(write_mu_);
  std::optional<Command> found;
  Status refused;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(command_id);
    if (it != entries_.end() && it->second.committed) {
      if (it->second.cmd.device_id != device_id) {
        refused = NotFound("cid: no command '" + command_id + "'");
      } else if (it->second.cmd.status != CommandStatus::kQueued) {
        refused = Status(Code::kAlreadyExists, "status: the command is " +
                                                   std::string(command_status_name(it->second.cmd.status)) +
                                                   "; only a queued command can be cancelled");
      } else {
        found = it->second.cmd;
        entries_.erase(it);
      }
    }
  }
  if (!refused.ok()) return done(refused);
  if (!found) {
    auto row = store_.get(command_id);
    if (!row.ok()) return done(row.status());
    if (!*row || (*row)->device_id != device_id) return done(NotFound("cid: no command '" + command_id + "'"));
    // Stored but not in memory: it finished.
    return done(Status(Code::kAlreadyExists, "status: the command is " +
                                                 std::string(command_status_name((*row)->status)) +
                                                 "; only a queued command can be cancelled"));
  }
  store_.erase(command_id, std::move(done));
}

void CommandService::note_lorawan_route(std::string_view device_id, std::string_view application_id) {
  if (device_id.empty() || application_id.empty()) return;
  std::unique_lock wlock(write_mu_);
  bool waiting = false;
  {
    std::lock_guard lock(mu_);
    auto it = routes_.find(std::string(device_id));
    if (it != routes_.end() && it->second == application_id) return;
    routes_[std::string(device_id)] = std::string(application_id);
    for (auto& [id, e] : entries_) {
      if (e.cmd.device_id == device_id && e.cmd.status == CommandStatus::kQueued) {
        e.due = true;
        waiting = true;
      }
    }
  }
  store_.put_route(std::string(device_id), std::string(application_id), [id = std::string(device_id)](const Status& st) {
    if (!st.ok()) ULOG_WARN("commands: cannot remember the ChirpStack application of '{}': {}", id, st.message());
  });
  wlock.unlock();
  if (waiting) wake();
}

void CommandService::on_subscribed(std::string_view filter) {
  bool any = false;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : entries_) {
      if (e.cmd.status != CommandStatus::kQueued || e.cmd.topic.empty()) continue;
      bool match = has_wildcard(filter) ? mqtt::topic_matches(filter, e.cmd.topic) : filter == e.cmd.topic;
      if (match) {
        e.due = true;
        any = true;
      }
    }
  }
  if (any) wake();
}

bool CommandService::offer(Entry& e, std::chrono::steady_clock::time_point now) {
  Command& c = e.cmd;
  const Command before = c;
  e.due = false;
  e.next_try = now + options_.retry_interval;
  auto device = registry_.get(c.device_id);
  if (!device) {
    c.status = CommandStatus::kFailed;
    c.error = "the device no longer exists";
  } else if (c.transport == CommandTransport::kMqtt) {
    c.topic = down_topic(*device);
    ++c.attempts;
    if (publisher_.publish(c.topic, mqtt_payload(c), c.expires_ms, true) > 0) {
      c.status = CommandStatus::kSent;
      c.error.clear();
    } else {
      c.error = "waiting for the device to subscribe to " + c.topic;
    }
  } else {
    std::string app = c.application_id;
    if (app.empty()) {
      auto r = routes_.find(c.device_id);
      if (r != routes_.end()) app = r->second;
    }
    if (app.empty()) {
      c.error = "waiting for the ChirpStack application id: give applicationId, or it is learned from the device's next uplink";
    } else {
      c.application_id = app;
      c.topic = chirpstack_down_topic(app, c.dev_eui);
      ++c.attempts;
      if (publisher_.publish(c.topic, chirpstack_enqueue_json(c), c.expires_ms, false) > 0) {
        c.status = CommandStatus::kSent;
        c.error.clear();
      } else {
        c.error = "waiting for a subscriber to " + c.topic + " (ChirpStack's MQTT integration)";
      }
    }
  }
  if (c.status != before.status) c.status_ms = clock_.unix_ms();
  // Attempts alone are not worth a write per retry; they are written with the next change.
  return c.status != before.status || c.error != before.error || c.topic != before.topic ||
         c.application_id != before.application_id;
}

void CommandService::tick() {
  std::unique_lock wlock(write_mu_);
  std::vector<Write> writes;
  bool prune = false;
  const int64_t now_ms = clock_.unix_ms();
  const auto now = clock_.now();
  {
    std::lock_guard lock(mu_);
    std::vector<Entry*> order;
    for (auto& [id, e] : entries_)
      if (e.committed && e.cmd.status == CommandStatus::kQueued) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) { return a->seq < b->seq; });
    std::set<std::string_view> blocked;  // devices with an older command still waiting
    for (Entry* e : order) {
      Command& c = e->cmd;
      bool changed = false;
      if (c.expires_ms <= now_ms) {
        c.status = CommandStatus::kExpired;
        c.status_ms = now_ms;
        c.error = "not sent within its time to live";
        changed = true;
      } else if (blocked.count(c.device_id)) {
        continue;
      } else if (e->due || now >= e->next_try) {
        changed = offer(*e, now);
      }
      if (c.status == CommandStatus::kQueued) blocked.insert(c.device_id);
      if (changed) {
        e->version = next_version_++;
        writes.push_back({c, e->version});
      }
    }
    if (options_.history_days > 0 && now_ms - last_prune_ms_ >= kPruneEveryMs) {
      last_prune_ms_ = now_ms;
      prune = true;
    }
  }
  write(std::move(writes));
  if (prune) {
    store_.prune(now_ms - int64_t(options_.history_days) * kDayMs, [](const Status& st) {
      if (!st.ok()) ULOG_WARN("commands: pruning old commands failed: {}", st.message());
    });
  }
}

void CommandService::write(std::vector<Write> writes) {
  for (Write& w : writes) {
    const bool final = w.cmd.status != CommandStatus::kQueued;
    std::string id = w.cmd.id;
    store_.put(std::move(w.cmd), [this, id, final, version = w.version](const Status& st) {
      if (!st.ok()) ULOG_WARN("commands: cannot store the status of command {}: {}", id, st.message());
      if (!final) return;
      // Committed (or lost): the store answers for it from now on.
      std::lock_guard lock(mu_);
      auto it = entries_.find(id);
      if (it != entries_.end() && it->second.version == version) entries_.erase(it);
    });
  }
}

Status CommandService::flush() { return store_.flush(); }

}  // namespace urbis::devices
