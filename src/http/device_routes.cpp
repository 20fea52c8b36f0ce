#include "http/device_routes.hpp"

#include <openssl/crypto.h>

#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>

#include "devices/registry/import.hpp"

namespace urbis::http {

namespace json = boost::json;
using devices::DeviceRegistry;

namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;

// The field a Status message names: the text before the first ':' when it looks like a field.
std::string field_of(const std::string& message) {
  size_t colon = message.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 64) return {};
  std::string f = message.substr(0, colon);
  if (f.find(' ') != std::string::npos) return {};
  return f;
}

}  // namespace

Response device_error_response(const Status& st) {
  bhttp::status code = bhttp::status::internal_server_error;
  switch (st.code()) {
    case Code::kInvalidArgument: code = bhttp::status::bad_request; break;
    case Code::kNotFound: code = bhttp::status::not_found; break;
    case Code::kAlreadyExists: code = bhttp::status::conflict; break;
    case Code::kPermissionDenied: code = bhttp::status::forbidden; break;
    case Code::kResourceExhausted: code = bhttp::status::too_many_requests; break;  // a bound (commands queued)
    case Code::kUnavailable: code = bhttp::status::service_unavailable; break;
    default: break;
  }
  json::object extra;
  if (code != bhttp::status::internal_server_error) {
    if (std::string f = field_of(st.message()); !f.empty()) extra["field"] = f;
  }
  return problem(code, "about:blank", std::string(bhttp::obsolete_reason(code)), st.message(), std::move(extra));
}

// The admin check; nullopt = allowed.
std::optional<Response> refuse_unless_admin(const Request& req, const std::string& admin_token) {
  if (admin_token.empty()) {
    if (is_loopback_address(req.remote_ip)) return std::nullopt;
    return problem(bhttp::status::forbidden, "about:blank", "Forbidden",
                   "the device API is open to loopback clients only; set [http] admin_token to call it remotely");
  }
  auto h = req.headers.find(bhttp::field::authorization);
  std::string_view v = h == req.headers.end() ? std::string_view() : std::string_view(h->value());
  constexpr std::string_view kBearer = "Bearer ";
  bool ok = v.size() == kBearer.size() + admin_token.size() && v.substr(0, kBearer.size()) == kBearer &&
            CRYPTO_memcmp(v.data() + kBearer.size(), admin_token.data(), admin_token.size()) == 0;
  if (ok) return std::nullopt;
  Response r = problem(bhttp::status::unauthorized, "about:blank", "Unauthorized",
                       "the device API needs 'Authorization: Bearer <admin token>'");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"urbis\"");
  return r;
}

