// Downlink commands over REST, under /api/v1/devices/{id}/commands:
//   POST   /api/v1/devices/{id}/commands        queue a command; 202 + Location +
//                                               the command, once it is durable
//   GET    /api/v1/devices/{id}/commands        the device's commands, newest
//                                               first; ?limit=&offset=, with the total
//   GET    /api/v1/devices/{id}/commands/{cid}  one command and its status
//   DELETE /api/v1/devices/{id}/commands/{cid}  cancel a queued command (204);
//                                               409 once it was sent or finished
// The body of POST is devices::parse_command_request()'s (commands/command.hpp).
//
// Same administrative check as the device API (device_routes.hpp): [http]
// admin_token as a Bearer token, or loopback clients only. Errors are
// ProblemDetails naming the field; 404 for an unknown device or command, 429
// when the device already has the most queued commands allowed.
#pragma once

#include <string>

#include "common/status.hpp"
#include "devices/commands/service.hpp"
#include "devices/registry/registry.hpp"
#include "http/router.hpp"

namespace urbis::http {

// `registry` and `commands` must outlive the router.
[[nodiscard]] Status register_command_routes(Router& router, devices::DeviceRegistry& registry,
                                             devices::CommandService& commands, std::string admin_token);

}  // namespace urbis::http
