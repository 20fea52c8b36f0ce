#include "ngsild/service.hpp"

#include "ngsild/api/routes.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/context_routes.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/subscriptions/subscription_manager.hpp"
#include "ngsild/subscriptions/subscription_routes.hpp"
#include "ngsild/temporal/temporal_routes.hpp"

namespace urbis::ngsild {

Service::Service(const NgsiLdOptions& options, ServiceDeps deps) : options_(options), deps_(std::move(deps)) {
  ContextOptions co;
  co.fetch_timeout = std::chrono::milliseconds(options.context_fetch_timeout_ms);
  co.max_cached = options.max_cached_contexts;
  for (const ContextFileEntry& e : options.contexts) co.preload[e.url] = e.file;
  contexts_ = std::make_unique<ContextResolver>(*deps_.io, std::move(co));
  NotifierOptions no;
  no.db_path = deps_.notification_queue_path;
  no.ca_file = deps_.notification_ca_file;
  notifier_ = std::make_unique<Notifier>(*deps_.io, std::move(no));
  sink_ = notifier_sink(*notifier_);
  subscriptions_ = std::make_unique<SubscriptionManager>(
      *deps_.subscriptions, *sink_, *deps_.clock,
      [this](const boost::json::value& c, SubscriptionManager::ContextDone done) {
        contexts_->resolve(c, std::move(done));
      });
  notifier_->on_report([this](const DeliveryReport& r) { subscriptions_->report(r); });
}

Service::~Service() { stop(); }

Status Service::start() {
  if (Status st = contexts_->start(); !st.ok()) return st;
  if (Status st = notifier_->start(); !st.ok()) return Status(st.code(), "notification queue: " + st.message());
  if (Status st = subscriptions_->start(*deps_.bus); !st.ok())
    return Status(st.code(), "subscriptions: " + st.message());
  return Status();
}

Status Service::register_routes(http::Router& router) {
  ApiDeps api;
  api.store = deps_.entities;
  api.contexts = contexts_.get();
  if (options_.record_history) api.history = deps_.history;
  api.limits.default_limit = options_.default_limit;
  api.limits.max_limit = options_.max_limit;
  api.limits.max_batch = options_.max_batch;
  if (Status st = register_ngsild_routes(router, api); !st.ok()) return st;
  temporal::TemporalRouteOptions t;
  t.default_limit = options_.default_limit;
  t.max_limit = options_.max_limit;
  if (Status st = temporal::register_temporal_routes(router, *deps_.entities, *deps_.history, *contexts_, t);
      !st.ok())
    return st;
  if (Status st = register_subscription_routes(router, *subscriptions_, *contexts_, *deps_.entities, *deps_.clock);
      !st.ok())
    return st;
  return register_context_routes(router, *contexts_);
}

void Service::stop() {
  // Matching first (it feeds the notifier), then delivery.
  if (subscriptions_) subscriptions_->stop();
  if (notifier_) notifier_->stop();
}

}  // namespace urbis::ngsild
