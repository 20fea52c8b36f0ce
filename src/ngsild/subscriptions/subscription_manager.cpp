#include "ngsild/subscriptions/subscription_manager.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <future>
#include <regex>
#include <unordered_set>

#include "common/log.hpp"
#include "common/thread_name.hpp"
#include "model/entity_json.hpp"
#include "model/json_format.hpp"
#include "ngsild/subscriptions/notification.hpp"

namespace urbis::ngsild {

namespace json = boost::json;

// One live subscription. `sub` (without counters) and `ctx` never change after
// the entry is built; a PATCH builds a new entry.
struct SubscriptionManager::Entry {
  std::string tenant;
  Subscription sub;
  std::shared_ptr<const Context> ctx;  // notification @context
  std::vector<std::regex> id_patterns;  // parallel to sub.entities ("" pattern = none)
  // Guarded by the manager's mu_:
  SubscriptionStats stats;
  bool dirty = false;  // counters changed since the last save
  // Replaced or deleted (set under write_mu_), so never saved again.
  std::atomic<bool> retired{false};
  // Matcher thread only: when the last notification was handed to the sink.
  std::optional<std::chrono::steady_clock::time_point> last_sent;
};

struct SubscriptionManager::TenantIndex {
  std::unordered_map<std::string, std::vector<std::shared_ptr<Entry>>> by_entity_id;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Entry>>> by_type;
  std::vector<std::shared_ptr<Entry>> any;
};

namespace {

std::shared_ptr<const Context> or_core(std::shared_ptr<const Context> c) { return c ? c : Context::core(); }

bool selector_matches(const EntitySelector& s, const std::regex* pattern, const std::string& id,
                      const std::vector<std::string>& types) {
  if (std::find(types.begin(), types.end(), s.type) == types.end()) return false;
  if (!s.id.empty() && s.id != id) return false;
  if (pattern && !std::regex_search(id, *pattern)) return false;
  return true;
}

// What an event changed, per attribute: one of the kAttribute* triggers.
struct Change {
  uint8_t entity = 0;  // kEntityCreated / kEntityUpdated / kEntityDeleted
  std::vector<std::pair<std::string, uint8_t>> attributes;
};

Change change_of(const model::ChangeEvent& e, const model::Entity* entity) {
  Change c;
  using Kind = model::ChangeEvent::Kind;
  if (e.kind == Kind::kEntityDeleted) {
    c.entity = kEntityDeleted;
    return c;
  }
  if (!entity) return c;
  if (e.kind == Kind::kEntityCreated) {
    c.entity = kEntityCreated;
    for (const auto& [name, inst] : entity->attributes) c.attributes.emplace_back(name, kAttributeCreated);
    return c;
  }
  c.entity = kEntityUpdated;
  auto classify = [&](const std::string& name) -> uint8_t {
    auto it = entity->attributes.find(name);
    if (it == entity->attributes.end()) return kAttributeDeleted;
    for (const auto& i : it->second)
      if (i.created_at_ms != i.modified_at_ms) return kAttributeUpdated;
    return kAttributeCreated;
  };
  if (e.attributes.empty()) {
    for (const auto& [name, inst] : entity->attributes) c.attributes.emplace_back(name, classify(name));
  } else {
    for (const auto& name : e.attributes) c.attributes.emplace_back(name, classify(name));
  }
  return c;
}

bool trigger_fires(const Subscription& s, const Change& c) {
  if (c.entity == kEntityDeleted) return (s.triggers & kEntityDeleted) != 0;
  if (c.entity == kEntityCreated && (s.triggers & kEntityCreated)) return true;
  // entityUpdated stands for every attribute trigger.
  uint8_t attr_triggers = s.triggers & (kAttributeCreated | kAttributeUpdated | kAttributeDeleted);
  if (s.triggers & kEntityUpdated) attr_triggers |= kAttributeCreated | kAttributeUpdated | kAttributeDeleted;
  for (const auto& [name, kind] : c.attributes) {
    if (!(attr_triggers & kind)) continue;
    if (s.watched_attributes.empty()) return true;
    if (std::find(s.watched_attributes.begin(), s.watched_attributes.end(), name) != s.watched_attributes.end())
      return true;
  }
  return false;
}

}  // namespace

SubscriptionManager::SubscriptionManager(SubscriptionStore& store, NotificationSink& sink, const Clock& clock,
                                         ContextLookup lookup, SubscriptionManagerOptions options)
    : store_(store), sink_(sink), clock_(clock), lookup_(std::move(lookup)), options_(options) {}

SubscriptionManager::~SubscriptionManager() { stop(); }

Status SubscriptionManager::start(model::ChangeBus& bus) {
  auto stored = store_.load();
  if (!stored.ok()) return stored.status();
  for (const StoredSubscription& row : *stored) {
    auto sub = subscription_from_stored(row.document);
    if (!sub.ok()) return Status(sub.status().code(), "subscription '" + row.id + "' in tenant '" + row.tenant +
                                                          "': " + sub.status().message());
    std::shared_ptr<const Context> ctx;
    json::value cv = sub->notification_context();
    if (!cv.is_null() && lookup_) {
      auto p = std::make_shared<std::promise<Result<std::shared_ptr<const Context>>>>();
      auto f = p->get_future();
      lookup_(cv, [p](Result<std::shared_ptr<const Context>> r) { p->set_value(std::move(r)); });
      if (f.wait_for(options_.context_timeout) == std::future_status::ready) {
        auto r = f.get();
        if (r.ok()) ctx = *r;
        else
          ULOG_WARN("subscription {}: @context not available ({}); notifications use the core context", row.id,
                    r.status().message());
      } else {
        ULOG_WARN("subscription {}: @context not resolved in time; notifications use the core context", row.id);
      }
    }
    auto entry = std::make_shared<Entry>();
    entry->tenant = row.tenant;
    entry->stats = sub->stats;
    entry->ctx = or_core(ctx);
    for (const auto& sel : sub->entities)
      entry->id_patterns.emplace_back(sel.id_pattern.empty() ? std::regex() : std::regex(sel.id_pattern));
    entry->sub = std::move(sub).value();
    std::lock_guard lock(mu_);
    subs_[row.tenant][entry->sub.id] = entry;
  }
  {
    std::lock_guard lock(mu_);
    for (auto& [tenant, m] : subs_) rebuild_locked(tenant);
  }
  {
    std::lock_guard lock(qmu_);
    if (started_) return Status(Code::kInternal, "subscription manager started twice");
    started_ = true;
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  bus_ = &bus;
  token_ = bus.subscribe([this](const model::ChangeEvent& e) { on_event(e); });
  ULOG_INFO("NGSI-LD subscriptions: {} loaded", stored->size());
  return Status::Ok();
}

void SubscriptionManager::stop() {
  if (bus_) {
    bus_->unsubscribe(token_);
    bus_ = nullptr;
  }
  {
    std::lock_guard lock(qmu_);
    if (!started_) return;
    stopping_ = true;
  }
  q_not_empty_.notify_all();
  q_not_full_.notify_all();
  if (thread_.joinable()) thread_.join();
  save_stats();
  (void)store_.flush();
  {
    std::lock_guard lock(qmu_);
    started_ = false;
  }
  q_idle_.notify_all();
}

void SubscriptionManager::on_event(const model::ChangeEvent& e) {
  using Kind = model::ChangeEvent::Kind;
  if (e.kind != Kind::kEntityCreated && e.kind != Kind::kEntityUpdated && e.kind != Kind::kEntityDeleted) return;
  {
    // Cheap filter on the writer thread: a tenant without subscriptions costs one lookup.
    std::lock_guard lock(mu_);
    if (!index_.count(e.tenant)) return;
  }
  std::unique_lock lock(qmu_);
  q_not_full_.wait(lock, [this] { return stopping_ || queue_.size() < options_.queue_capacity; });
  if (stopping_) return;
  queue_.push_back(e);
  lock.unlock();
  q_not_empty_.notify_one();
}

void SubscriptionManager::run() {
  set_thread_name("ngsild-match");
  auto next_save = std::chrono::steady_clock::now() + options_.save_interval;
  std::unique_lock lock(qmu_);
  while (true) {
    q_not_empty_.wait_until(lock, next_save, [this] { return stopping_ || !queue_.empty(); });
    if (std::chrono::steady_clock::now() >= next_save) {
      lock.unlock();
      save_stats();
      lock.lock();
      next_save = std::chrono::steady_clock::now() + options_.save_interval;
    }
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    model::ChangeEvent e = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    q_not_full_.notify_one();
    process(e);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) q_idle_.notify_all();
  }
}

void SubscriptionManager::drain() {
  std::unique_lock lock(qmu_);
  q_idle_.wait(lock, [this] { return !started_ || (queue_.empty() && !busy_); });
}

void SubscriptionManager::process(const model::ChangeEvent& e) {
  ++n_events_;
  std::shared_ptr<const TenantIndex> idx;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(e.tenant);
    if (it == index_.end()) return;
    idx = it->second;
  }
  std::vector<std::shared_ptr<Entry>> candidates;
  std::unordered_set<const Entry*> seen;
  auto add = [&](const std::vector<std::shared_ptr<Entry>>& v) {
    for (const auto& en : v)
      if (seen.insert(en.get()).second) candidates.push_back(en);
  };
  if (auto it = idx->by_entity_id.find(e.entity_id); it != idx->by_entity_id.end()) add(it->second);
  std::optional<model::Entity> entity;
  const bool deleted = e.kind == model::ChangeEvent::Kind::kEntityDeleted;
  if (!deleted && e.entity_json) {
    model::EntityParseOptions po;
    po.read_sys_attrs = true;
    auto parsed = model::entity_from_text(*e.entity_json, po);
    if (!parsed.ok()) {
      ULOG_WARN("subscriptions: event for {} has an unreadable entity: {}", e.entity_id, parsed.status().message());
      return;
    }
    entity = std::move(parsed).value();
  }
  std::vector<std::string> types;
  if (entity) types = entity->types;
  else if (!e.entity_type.empty()) types.push_back(e.entity_type);
  for (const auto& t : types)
    if (auto it = idx->by_type.find(t); it != idx->by_type.end()) add(it->second);
  add(idx->any);
  if (candidates.empty()) return;

