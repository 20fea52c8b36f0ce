#include "http/routes.hpp"

#include "http/server.hpp"

namespace urbis::http {

Status register_core_routes(Router& router, const Clock& clock, CoreRouteOptions options) {
  if (Status s = register_health_routes(router, clock, std::move(options.health)); !s.ok()) return s;
  if (options.mqtt_websocket) return register_mqtt_websocket_route(router);
  return Status::Ok();
}

}  // namespace urbis::http
