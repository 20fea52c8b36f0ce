// The routes this module itself serves, registered in one call, so that
// `urbis routes`, docs/http-routes.md and the running server share one table.
#pragma once

#include "common/clock.hpp"
#include "common/status.hpp"
#include "http/health.hpp"
#include "http/router.hpp"

namespace urbis::http {

struct CoreRouteOptions {
  HealthProvider health;       // extra members for /api/v1/health; may be empty
  bool mqtt_websocket = true;  // list GET /mqtt (MqttOptions::websocket)
};

// Registers GET /api/v1/health and, when enabled, GET /mqtt.
// REQUIRES: `clock` outlives `router`.
[[nodiscard]] Status register_core_routes(Router& router, const Clock& clock, CoreRouteOptions options);

}  // namespace urbis::http