  const Change change = change_of(e, entity ? &*entity : nullptr);
  const int64_t now_ms = clock_.unix_ms();
  const auto now = clock_.now();
  // Keep the index order stable for equal candidates: by subscription id.
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a->sub.id < b->sub.id; });
  for (const auto& en : candidates) {
    const Subscription& s = en->sub;
    if (!s.entities.empty()) {
      bool any = false;
      for (size_t i = 0; i < s.entities.size() && !any; ++i) {
        const std::regex* pat = s.entities[i].id_pattern.empty() ? nullptr : &en->id_patterns[i];
        any = selector_matches(s.entities[i], pat, e.entity_id, types);
      }
      if (!any) continue;
    }
    if (!trigger_fires(s, change)) continue;
    if (!s.is_active) continue;
    if (s.expires_at_ms && *s.expires_at_ms <= now_ms) continue;
    if (entity) {
      if (!s.q.empty() && !s.q.matches(*entity)) continue;
      if (s.geo_q && !geo_matches(s.geo_q->query, *entity)) continue;
    } else if (!s.q.empty() || s.geo_q) {
      // Deletions: nothing to evaluate q/geoQ on; they concern the entity as it was.
    }
    if (s.throttling_s && en->last_sent &&
        now - *en->last_sent < std::chrono::duration<double>(*s.throttling_s)) {
      ++n_throttled_;
      continue;
    }
    en->last_sent = now;
    Delivery d = build_delivery(e.tenant, s, *en->ctx, entity ? &*entity : nullptr, e, now_ms);
    ++n_notifications_;
    sink_.enqueue(std::move(d));
  }
}

