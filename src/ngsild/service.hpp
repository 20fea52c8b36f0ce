// The NGSI-LD API as one service: it owns what the API needs besides the
// stores (the JSON-LD context resolver; later the subscription manager and
// its notifier), and registers every /ngsi-ld/v1 route on the HTTP router.
// serve.cpp creates it when [ngsild] is enabled.
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

struct ServiceDeps {
  model::EntityStore* entities = nullptr;
  tsdb::TimeSeriesStore* history = nullptr;
  model::ChangeBus* bus = nullptr;
  const Clock* clock = nullptr;
  boost::asio::io_context* io = nullptr;  // runs context fetches and notifications
  std::string data_dir;
};

class Service {
 public:
  // REQUIRES: every member of deps set; they outlive the service.
  Service(const NgsiLdOptions& options, ServiceDeps deps);
  ~Service();

  // Loads preloaded contexts (a missing or invalid file is an error naming it).
  [[nodiscard]] Status start();
  // Registers every NGSI-LD route. REQUIRES: start() succeeded.
  [[nodiscard]] Status register_routes(http::Router& router);
  // Stops background work (notifications stay queued on disk).
  void stop();

 private:
  NgsiLdOptions options_;
  ServiceDeps deps_;
  std::unique_ptr<ContextResolver> contexts_;
};

}  // namespace urbis::ngsild
