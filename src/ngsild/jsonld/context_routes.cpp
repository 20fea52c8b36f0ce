#include "ngsild/jsonld/context_routes.hpp"

#include <boost/json.hpp>

#include "model/entity_json.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kErrors = "https://uri.etsi.org/ngsi-ld/errors/";
constexpr std::string_view kCollection = "/ngsi-ld/v1/jsonldContexts";

http::Response ngsi_problem(bhttp::status s, std::string_view type, std::string_view detail,
                            json::object extra = {}) {
  return http::problem(s, std::string(kErrors) + std::string(type), type, detail, std::move(extra));
}

json::object details_of(const ContextResolver::Entry& e) {
  json::object o;
  o["URL"] = e.url;
  o["localId"] = e.id;
  o["kind"] = e.kind;
  o["createdAt"] = model::format_datetime_ms(e.created_at_ms);
  if (e.kind == "Cached") {
    o["lastUsage"] = model::format_datetime_ms(e.last_usage_ms);
    o["numberOfHits"] = e.hits;
  }
  return o;
}

// details=true|false; anything else names the parameter.
std::optional<http::Response> bool_param(const http::Request& req, std::string_view name, bool& out) {
  out = false;
  auto v = req.query_param(name);
  if (!v) return std::nullopt;
  if (*v == "true") out = true;
  else if (*v != "false")
    return ngsi_problem(bhttp::status::bad_request, "BadRequestData",
                        std::string(name) + " must be true or false, not '" + std::string(*v) + "'",
                        {{"field", name}});
  return std::nullopt;
}

http::Response document_response(const json::value& doc) {
  http::Response r = http::Response::json(doc);
  r.content_type = "application/ld+json";
  return r;
}

}  // namespace

http::Response context_problem(const Status& st) {
  const std::string& m = st.message();
  auto detail_after = [&](std::string_view prefix) { return std::string_view(m).substr(prefix.size()); };
  if (m.starts_with("LdContextNotAvailable: ")) {
    return ngsi_problem(bhttp::status::service_unavailable, "LdContextNotAvailable",
                        detail_after("LdContextNotAvailable: "));
  }
  if (m.starts_with("InvalidRequest: ")) {
    return ngsi_problem(bhttp::status::bad_request, "InvalidRequest", detail_after("InvalidRequest: "));
  }
  if (m.starts_with("BadRequestData: ")) {
    return ngsi_problem(bhttp::status::bad_request, "BadRequestData", detail_after("BadRequestData: "));
  }
  switch (st.code()) {
    case Code::kInvalidArgument: return ngsi_problem(bhttp::status::bad_request, "BadRequestData", m);
    case Code::kNotFound: return ngsi_problem(bhttp::status::not_found, "ResourceNotFound", m);
    case Code::kAlreadyExists: return ngsi_problem(bhttp::status::conflict, "AlreadyExists", m);
    case Code::kUnavailable:
    case Code::kResourceExhausted:
      return ngsi_problem(bhttp::status::service_unavailable, "OperationNotSupported", m);
    default: return ngsi_problem(bhttp::status::internal_server_error, "InternalError", m);
  }
}

Status register_context_routes(http::Router& router, ContextResolver& resolver, std::string public_base_url) {
  const std::string collection(kCollection);
  auto st = router.add(
      bhttp::verb::get, collection,
      "JSON-LD @contexts known to the broker (URLs); ?details=true for metadata, ?kind=Hosted|Cached|ImplicitlyCreated",
      [&resolver](const http::Request& req) {
        bool details = false;
        if (auto bad = bool_param(req, "details", details)) return std::move(*bad);
        std::string kind(req.query_param("kind").value_or(""));
        if (!kind.empty() && kind != "Hosted" && kind != "Cached" && kind != "ImplicitlyCreated") {
          return ngsi_problem(bhttp::status::bad_request, "BadRequestData",
                              "kind must be Hosted, Cached or ImplicitlyCreated, not '" + kind + "'",
                              {{"field", "kind"}});
        }
        json::array out;
        for (const auto& e : resolver.list()) {
          if (!kind.empty() && e.kind != kind) continue;
          if (details) out.emplace_back(details_of(e));
          else out.emplace_back(e.url);
        }
        return http::Response::json(out);
      });
  if (!st.ok()) return st;

  st = router.add(bhttp::verb::post, collection, "Host a JSON-LD @context given as {\"@context\": ...}; 201 + Location",
                  [&resolver, public_base_url](const http::Request& req) {
                    boost::system::error_code ec;
                    json::value doc = json::parse(req.body, ec);
                    if (ec) {
                      return ngsi_problem(bhttp::status::bad_request, "InvalidRequest",
                                          "the body is not JSON: " + ec.message());
                    }
                    if (!doc.is_object() || !doc.get_object().contains("@context")) {
                      return ngsi_problem(bhttp::status::bad_request, "BadRequestData",
                                          "the body must be a JSON object with an \"@context\" member",
                                          {{"field", "@context"}});
                    }
                    std::string base = public_base_url;
                    if (base.empty()) {
                      auto host = req.headers[bhttp::field::host];
                      base = "http://" + std::string(host.empty() ? "localhost" : host);
                    }
                    auto url = resolver.host(std::move(doc), base + std::string(kCollection));
                    if (!url.ok()) return context_problem(url.status());
                    http::Response r;
                    r.status = bhttp::status::created;
                    r.headers.emplace_back("Location", *url);
                    return r;
                  });
  if (!st.ok()) return st;

  const std::string item = collection + "/{contextId}";
  st = router.add(bhttp::verb::get, item, "One JSON-LD @context document by local id or URL; ?details=true for metadata",
                  [&resolver](const http::Request& req) {
                    bool details = false;
                    if (auto bad = bool_param(req, "details", details)) return std::move(*bad);
                    std::string id(*req.param("contextId"));
                    auto e = resolver.get(id);
                    if (!e) {
                      return ngsi_problem(bhttp::status::not_found, "ResourceNotFound",
                                          "no @context '" + id + "'", {{"field", "contextId"}});
                    }
                    if (details) return http::Response::json(details_of(*e));
                    return document_response(e->document);
                  });
  if (!st.ok()) return st;

  return router.add_async(
      bhttp::verb::delete_, item, "Delete a hosted or cached JSON-LD @context; ?reload=true refetches a cached one",
      [&resolver](http::Request req, http::Reply reply) {
        bool reload = false;
        if (auto bad = bool_param(req, "reload", reload)) return reply(std::move(*bad));
        std::string id(*req.param("contextId"));
        auto e = resolver.get(id);
        if (!e) {
          return reply(ngsi_problem(bhttp::status::not_found, "ResourceNotFound", "no @context '" + id + "'",
                                    {{"field", "contextId"}}));
        }
        if (reload && e->kind != "Cached") {
          return reply(ngsi_problem(bhttp::status::bad_request, "BadRequestData",
                                    "reload=true applies to Cached contexts only; '" + e->url + "' is " + e->kind,
                                    {{"field", "reload"}}));
        }
        if (auto rm = resolver.remove(e->url); !rm.ok()) return reply(context_problem(rm));
        if (!reload) {
          http::Response r;
          r.status = bhttp::status::no_content;
          return reply(std::move(r));
        }
        resolver.resolve(json::value(e->url), [reply](Result<std::shared_ptr<const Context>> r) {
          if (!r.ok()) return reply(context_problem(r.status()));
          http::Response ok;
          ok.status = bhttp::status::no_content;
          reply(std::move(ok));
        });
      });
}

}  // namespace urbis::ngsild