void SubscriptionManager::rebuild_locked(const std::string& tenant) {
  auto it = subs_.find(tenant);
  if (it == subs_.end() || it->second.empty()) {
    index_.erase(tenant);
    if (it != subs_.end()) subs_.erase(it);
    return;
  }
  auto idx = std::make_shared<TenantIndex>();
  for (const auto& [id, en] : it->second) {
    if (en->sub.entities.empty()) {
      idx->any.push_back(en);
      continue;
    }
    for (const auto& sel : en->sub.entities) {
      auto& v = sel.id.empty() ? idx->by_type[sel.type] : idx->by_entity_id[sel.id];
      if (std::find(v.begin(), v.end(), en) == v.end()) v.push_back(en);
    }
  }
  index_[tenant] = std::move(idx);
}

std::shared_ptr<SubscriptionManager::Entry> SubscriptionManager::find_locked(const std::string& tenant,
                                                                             const std::string& id) const {
  auto t = subs_.find(tenant);
  if (t == subs_.end()) return nullptr;
  auto it = t->second.find(id);
  return it == t->second.end() ? nullptr : it->second;
}

void SubscriptionManager::create(const std::string& tenant, Subscription sub,
                                 std::shared_ptr<const Context> notify_ctx, Done done) {
  const int64_t now = clock_.unix_ms();
  sub.created_at_ms = sub.modified_at_ms = now;
  sub.stats = {};
  auto entry = std::make_shared<Entry>();
  entry->tenant = tenant;
  entry->ctx = or_core(std::move(notify_ctx));
  for (const auto& sel : sub.entities)
    entry->id_patterns.emplace_back(sel.id_pattern.empty() ? std::regex() : std::regex(sel.id_pattern));
  entry->sub = std::move(sub);
  const std::string id = entry->sub.id;
  bool exists = false;
  {
    std::lock_guard lock(mu_);
    auto& pend = pending_[tenant];
    exists = find_locked(tenant, id) || std::find(pend.begin(), pend.end(), id) != pend.end();
    if (!exists) pend.push_back(id);
    if (pend.empty()) pending_.erase(tenant);
  }
  if (exists) {
    done(Status(Code::kAlreadyExists, "subscription '" + id + "' already exists"));
    return;
  }
  std::lock_guard wlock(write_mu_);
  store_.put(tenant, id, subscription_to_stored(entry->sub), [this, entry, tenant, id, done](const Status& st) {
    {
      std::lock_guard lock(mu_);
      auto& pend = pending_[tenant];
      pend.erase(std::remove(pend.begin(), pend.end(), id), pend.end());
      if (pend.empty()) pending_.erase(tenant);
      if (st.ok()) {
        subs_[tenant][id] = entry;
        rebuild_locked(tenant);
      }
    }
    done(st);
  });
}

