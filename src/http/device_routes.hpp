// The device registry's REST API, under /api/v1/devices:
//   POST   /api/v1/devices              create; 201 with the token (shown only here)
//   GET    /api/v1/devices              list; ?tenant=&profile=&state=&tag=&name=&limit=&offset=
//   GET    /api/v1/devices/{id}         one device
//   PATCH  /api/v1/devices/{id}         name, profile, location, tags, state, firmware, certificate
//   DELETE /api/v1/devices/{id}         delete (204)
//   POST   /api/v1/devices/{id}/token   rotate: a new token (200), the old one stops working
//   DELETE /api/v1/devices/{id}/token   revoke (204)
//   POST   /api/v1/devices/import       JSON array or text/csv; 200 with a report per row
//                                       {row, id, ok, error, token}
// Writes answer after the change is committed to devices.db.
//
// Who may call them: these routes hand out device credentials, so they are
// administrative. With `admin_token` set, a request must carry
// "Authorization: Bearer <admin_token>" (compared in constant time), else 401.
// With it empty, only clients on the loopback address may call them (403 for
// others). Mind a reverse proxy on the same machine: its requests come from
// loopback, so set admin_token when one is in front.
//
// Errors are ProblemDetails naming the field ("field": "state").
#pragma once

#include <optional>
#include <string>

#include "common/status.hpp"
#include "devices/registry/registry.hpp"
#include "http/router.hpp"

namespace urbis::http {

// `registry` must outlive the router.
[[nodiscard]] Status register_device_routes(Router& router, devices::DeviceRegistry& registry,
                                            std::string admin_token);

// The administrative check above, for other administrative routes (device
// commands): nullopt = allowed, else the 401/403 ProblemDetails to answer.
std::optional<Response> refuse_unless_admin(const Request& req, const std::string& admin_token);

// A ProblemDetails response for a device API failure: InvalidArgument 400
// (with "field" when the message starts with one), NotFound 404,
// AlreadyExists 409, PermissionDenied 403, ResourceExhausted 429 (a bound,
// e.g. commands queued), Unavailable 503, anything else 500.
Response device_error_response(const Status& st);

// The query parameter `name` as an integer 0..max; `def` when absent;
// InvalidArgument "<name>: expected an integer 0..<max>" otherwise.
Result<size_t> size_query_param(const Request& req, std::string_view name, size_t def, size_t max);

// Wraps `h` with the device API's administrator check: with an admin token
// set, 'Authorization: Bearer <token>'; without one, loopback clients only.
AsyncHandler admin_only(std::string admin_token, AsyncHandler h);

// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses.
bool is_loopback_address(std::string_view ip);

}  // namespace urbis::http
