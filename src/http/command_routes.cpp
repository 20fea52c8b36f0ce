#include "http/command_routes.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "http/device_routes.hpp"

namespace urbis::http {

namespace json = boost::json;
using devices::CommandService;
using devices::DeviceRegistry;

namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;

Response error_response(const Status& st) { return device_error_response(st); }

// The device of the path, or the 404 to answer.
std::optional<Response> unknown_device(const DeviceRegistry& registry, const std::string& id) {
  if (registry.get(id)) return std::nullopt;
  return error_response(NotFound("id: no device '" + id + "'"));
}

std::string location(const devices::Command& c) {
  return "/api/v1/devices/" + c.device_id + "/commands/" + c.id;
}

}  // namespace

Status register_command_routes(Router& router, DeviceRegistry& registry, CommandService& commands,
                               std::string admin_token) {
  DeviceRegistry* reg = &registry;
  CommandService* svc = &commands;
  struct Spec {
    bhttp::verb verb;
    const char* pattern;
    const char* summary;
    AsyncHandler handler;
  };
  const Spec specs[] = {
      {bhttp::verb::post, "/api/v1/devices/{id}/commands",
       "Queue a downlink command {payload | data (base64), fPort, confirmed, ttl, applicationId, devEui}; "
       "202 once it is stored",
       [reg, svc](Request req, Reply reply) {
         std::string id(*req.param("id"));
         if (auto r = unknown_device(*reg, id)) return reply(std::move(*r));
         boost::system::error_code ec;
         json::value body = json::parse(req.body, ec);
         if (ec) return reply(error_response(InvalidArgument("body: not valid JSON (" + ec.message() + ")")));
         auto request = devices::parse_command_request(body);
         if (!request.ok()) return reply(error_response(request.status()));
         svc->submit(id, std::move(*request), [reply](Result<devices::Command> r) {
           if (!r.ok()) return reply(error_response(r.status()));
           Response resp = Response::json(devices::command_to_json(*r), bhttp::status::accepted);
           resp.headers.emplace_back("Location", location(*r));
           reply(std::move(resp));
         });
       }},
      {bhttp::verb::get, "/api/v1/devices/{id}/commands",
       "A device's downlink commands with their status, newest first; ?limit=&offset=, with the total count",
       [reg, svc](Request req, Reply reply) {
         std::string id(*req.param("id"));
         if (auto r = unknown_device(*reg, id)) return reply(std::move(*r));
         auto limit = size_query_param(req, "limit", kDefaultLimit, kMaxLimit);
         if (!limit.ok()) return reply(error_response(limit.status()));
         auto offset = size_query_param(req, "offset", 0, SIZE_MAX / 2);
         if (!offset.ok()) return reply(error_response(offset.status()));
         auto page = svc->list(id, *offset, *limit);
         if (!page.ok()) return reply(error_response(page.status()));
         json::array items;
         for (const auto& c : page->items) items.emplace_back(devices::command_to_json(c));
         json::object out;
         out["total"] = page->total;
         out["offset"] = *offset;
         out["limit"] = *limit;
         out["items"] = std::move(items);
         reply(Response::json(out));
       }},
      {bhttp::verb::get, "/api/v1/devices/{id}/commands/{cid}", "One downlink command and its delivery status",
       [reg, svc](Request req, Reply reply) {
         std::string id(*req.param("id"));
         if (auto r = unknown_device(*reg, id)) return reply(std::move(*r));
         auto c = svc->get(id, std::string(*req.param("cid")));
         if (!c.ok()) return reply(error_response(c.status()));
         reply(Response::json(devices::command_to_json(*c)));
       }},
      {bhttp::verb::delete_, "/api/v1/devices/{id}/commands/{cid}",
       "Cancel a downlink command that is still queued (409 once sent or finished)",
       [reg, svc](Request req, Reply reply) {
         std::string id(*req.param("id"));
         if (auto r = unknown_device(*reg, id)) return reply(std::move(*r));
         svc->cancel(id, std::string(*req.param("cid")), [reply](const Status& st) {
           if (!st.ok()) return reply(error_response(st));
           Response r;
           r.status = bhttp::status::no_content;
           reply(std::move(r));
         });
       }},
  };
  for (const Spec& s : specs) {
    Status st = router.add_async(s.verb, s.pattern, s.summary, admin_only(admin_token, s.handler));
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace urbis::http