void SubscriptionManager::replace(const std::string& tenant, Subscription sub,
                                  std::shared_ptr<const Context> notify_ctx, Done done) {
  auto entry = std::make_shared<Entry>();
  entry->tenant = tenant;
  entry->ctx = or_core(std::move(notify_ctx));
  for (const auto& sel : sub.entities)
    entry->id_patterns.emplace_back(sel.id_pattern.empty() ? std::regex() : std::regex(sel.id_pattern));
  entry->sub = std::move(sub);
  const std::string id = entry->sub.id;
  std::lock_guard wlock(write_mu_);
  std::shared_ptr<Entry> old;
  {
    std::lock_guard lock(mu_);
    old = find_locked(tenant, id);
    if (old) entry->stats = old->stats;
  }
  if (!old) {
    done(NotFound("subscription '" + id + "' not found"));
    return;
  }
  old->retired = true;
  Subscription doc = entry->sub;
  doc.stats = entry->stats;
  store_.put(tenant, id, subscription_to_stored(doc), [this, entry, old, tenant, id, done](const Status& st) {
    {
      std::lock_guard lock(mu_);
      if (st.ok() && find_locked(tenant, id) == old) {
        entry->stats = old->stats;  // reports that arrived meanwhile
        entry->dirty = old->dirty;
        entry->last_sent = std::nullopt;
        subs_[tenant][id] = entry;
        rebuild_locked(tenant);
      }
    }
    if (!st.ok()) old->retired = false;
    done(st);
  });
}

