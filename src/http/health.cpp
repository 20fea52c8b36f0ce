#include "http/health.hpp"

#include <chrono>

namespace urbis::http {

Status register_health_routes(Router& router, const Clock& clock, HealthProvider provider) {
  const auto started = clock.now();
  return router.add(
      bhttp::verb::get, "/api/v1/health",
      "Liveness and version: {status, version, uptime_s} plus node details",
      [&clock, started, provider = std::move(provider)](const Request&) {
        boost::json::object o;
        o["status"] = "ok";
        o["version"] = URBIS_VERSION;
        o["uptime_s"] = static_cast<int64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(clock.now() - started).count());
        if (provider) {
          for (auto& kv : provider()) o[kv.key()] = std::move(kv.value());
        }
        return Response::json(o);
      });
}

}  // namespace urbis::http
