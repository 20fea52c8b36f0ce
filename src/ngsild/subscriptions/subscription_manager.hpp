// SubscriptionManager: the live NGSI-LD subscriptions of every tenant, matched
// against the entity store's change events, turned into notifications for the
// Notifier.
//
// Design note
// -----------
// Flow. The entity store publishes one ChangeEvent per committed write on its
// writer thread. The manager's handler only copies the event into a bounded
// queue (blocking the writer when the queue is full: back-pressure, never a
// silent drop) and returns. One matcher thread takes events in order, finds
// the subscriptions they concern, renders the entity per subscription and
// hands each notification to the sink (Notifier::enqueue), which keeps the
// order per subscription from there. One thread = events are matched in
// commit order, so a subscription's notifications follow the entity's
// history.
//
// Candidates. Per tenant an immutable index (replaced whole when a
// subscription is created, changed or deleted, which is rare) maps
//   entity id  -> subscriptions with a selector naming that id,
//   entity type -> subscriptions with a selector of that type and no id,
//   (any)      -> subscriptions without entities (watchedAttributes only),
// so an event costs a few hash lookups when nothing matches. A candidate then
// passes, in this order: a selector (id / idPattern / type), the trigger
// (notificationTrigger against what changed: entity created/updated/deleted,
// attributes created/updated/deleted, with watchedAttributes restricting the
// attribute triggers), isActive, expiresAt, q, geoQ, throttling.
//
// What changed. An update event names the attributes written; an attribute
// still present whose instances all have createdAt == modifiedAt is
// "created", one present otherwise "updated", one absent "deleted". A create
// event creates every attribute. Deletions (entityDeleted) are notified with
// {id, type, deletedAt}; q and geoQ cannot be evaluated on a deleted entity
// and are not.
//
// Names. Subscriptions hold canonical names (see subscription.hpp); the
// notification is compacted with the subscription's notification @context,
// resolved when it is created and again after a restart.
//
// Status. Each delivery attempt's report (report()) updates timesSent,
// timesFailed, lastNotification, lastSuccess, lastFailure; the counters are
// written to the store every save_interval and at stop(), not per attempt.
// Every store write of one subscription is issued under one lock, and a
// counter save never writes a subscription that was since replaced or
// deleted, so an older document never overwrites a newer one.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "model/change_events.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/subscriptions/subscription.hpp"
#include "ngsild/subscriptions/subscription_store.hpp"

namespace urbis::ngsild {

// Where notifications go; the Notifier in production (notifier_sink()), a fake in tests.
class NotificationSink {
 public:
  virtual ~NotificationSink() = default;
  // Must not block for long: called on the matcher thread.
  virtual void enqueue(Delivery d) = 0;
  // The subscription was deleted: drop what is still queued for it.
  virtual void forget(const std::string& tenant, const std::string& subscription_id) = 0;
};

struct SubscriptionManagerOptions {
  // Change events waiting for the matcher; the store's writer blocks beyond it.
  size_t queue_capacity = 65536;
  // How often changed status counters are written to the store.
  std::chrono::milliseconds save_interval{5000};
  // How long start() waits for the @context of each stored subscription.
  std::chrono::milliseconds context_timeout{10000};
};

class SubscriptionManager {
 public:
  using ContextDone = std::function<void(Result<std::shared_ptr<const Context>>)>;
  // Resolves an @context value (ContextResolver::resolve in production).
  using ContextLookup = std::function<void(const boost::json::value& context, ContextDone done)>;
  using Done = std::function<void(const Status&)>;

  // Everything passed in must outlive the manager.
  SubscriptionManager(SubscriptionStore& store, NotificationSink& sink, const Clock& clock, ContextLookup lookup,
                      SubscriptionManagerOptions options = {});
  ~SubscriptionManager();  // stop()
  SubscriptionManager(const SubscriptionManager&) = delete;
  SubscriptionManager& operator=(const SubscriptionManager&) = delete;

  // Loads the stored subscriptions, resolves their notification contexts
  // (a context that cannot be resolved falls back to the core context, with a
  // warning), subscribes to `bus` and starts the matcher thread. `bus` must
  // outlive the manager. Fails when the store cannot be read or holds a
  // document that does not parse.
  Status start(model::ChangeBus& bus);
  // Unsubscribes, matches what is queued, saves the counters, joins. Idempotent.
  void stop();

  // --- the API (each `done` is called after the store committed) ----------
  // AlreadyExists when the id exists in the tenant. `notify_ctx`: the
  // resolved sub.notification_context(). Sets createdAt/modifiedAt.
  void create(const std::string& tenant, Subscription sub, std::shared_ptr<const Context> notify_ctx, Done done);
  // Replaces an existing subscription (after patch_subscription()); keeps its
  // counters. NotFound when it does not exist (any more).
  void replace(const std::string& tenant, Subscription sub, std::shared_ptr<const Context> notify_ctx, Done done);
  // NotFound when it does not exist.
  void remove(const std::string& tenant, const std::string& id, Done done);
  // With the current counters; nullopt when missing.
  std::optional<Subscription> get(const std::string& tenant, const std::string& id) const;
  // All subscriptions of the tenant, ordered by id, with their counters.
  std::vector<Subscription> list(const std::string& tenant) const;
  // True when the tenant holds at least one subscription.
  bool has_tenant(const std::string& tenant) const;

  // A delivery attempt's outcome (wire Notifier::on_report here).
  void report(const DeliveryReport& r);

  // FOR TESTS: blocks until every event published before the call has been
  // matched and handed to the sink.
  void drain();
  // Writes changed counters now (also done every save_interval and at stop()).
  void save_stats();

  struct Stats {
    uint64_t events = 0;         // change events matched
    uint64_t notifications = 0;  // handed to the sink
    uint64_t throttled = 0;      // matches skipped by throttling
  };
  Stats stats() const;

 private:
  struct Entry;
  struct TenantIndex;
  void on_event(const model::ChangeEvent& e);
  void run();
  void process(const model::ChangeEvent& e);
  void rebuild_locked(const std::string& tenant);
  std::shared_ptr<Entry> find_locked(const std::string& tenant, const std::string& id) const;

  SubscriptionStore& store_;
  NotificationSink& sink_;
  const Clock& clock_;
  ContextLookup lookup_;
  const SubscriptionManagerOptions options_;

  model::ChangeBus* bus_ = nullptr;
  model::ChangeBus::Token token_ = 0;

  // The registry. Guarded by mu_.
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unordered_map<std::string, std::shared_ptr<Entry>>> subs_;
  std::unordered_map<std::string, std::shared_ptr<const TenantIndex>> index_;
  std::unordered_map<std::string, std::vector<std::string>> pending_;  // ids being created, per tenant

  // Orders the store writes of subscriptions (see the design note).
  std::mutex write_mu_;

  // Matcher queue. Guarded by qmu_.
  std::mutex qmu_;
  std::condition_variable q_not_empty_, q_not_full_, q_idle_;
  std::deque<model::ChangeEvent> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  bool started_ = false;

  std::atomic<uint64_t> n_events_{0}, n_notifications_{0}, n_throttled_{0};
  std::thread thread_;
};

// The production sink: deliveries go to `n` (which must outlive the sink).
// Wiring, in app/:
//   auto sink = ngsild::notifier_sink(notifier);
//   ngsild::SubscriptionManager manager(*store, *sink, clock, lookup);
//   notifier.on_report([&manager](const ngsild::DeliveryReport& r) { manager.report(r); });
//   notifier.start(); manager.start(bus);
std::unique_ptr<NotificationSink> notifier_sink(Notifier& n);

}  // namespace urbis::ngsild