void SubscriptionManager::remove(const std::string& tenant, const std::string& id, Done done) {
  std::lock_guard wlock(write_mu_);
  std::shared_ptr<Entry> old;
  {
    std::lock_guard lock(mu_);
    old = find_locked(tenant, id);
  }
  if (!old) {
    done(NotFound("subscription '" + id + "' not found"));
    return;
  }
  old->retired = true;
  store_.erase(tenant, id, [this, old, tenant, id, done](const Status& st) {
    if (st.ok()) {
      {
        std::lock_guard lock(mu_);
        auto t = subs_.find(tenant);
        if (t != subs_.end() && t->second.count(id) && t->second[id] == old) {
          t->second.erase(id);
          rebuild_locked(tenant);
        }
      }
      sink_.forget(tenant, id);
    }
    done(st);
  });
}

std::optional<Subscription> SubscriptionManager::get(const std::string& tenant, const std::string& id) const {
  std::lock_guard lock(mu_);
  auto en = find_locked(tenant, id);
  if (!en) return std::nullopt;
  Subscription s = en->sub;
  s.stats = en->stats;
  return s;
}

std::vector<Subscription> SubscriptionManager::list(const std::string& tenant) const {
  std::vector<Subscription> out;
  std::lock_guard lock(mu_);
  auto t = subs_.find(tenant);
  if (t == subs_.end()) return out;
  for (const auto& [id, en] : t->second) {
    out.push_back(en->sub);
    out.back().stats = en->stats;
  }
  std::sort(out.begin(), out.end(), [](const Subscription& a, const Subscription& b) { return a.id < b.id; });
  return out;
}

bool SubscriptionManager::has_tenant(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  return subs_.count(tenant) > 0;
}

void SubscriptionManager::report(const DeliveryReport& r) {
  std::lock_guard lock(mu_);
  auto en = find_locked(r.tenant, r.subscription_id);
  if (!en) return;
  SubscriptionStats& st = en->stats;
  ++st.times_sent;
  st.last_notification_ms = r.at_ms;
  if (r.ok) {
    st.last_success_ms = r.at_ms;
  } else {
    ++st.times_failed;
    st.last_failure_ms = r.at_ms;
    st.last_failure_reason = r.error;
  }
  en->dirty = true;
}

void SubscriptionManager::save_stats() {
  std::lock_guard wlock(write_mu_);
  std::vector<std::pair<std::shared_ptr<Entry>, SubscriptionStats>> dirty;
  {
    std::lock_guard lock(mu_);
    for (auto& [tenant, m] : subs_) {
      for (auto& [id, en] : m) {
        if (!en->dirty || en->retired) continue;
        en->dirty = false;
        dirty.emplace_back(en, en->stats);
      }
    }
  }
  for (auto& [en, stats] : dirty) {
    Subscription doc = en->sub;
    doc.stats = stats;
    store_.put(en->tenant, doc.id, subscription_to_stored(doc), [id = doc.id](const Status& st) {
      if (!st.ok()) ULOG_WARN("subscription {}: counters not saved: {}", id, st.message());
    });
  }
}

SubscriptionManager::Stats SubscriptionManager::stats() const {
  return {n_events_.load(), n_notifications_.load(), n_throttled_.load()};
}

}  // namespace urbis::ngsild
