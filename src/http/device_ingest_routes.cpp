#include "http/device_ingest_routes.hpp"

#include <boost/json.hpp>

#include <memory>
#include <optional>
#include <string>

#include "http/device_routes.hpp"

namespace urbis::http {

namespace json = boost::json;

namespace {

Response unauthorized(std::string_view detail) {
  Response r = problem(bhttp::status::unauthorized, "about:blank", "Unauthorized", detail);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"urbis-devices\"");
  return r;
}

// The media type without parameters, lowercased.
std::string media_type(const Request& req) {
  auto it = req.headers.find(bhttp::field::content_type);
  if (it == req.headers.end()) return {};
  std::string_view v = it->value();
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::string out(v);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Status register_device_ingest_routes(Router& router, devices::DeviceRegistry& registry,
                                     ingest::DeviceIngestSink& sink) {
  auto* reg = &registry;
  auto* in = &sink;
  return router.add_async(
      bhttp::verb::post, "/api/v1/devices/{id}/measurements",
      "A device sends measurements with its own token (Bearer); decoded with its profile, 200 after commit",
      [reg, in](Request req, Reply reply) {
        std::string id(*req.param("id"));
        std::optional<std::string> token;
        if (auto it = req.headers.find(bhttp::field::authorization); it != req.headers.end()) {
          constexpr std::string_view kBearer = "Bearer ";
          std::string_view v = it->value();
          if (v.substr(0, kBearer.size()) == kBearer) token = std::string(v.substr(kBearer.size()));
        }
        if (!token) return reply(unauthorized("send the device's token as 'Authorization: Bearer <token>'"));
        auto auth = reg->authenticate(id, token, "");
        using O = devices::DeviceAuthOutcome;
        // An unknown id answers like a wrong token: without a token nobody
        // learns which device ids exist.
        if (auth.outcome == O::kNotADevice || auth.outcome == O::kBadCredentials) {
          return reply(unauthorized("no device '" + id + "' with this token"));
        }
        if (auth.outcome == O::kNotAllowed) {
          auto d = reg->get(id);
          const std::string state = d ? std::string(devices::state_name(d->state)) : "quarantined or disabled";
          return reply(device_error_response(Status(Code::kPermissionDenied, "device '" + id + "' is " + state)));
        }

        std::optional<devices::Format> format;
        if (auto f = req.query_param("format")) {
          // An unencoded '+' in a query string arrives as a space: "senml+json" typed as is.
          std::string name(*f);
          for (auto& c : name) c = c == ' ' ? '+' : c;
          format = devices::format_from_name(name);
          if (!format) {
            return reply(device_error_response(InvalidArgument(
                "format: '" + name + "' is not one of json, senml (senml-json), senml-cbor, lpp, chirpstack, tts")));
          }
        } else {
          const std::string mt = media_type(req);
          if (mt == "application/senml+json") {
            format = devices::Format::kSenmlJson;
          } else if (mt == "application/senml+cbor") {
            format = devices::Format::kSenmlCbor;
          } else if (!mt.empty() && mt != "application/json" && mt != "application/octet-stream") {
            return reply(problem(bhttp::status::unsupported_media_type, "about:blank", "Unsupported Media Type",
                                 "Content-Type '" + mt +
                                     "' is not taken; use application/json, application/senml+json, "
                                     "application/senml+cbor or application/octet-stream",
                                 json::object{{"field", "Content-Type"}}));
          }
        }

        std::string_view key;
        if (auto it = req.headers.find("Idempotency-Key"); it != req.headers.end()) key = it->value();
        auto summary = std::make_shared<ingest::DeviceIngestSink::Summary>();
        auto body = std::make_shared<std::string>(std::move(req.body));
        in->ingest_payload(id, format, *body, key, summary, [reply, summary, body](const Status& st) {
          if (!st.ok()) {
            if (st.code() == Code::kInvalidArgument) {
              return reply(problem(bhttp::status::bad_request, "about:blank", "Bad Request", st.message(),
                                   json::object{{"field", "body"}}));
            }
            return reply(device_error_response(st));
          }
          json::object o;
          o["tenant"] = devices::tenant_to_wire(summary->tenant);
          o["entity"] = summary->entity_id;
          o["type"] = summary->entity_type;
          o["attributes"] = summary->attributes;
          o["dropped"] = summary->dropped;
          reply(Response::json(o));
        });
      });
}

Status register_profile_routes(Router& router, const devices::ProfileSet& profiles, std::string admin_token) {
  const auto* set = &profiles;
  Status st = router.add_async(bhttp::verb::get, "/api/v1/profiles",
                               "Every device profile (built-in and from [devices] profiles_dir), by name",
                               admin_only(admin_token, [set](Request, Reply reply) {
                                 json::array a;
                                 for (const auto& p : set->all()) a.push_back(devices::profile_to_json(*p));
                                 reply(Response::json(a));
                               }));
  if (!st.ok()) return st;
  return router.add_async(bhttp::verb::get, "/api/v1/profiles/{name}", "One device profile",
                          admin_only(admin_token, [set](Request req, Reply reply) {
                            std::string name(*req.param("name"));
                            auto p = set->find(name);
                            if (!p) {
                              return reply(device_error_response(NotFound("name: no profile '" + name + "'")));
                            }
                            reply(Response::json(devices::profile_to_json(*p)));
                          }));
}

}  // namespace urbis::http
