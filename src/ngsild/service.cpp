#include "ngsild/service.hpp"

#include "ngsild/api/routes.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/context_routes.hpp"
#include "ngsild/temporal/temporal_routes.hpp"

namespace urbis::ngsild {

Service::Service(const NgsiLdOptions& options, ServiceDeps deps) : options_(options), deps_(std::move(deps)) {
  ContextOptions co;
  co.fetch_timeout = std::chrono::milliseconds(options.context_fetch_timeout_ms);
  co.max_cached = options.max_cached_contexts;
  for (const ContextFileEntry& e : options.contexts) co.preload[e.url] = e.file;
  contexts_ = std::make_unique<ContextResolver>(*deps_.io, std::move(co));
}

Service::~Service() = default;

Status Service::start() { return contexts_->start(); }

Status Service::register_routes(http::Router& router) {
  ApiDeps api;
  api.store = deps_.entities;
  api.contexts = contexts_.get();
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
  return register_context_routes(router, *contexts_);
}

void Service::stop() {}

}  // namespace urbis::ngsild
