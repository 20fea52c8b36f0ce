// Plain REST reads over the stores, for operators and tests until the NGSI-LD
// API (issue 5) serves the same data in its standard form:
//   GET /api/v1/entities/{entityId}                     current state (NGSI-LD normalized JSON)
//   GET /api/v1/history/{entityId}/{attribute}          history points
// Both take ?tenant= (the default tenant without it, or with tenant=default). History takes from/to (ISO
// 8601 or epoch ms, [from, to)), limit and order=asc|desc.
#pragma once

#include "common/status.hpp"
#include "http/router.hpp"
#include "model/entity_store.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::http {

// The stores must outlive the router.
[[nodiscard]] Status register_data_routes(Router& router, model::EntityStore& state, tsdb::TimeSeriesStore& history);

}  // namespace urbis::http
