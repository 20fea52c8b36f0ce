#include "ngsild/api/call.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "model/entity_store.hpp"
#include "ngsild/api/history.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

std::string_view error_type_name(ErrorType t) {
  switch (t) {
    case ErrorType::kInvalidRequest: return "InvalidRequest";
    case ErrorType::kBadRequestData: return "BadRequestData";
    case ErrorType::kAlreadyExists: return "AlreadyExists";
    case ErrorType::kOperationNotSupported: return "OperationNotSupported";
    case ErrorType::kResourceNotFound: return "ResourceNotFound";
    case ErrorType::kInternalError: return "InternalError";
    case ErrorType::kTooManyResults: return "TooManyResults";
    case ErrorType::kNonexistentTenant: return "NonexistentTenant";
    case ErrorType::kLdContextNotAvailable: return "LdContextNotAvailable";
    case ErrorType::kTooComplexQuery: return "TooComplexQuery";
  }
  return "InternalError";
}

bhttp::status error_status(ErrorType t) {
  switch (t) {
    case ErrorType::kInvalidRequest:
    case ErrorType::kBadRequestData: return bhttp::status::bad_request;
    case ErrorType::kAlreadyExists: return bhttp::status::conflict;
    case ErrorType::kOperationNotSupported: return bhttp::status::unprocessable_entity;
    case ErrorType::kResourceNotFound:
    case ErrorType::kNonexistentTenant: return bhttp::status::not_found;
    case ErrorType::kTooManyResults:
    case ErrorType::kTooComplexQuery: return bhttp::status::forbidden;
    case ErrorType::kLdContextNotAvailable: return bhttp::status::service_unavailable;
    case ErrorType::kInternalError: break;
  }
  return bhttp::status::internal_server_error;
}

http::Response error(ErrorType t, std::string_view detail, std::string_view field) {
  json::object extra;
  if (!field.empty()) extra["field"] = field;
  std::string type = "https://uri.etsi.org/ngsi-ld/errors/";
  type += error_type_name(t);
  return http::problem(error_status(t), type, error_type_name(t), detail, std::move(extra));
}

