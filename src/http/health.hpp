// GET /api/v1/health: is this node up, which version, for how long.
//
// Answers {"status":"ok","version":URBIS_VERSION,"uptime_s":N} merged with the
// members the app's HealthProvider returns (store state, connection counts, ...).
// A provider member with the same key wins, so the app can report
// {"status":"degraded"}; the HTTP status stays 200 because the process answers.
#pragma once

#include <boost/json/object.hpp>
#include <functional>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "http/router.hpp"

namespace urbis::http {

// Called on an I/O thread for every health request: must be cheap and must not
// block. May be empty (no extra members).
using HealthProvider = std::function<boost::json::object()>;

// Registers GET /api/v1/health. Uptime counts from this call.
// REQUIRES: `clock` outlives `router`.
[[nodiscard]] Status register_health_routes(Router& router, const Clock& clock,
                                            HealthProvider provider);

}  // namespace urbis::http
