// The NGSI-LD Temporal API over Urbis's history (ETSI GS CIM 009 v1.8, 5.7.3,
// 5.7.4, 6.18, 6.19, 6.24):
//   GET  /ngsi-ld/v1/temporal/entities/{entityId}     Retrieve temporal evolution of an entity
//   GET  /ngsi-ld/v1/temporal/entities                 Query temporal evolution of entities
//   POST /ngsi-ld/v1/temporal/entityOperations/query   the same query with a Query body
//
// Entity selection (type, id, idPattern, attrs, q, georel/geometry/coordinates/
// geoproperty, limit, offset, count) runs on the CURRENT state (EntityStore::query):
// the history of a deleted entity is not served. The temporal part (timerel,
// timeAt, endTimeAt, timeproperty, lastN, options, aggrMethods, aggrPeriodDuration)
// is parsed by temporal_params.hpp and rendered by temporal_view.hpp (paging with
// 206 and Content-Range there).
//
// Names: attrs, q, type and geoproperty are expanded with the request's @context
// (Link header, or "@context" of an application/ld+json body) to their stored
// form; the answer compacts them back. With Accept: application/ld+json the
// answer carries "@context" in each entity; otherwise a Link header.
//
// Tenants: NGSILD-Tenant header ("" = the default tenant); a tenant that holds no
// entity is 404 NonexistentTenant.
//
// Errors: ProblemDetails with the NGSI-LD type and the offending parameter in
// "field": BadRequestData (400), InvalidRequest (400, bad JSON body or @context),
// ResourceNotFound (404), NonexistentTenant (404), OperationNotSupported (422,
// timeproperty other than observedAt), LdContextNotAvailable (503).
//
// Handlers read the stores on the thread that completes the @context
// resolution (an I/O thread); answers are bounded by max_instances per series
// and by limit entities.
#pragma once

#include "common/status.hpp"
#include "http/router.hpp"
#include "model/entity_store.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/temporal/temporal_view.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ngsild::temporal {

struct TemporalRouteOptions {
  ViewOptions view;                 // per-series instance limit (206 past it), aggregation limits
  size_t default_limit = 20;        // entities per page of a query without limit=
  size_t max_limit = 1000;          // largest limit= accepted
};

// The stores and the resolver must outlive the router.
[[nodiscard]] Status register_temporal_routes(http::Router& router, model::EntityStore& state,
                                              tsdb::TimeSeriesStore& history, ContextResolver& contexts,
                                              TemporalRouteOptions options = {});

}  // namespace urbis::ngsild::temporal
