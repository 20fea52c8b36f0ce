// HTTP ingest for devices that cannot speak MQTT:
//
//   POST /api/v1/devices/{id}/measurements
//   Authorization: Bearer <the device's token>
//   Content-Type: application/json | application/senml+json | application/senml+cbor
//                 | application/octet-stream (binary formats, e.g. Cayenne LPP)
//   ?format=<name> overrides what the Content-Type implies; without either the
//   device profile's decoder is used.
//
// Same decoders, mapping and durability as MQTT ingest (ingest/device_ingest.hpp):
// 200 only after the data is committed, with {"entity", "type", "attributes",
// "dropped"}. Errors are ProblemDetails: 400 (payload; field "body" or
// "format"), 401 (missing or wrong token, or no such device: the same answer,
// so ids cannot be probed), 403 (quarantined or disabled), 415 (a
// Content-Type no decoder takes), 500/503 (storage).
#pragma once

#include "common/status.hpp"
#include "http/router.hpp"
#include "ingest/device_ingest.hpp"

namespace urbis::http {

// `registry` and `sink` must outlive the router.
[[nodiscard]] Status register_device_ingest_routes(Router& router, devices::DeviceRegistry& registry,
                                                   ingest::DeviceIngestSink& sink);

// GET /api/v1/profiles (every device profile, built-in and the site's) and
// GET /api/v1/profiles/{name}; administrators only, like the device API.
// `profiles` must outlive the router.
[[nodiscard]] Status register_profile_routes(Router& router, const devices::ProfileSet& profiles,
                                             std::string admin_token);

}  // namespace urbis::http