namespace {

bool starts_with_strip(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::string field_from_detail(std::string_view m) {
  auto quoted = [&](size_t open) -> std::string {
    size_t close = m.find('\'', open);
    return close == std::string_view::npos ? std::string() : std::string(m.substr(open, close - open));
  };
  // The model's messages: "attribute 'temperature': ..." and "'type' must ...".
  if (m.starts_with("attribute '")) return quoted(11);
  if (m.starts_with("'")) return quoted(1);
  // The API's messages: "limit: expected ...", "geoQ.coordinates: ...".
  size_t n = 0;
  while (n < m.size() && (std::isalnum(static_cast<unsigned char>(m[n])) || m[n] == '_' || m[n] == '.' ||
                          m[n] == '@' || m[n] == '-'))
    ++n;
  if (n > 0 && m.substr(n).starts_with(": ")) return std::string(m.substr(0, n));
  return {};
}

http::Response error_from(const Status& st, std::string_view field_given) {
  std::string_view m = st.message();
  if (starts_with_strip(m, "LdContextNotAvailable: ")) return error(ErrorType::kLdContextNotAvailable, m, field_given);
  // The documented promise is a "field" member on every bad-input answer:
  // when the caller names none, the message's leading name is the field (only
  // for bad input: a storage message "sqlite: ..." names no field).
  std::string derived = field_given.empty() && st.code() == Code::kInvalidArgument
                            ? field_from_detail(m.starts_with("InvalidRequest: ") ? m.substr(16) : m)
                            : std::string();
  std::string_view field = field_given.empty() ? std::string_view(derived) : field_given;
  if (starts_with_strip(m, "InvalidRequest: ")) return error(ErrorType::kInvalidRequest, m, field);
  switch (st.code()) {
    case Code::kInvalidArgument: return error(ErrorType::kBadRequestData, m, field);
    case Code::kNotFound: return error(ErrorType::kResourceNotFound, m, field);
    case Code::kAlreadyExists: return error(ErrorType::kAlreadyExists, m, field);
    case Code::kResourceExhausted:
    case Code::kUnavailable:
    case Code::kIoError: {
      // Storage is failing (disk full, I/O error) or a queue is full: the
      // request may succeed later, which 503 says.
      http::Response r = http::problem(bhttp::status::service_unavailable,
                                       "https://uri.etsi.org/ngsi-ld/errors/InternalError", "InternalError", m);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default: return error(ErrorType::kInternalError, m, field);
  }
}

void record_then_reply(const ApiDeps& deps, const std::string& tenant, const std::shared_ptr<const model::Entity>& e,
                       const std::vector<std::string>* names, http::Reply reply, http::Response ok) {
  if (!deps.history || !e || (names && names->empty())) return reply(std::move(ok));
  std::vector<tsdb::Measurement> points = history_points(tenant, *e, names);
  if (points.empty()) return reply(std::move(ok));
  deps.history->append(std::move(points), [reply = std::move(reply), ok = std::move(ok)](const Status& st) mutable {
    if (!st.ok()) return reply(error_from(st));
    reply(std::move(ok));
  });
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The media type of a Content-Type or Accept element, lower case, without parameters.
std::string media_type(std::string_view v) {
  size_t semi = v.find(';');
  std::string_view t = v.substr(0, semi);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return lower(t);
}

enum class Accepted : uint8_t { kJson, kLd, kGeo, kNone };

// Picks the representation by the highest q among the types we can produce;
// on a tie the one listed first wins, and a wildcard gives plain JSON.
Accepted negotiate(std::string_view accept) {
  if (accept.empty()) return Accepted::kJson;
  Accepted best = Accepted::kNone;
  double best_q = 0;
  for (const std::string& part : split_list(accept)) {
    std::string type = media_type(part);
    double q = 1;
    if (size_t p = part.find("q="); p != std::string::npos) q = std::strtod(part.c_str() + p + 2, nullptr);
    Accepted a = Accepted::kNone;
    if (type == "application/ld+json") {
      a = Accepted::kLd;
    } else if (type == "application/geo+json") {
      a = Accepted::kGeo;
    } else if (type == "application/json" || type == "*/*" || type == "application/*") {
      a = Accepted::kJson;
    }
    if (a != Accepted::kNone && q > best_q) {
      best = a;
      best_q = q;
    }
  }
  return best;
}

}  // namespace

void prepare(const ApiDeps& deps, http::Request req, http::Reply reply, BodyKind body_kind, CallHandler next) {
  Call call;
  Accepted acc = negotiate(req.headers[bhttp::field::accept]);
  if (acc == Accepted::kNone) {
    reply(http::problem(bhttp::status::not_acceptable, "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest",
                        "InvalidRequest",
                        "Accept: only application/json, application/ld+json and (for entities) "
                        "application/geo+json can be produced",
                        {{"field", "Accept"}}));
    return;
  }
  call.ld_response = acc == Accepted::kLd;
  call.geo_response = acc == Accepted::kGeo;
  call.tenant = std::string(req.headers["NGSILD-Tenant"]);
  // "default" names the default tenant, as in MQTT topics and the device API.
  if (call.tenant == "default") call.tenant.clear();
  // A tenant is one MQTT topic level (urbis/ingest/<tenant>/...): a name that
  // no topic can hold would be a tenant no device can feed. (A space is allowed:
  // MQTT ingest accepts "city b".)
  if (call.tenant.size() > 128 ||
      std::any_of(call.tenant.begin(), call.tenant.end(), [](unsigned char c) {
        return c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#';
      })) {
    reply(error(ErrorType::kBadRequestData,
                "NGSILD-Tenant: at most 128 bytes, without control characters, '/', '+' or '#'", "NGSILD-Tenant"));
    return;
  }

  std::optional<std::string> link_url;
  if (auto link = req.headers[bhttp::field::link]; !link.empty()) {
    auto parsed = context_url_from_link_header(link);
    if (!parsed.ok()) {
      // The parser's message reads "InvalidRequest: Link header: ...": the
      // error type is not part of the detail.
      const Status st = parsed.status();
      std::string_view m = st.message();
      if (m.starts_with("InvalidRequest: ")) m.remove_prefix(16);
      reply(error(ErrorType::kBadRequestData, m.starts_with("Link") ? std::string(m) : "Link: " + std::string(m),
                  "Link"));
      return;
    }
    link_url = *parsed;
  }

  json::value context;  // null = none given
  if (body_kind == BodyKind::kJson) {
    std::string ctype = media_type(req.headers[bhttp::field::content_type]);
    bool ld = ctype == "application/ld+json";
    if (!ld && ctype != "application/json") {
      reply(http::problem(bhttp::status::unsupported_media_type,
                          "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest", "InvalidRequest",
                          "Content-Type: expected application/json or application/ld+json",
                          {{"field", "Content-Type"}}));
      return;
    }
    boost::system::error_code ec;
    call.body = json::parse(req.body, ec);
    if (ec) {
      reply(error(ErrorType::kInvalidRequest, "body: invalid JSON: " + ec.message(), "body"));
      return;
    }
    const json::value* body_ctx = nullptr;
    if (call.body.is_object()) {
      body_ctx = call.body.as_object().if_contains("@context");
    } else if (call.body.is_array() && !call.body.as_array().empty() && call.body.as_array()[0].is_object()) {
      // Batch operations: each entity carries its @context; the first one's
      // serves the whole request (the spec expects them to be the same).
      body_ctx = call.body.as_array()[0].as_object().if_contains("@context");
    }
    if (ld) {
      if (link_url) {
        reply(error(ErrorType::kBadRequestData,
                    "Link: a JSON-LD context Link header is not allowed with Content-Type application/ld+json",
                    "Link"));
        return;
      }
      if (!body_ctx) {
        reply(error(ErrorType::kBadRequestData,
                    "@context: required in an application/ld+json body", "@context"));
        return;
      }
      context = *body_ctx;
    } else if (body_ctx) {
      reply(error(ErrorType::kBadRequestData,
                  "@context: not allowed in an application/json body (send it in a Link header, or use "
                  "Content-Type application/ld+json)",
                  "@context"));
      return;
    }
  }
  if (link_url) context = json::string(*link_url);
  call.req = std::move(req);

  if (context.is_null()) {
    call.ctx = Context::core();
    next(std::move(call), std::move(reply));
    return;
  }
  // The continuation may run on a fetch thread; the call moves along with it.
  auto shared = std::make_shared<Call>(std::move(call));
  deps.contexts->resolve(context, [shared, next = std::move(next),
                                   reply = std::move(reply)](Result<std::shared_ptr<const Context>> r) mutable {
    if (!r.ok()) {
      reply(error_from(r.status(), "@context"));
      return;
    }
    shared->ctx = std::move(*r);
    next(std::move(*shared), std::move(reply));
  });
}

void note_tenant(const ApiDeps& deps, const Call& call) {
  if (!call.tenant.empty()) deps.tenants->add(call.tenant);
}

std::optional<http::Response> check_tenant_exists(const ApiDeps& deps, const Call& call) {
  if (call.tenant.empty() || deps.tenants->contains(call.tenant)) return std::nullopt;
  for (const std::string& t : deps.store->tenants())
    if (t == call.tenant) return std::nullopt;
  return error(ErrorType::kNonexistentTenant, "NGSILD-Tenant: no tenant '" + call.tenant + "'", "NGSILD-Tenant");
}

http::Response respond(const Call& call, json::value body, bhttp::status status) {
  if (call.geo_response) {
    // Entity routes answer GeoJSON through respond_geo(); nothing else has a
    // GeoJSON representation.
    return http::problem(bhttp::status::not_acceptable, "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest",
                         "InvalidRequest", "Accept: application/geo+json is only produced for entities",
                         {{"field", "Accept"}});
  }
  if (call.ld_response) {
    const json::value& src = call.ctx->source();
    if (body.is_object()) {
      body.as_object()["@context"] = src;
    } else if (body.is_array()) {
      for (json::value& v : body.as_array())
        if (v.is_object()) v.as_object()["@context"] = src;
    }
    http::Response r = http::Response::json(body, status);
    r.content_type = "application/ld+json";
    return r;
  }
  http::Response r = http::Response::json(body, status);
  const json::value& src = call.ctx->source();
  std::string_view url = src.is_string() ? std::string_view(src.as_string()) : kCoreContextUrl;
  r.headers.emplace_back("Link", link_header_for(url));
  return r;
}

http::Response respond_geo(const Call& call, json::object body) {
  // GeoJSON carries its JSON-LD context in the document (GS CIM 009, 4.5.16).
  body["@context"] = call.ctx->source();
  http::Response r = http::Response::json(body, bhttp::status::ok);
  r.content_type = "application/geo+json";
  return r;
}

http::Response no_content(bhttp::status status, std::string location) {
  http::Response r;
  r.status = status;
  r.content_type.clear();
  if (!location.empty()) r.headers.emplace_back("Location", std::move(location));
  return r;
}

}  // namespace urbis::ngsild