namespace {

Response error_response(const Status& st) { return device_error_response(st); }

Result<json::value> parse_body(const Request& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return InvalidArgument("body: not valid JSON (" + ec.message() + ")");
  return v;
}


json::object with_token(const devices::DeviceWithToken& d) {
  json::object o = devices::device_to_json(d.device);
  o["token"] = d.token;
  return o;
}

AsyncHandler admin(std::string admin_token, AsyncHandler h) {
  return [admin_token = std::move(admin_token), h = std::move(h)](Request req, Reply reply) {
    if (auto refused = refuse_unless_admin(req, admin_token)) return reply(std::move(*refused));
    h(std::move(req), std::move(reply));
  };
}

Result<devices::ListQuery> list_query(const Request& req) {
  devices::ListQuery q;
  if (auto t = req.query_param("tenant")) {
    if (Status st = devices::validate_tenant(*t); !st.ok()) return st;
    q.tenant = devices::tenant_from_wire(*t);
  }
  if (auto p = req.query_param("profile")) q.profile = std::string(*p);
  if (auto s = req.query_param("state")) {
    q.state = devices::parse_state(*s);
    if (!q.state) return InvalidArgument("state: expected one of provisioned, active, silent, quarantined, disabled");
  }
  if (auto t = req.query_param("tag")) q.tag = std::string(*t);
  if (auto n = req.query_param("name")) q.name_prefix = std::string(*n);
  auto limit = size_query_param(req, "limit", kDefaultLimit, kMaxLimit);
  if (!limit.ok()) return limit.status();
  auto offset = size_query_param(req, "offset", 0, SIZE_MAX / 2);
  if (!offset.ok()) return offset.status();
  q.limit = *limit;
  q.offset = *offset;
  return q;
}

// Runs the creates of an import one by one, in order, and answers once all completed.
void run_import(DeviceRegistry& registry, std::vector<devices::ImportRow> rows, Reply reply) {
  struct State {
    std::mutex mu;
    json::array report;  // guarded by mu; one slot per row
    std::atomic<size_t> pending;
    size_t ok = 0;  // guarded by mu
    Reply reply;
  };
  auto state = std::make_shared<State>();
  state->report.resize(rows.size());
  state->pending = rows.size() + 1;  // +1: the loop itself, so the reply waits for every submission
  state->reply = std::move(reply);
  auto finish_one = [state]() {
    if (state->pending.fetch_sub(1) != 1) return;
    json::object out;
    out["total"] = state->report.size();
    out["created"] = state->ok;
    out["failed"] = state->report.size() - state->ok;
    out["rows"] = std::move(state->report);
    state->reply(Response::json(out));
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    auto row = std::make_shared<devices::ImportRow>(std::move(rows[i]));
    auto record = [state, i, row, finish_one](const Result<devices::DeviceWithToken>& r) {
      json::object line;
      line["row"] = row->row;
      line["id"] = r.ok() ? r->device.id : row->id;
      line["ok"] = r.ok();
      line["error"] = r.ok() ? json::value(nullptr) : json::value(json::string(r.status().message()));
      line["token"] = r.ok() ? json::value(json::string(r->token)) : json::value(nullptr);
      {
        std::lock_guard lock(state->mu);
        state->report[i] = std::move(line);
        if (r.ok()) ++state->ok;
      }
      finish_one();
    };
    if (!row->spec.ok()) {
      record(row->spec.status());
      continue;
    }
    registry.create(row->spec.value(), record);
  }
  finish_one();
}

}  // namespace

bool is_loopback_address(std::string_view ip) {
  if (ip.substr(0, 7) == "::ffff:") ip.remove_prefix(7);
  return ip.substr(0, 4) == "127." || ip == "::1";
}

