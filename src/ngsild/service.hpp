// The NGSI-LD API as one service: it owns what the API needs besides the
// stores (the JSON-LD context resolver, the subscription manager matching
// change events, and the notifier delivering over HTTP and MQTT), and
// registers every /ngsi-ld/v1 route on the HTTP router. serve.cpp creates it
// when [ngsild] is enabled.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "config/options.hpp"
#include "http/router.hpp"
#include "model/change_events.hpp"
#include "model/entity_store.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ngsild {

class ContextResolver;
class Notifier;
class NotificationSink;
class SubscriptionManager;
class SubscriptionStore;

struct ServiceDeps {
  model::EntityStore* entities = nullptr;
  tsdb::TimeSeriesStore* history = nullptr;
  model::ChangeBus* bus = nullptr;
  const Clock* clock = nullptr;
  boost::asio::io_context* io = nullptr;  // runs context fetches and notifications
  // Where subscriptions are kept (the composition root opens the backend).
  SubscriptionStore* subscriptions = nullptr;
  // The notifier's retry queue file; "" keeps it in memory (tests).
  std::string notification_queue_path;
  // Extra PEM CA file trusted for https:// and mqtts:// endpoints besides the
  // system CAs ([outgoing_tls] ca_file); "" = system CAs only.
  std::string notification_ca_file;
};

class Service {
 public:
  // REQUIRES: every member of deps set; they outlive the service.
  Service(const NgsiLdOptions& options, ServiceDeps deps);
  ~Service();

  // Loads preloaded contexts (a missing or invalid file is an error naming
  // it), opens the notification queue (re-sending what a crash left), loads
  // the subscriptions and starts matching change events. REQUIRES: the io
  // context runs (stored subscriptions resolve their @context through it).
  [[nodiscard]] Status start();
  // Registers every NGSI-LD route. REQUIRES: start() succeeded.
  [[nodiscard]] Status register_routes(http::Router& router);
  // Stops matching and delivering (undelivered notifications stay queued on
  // disk). Idempotent; before the entity store and the io context go away.
  void stop();

 private:
  NgsiLdOptions options_;
  ServiceDeps deps_;
  std::unique_ptr<ContextResolver> contexts_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<NotificationSink> sink_;
  std::unique_ptr<SubscriptionManager> subscriptions_;
};

}  // namespace urbis::ngsild