Status register_device_routes(Router& router, DeviceRegistry& registry, std::string admin_token) {
  DeviceRegistry* reg = &registry;
  struct Spec {
    bhttp::verb verb;
    const char* pattern;
    const char* summary;
    AsyncHandler handler;
  };
  const Spec specs[] = {
      {bhttp::verb::post, "/api/v1/devices", "Create a device; the answer holds its token, shown only this once",
       [reg](Request req, Reply reply) {
         auto body = parse_body(req);
         if (!body.ok()) return reply(error_response(body.status()));
         auto spec = devices::parse_device_spec(*body);
         if (!spec.ok()) return reply(error_response(spec.status()));
         reg->create(std::move(*spec), [reply](Result<devices::DeviceWithToken> r) {
           if (!r.ok()) return reply(error_response(r.status()));
           Response resp = Response::json(with_token(*r), bhttp::status::created);
           resp.headers.emplace_back("Location", "/api/v1/devices/" + r->device.id);
           reply(std::move(resp));
         });
       }},
      {bhttp::verb::get, "/api/v1/devices",
       "List devices; ?tenant=&profile=&state=&tag=&name= (prefix) &limit=&offset=, with the total count",
       [reg](Request req, Reply reply) {
         auto q = list_query(req);
         if (!q.ok()) return reply(error_response(q.status()));
         devices::DevicePage page = reg->list(*q);
         json::array items;
         for (const auto& d : page.items) items.emplace_back(devices::device_to_json(d));
         json::object out;
         out["total"] = page.total;
         out["offset"] = q->offset;
         out["limit"] = q->limit;
         out["items"] = std::move(items);
         reply(Response::json(out));
       }},
      {bhttp::verb::get, "/api/v1/devices/{id}", "One device (never its token)",
       [reg](Request req, Reply reply) {
         std::string id(*req.param("id"));
         auto d = reg->get(id);
         if (!d) return reply(error_response(NotFound("id: no device '" + id + "'")));
         reply(Response::json(devices::device_to_json(*d)));
       }},
      {bhttp::verb::patch, "/api/v1/devices/{id}",
       "Change name, profile, location, tags, state, firmware or certificate of a device",
       [reg](Request req, Reply reply) {
         auto body = parse_body(req);
         if (!body.ok()) return reply(error_response(body.status()));
         auto patch = devices::parse_device_patch(*body);
         if (!patch.ok()) return reply(error_response(patch.status()));
         reg->update(std::string(*req.param("id")), std::move(*patch), [reply](Result<devices::Device> r) {
           if (!r.ok()) return reply(error_response(r.status()));
           reply(Response::json(devices::device_to_json(*r)));
         });
       }},
      {bhttp::verb::delete_, "/api/v1/devices/{id}", "Delete a device and its credentials",
       [reg](Request req, Reply reply) {
         reg->remove(std::string(*req.param("id")), [reply](const Status& st) {
           if (!st.ok()) return reply(error_response(st));
           Response r;
           r.status = bhttp::status::no_content;
           reply(std::move(r));
         });
       }},
      {bhttp::verb::post, "/api/v1/devices/{id}/token",
       "Rotate a device's token: the answer holds the new one, the old one stops working",
       [reg](Request req, Reply reply) {
         reg->rotate_token(std::string(*req.param("id")), [reply](Result<devices::DeviceWithToken> r) {
           if (!r.ok()) return reply(error_response(r.status()));
           reply(Response::json(with_token(*r)));
         });
       }},
      {bhttp::verb::delete_, "/api/v1/devices/{id}/token", "Revoke a device's token",
       [reg](Request req, Reply reply) {
         reg->revoke_token(std::string(*req.param("id")), [reply](Result<devices::Device> r) {
           if (!r.ok()) return reply(error_response(r.status()));
           Response resp;
           resp.status = bhttp::status::no_content;
           reply(std::move(resp));
         });
       }},
      {bhttp::verb::post, "/api/v1/devices/import",
       "Create many devices from a JSON array or text/csv; a report per row {row, id, ok, error, token}",
       [reg](Request req, Reply reply) {
         auto ct = req.headers.find(bhttp::field::content_type);
         bool csv = ct != req.headers.end() && std::string_view(ct->value()).substr(0, 8) == "text/csv";
         Result<std::vector<devices::ImportRow>> rows = InvalidArgument("body: empty");
         if (csv) {
           rows = devices::parse_import_csv(req.body);
         } else {
           auto body = parse_body(req);
           if (!body.ok()) return reply(error_response(body.status()));
           rows = devices::parse_import_json(*body);
         }
         if (!rows.ok()) return reply(error_response(rows.status()));
         run_import(*reg, std::move(*rows), std::move(reply));
       }},
  };
  for (const Spec& s : specs) {
    if (Status st = router.add_async(s.verb, s.pattern, s.summary, admin(admin_token, s.handler)); !st.ok()) return st;
  }
  return Status::Ok();
}

AsyncHandler admin_only(std::string admin_token, AsyncHandler h) { return admin(std::move(admin_token), std::move(h)); }

Result<size_t> size_query_param(const Request& req, std::string_view name, size_t def, size_t max) {
  auto v = req.query_param(name);
  if (!v) return def;
  size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n > max)
    return InvalidArgument(std::string(name) + ": expected an integer 0.." + std::to_string(max));
  return n;
}

}  // namespace urbis::http
