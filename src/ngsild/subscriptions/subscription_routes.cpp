#include "ngsild/subscriptions/subscription_routes.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
using http::bhttp::status;
using http::Reply;
using http::Request;
using http::Response;

namespace {

constexpr std::string_view kBase = "/ngsi-ld/v1/subscriptions";
constexpr std::string_view kErr = "https://uri.etsi.org/ngsi-ld/errors/";
constexpr size_t kDefaultLimit = 20;
constexpr size_t kMaxLimit = 1000;

Response error(status st, std::string_view kind, std::string_view detail, std::string_view field = {}) {
  json::object extra;
  if (!field.empty()) extra["field"] = field;
  return http::problem(st, std::string(kErr) + std::string(kind), kind, detail, std::move(extra));
}

// "entities[0].type: required" -> "entities[0].type".
std::string field_of(const std::string& message) {
  auto colon = message.find(": ");
  std::string f = colon == std::string::npos ? std::string() : message.substr(0, colon);
  return f.find(' ') == std::string::npos ? f : std::string();
}

Response bad_data(const Status& st) { return error(status::bad_request, "BadRequestData", st.message(), field_of(st.message())); }

// A failed @context resolution as the spec's error.
Response context_error(const Status& st) {
  if (st.code() == Code::kUnavailable) return error(status::service_unavailable, "LdContextNotAvailable", st.message());
  return error(status::bad_request, "InvalidRequest", st.message(), "@context");
}

std::string tenant_of(const Request& req) {
  auto it = req.headers.find("NGSILD-Tenant");
  // "default" names the default tenant, as in MQTT topics and the device API.
  if (it == req.headers.end() || it->value() == "default") return std::string();
  return std::string(it->value());
}

std::string header(const Request& req, std::string_view name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : std::string(it->value());
}

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

bool wants_ld(const Request& req) { return header(req, "Accept").find("application/ld+json") != std::string::npos; }

// The @context value of a request: the Link header's URL (a JSON string) or
// null. An error response when the header is malformed.
std::optional<Response> link_context(const Request& req, json::value& out) {
  out = nullptr;
  std::string link = header(req, "Link");
  if (link.empty()) return std::nullopt;
  auto url = context_url_from_link_header(link);
  if (!url.ok()) return error(status::bad_request, "BadRequestData", "Link: " + url.status().message(), "Link");
  if (*url) out = json::string(**url);
  return std::nullopt;
}

// Parses a JSON body and finds its @context per Content-Type.
std::optional<Response> body_and_context(const Request& req, json::value& body, json::value& context) {
  const std::string mt = media_type(header(req, "Content-Type"));
  if (mt != "application/json" && mt != "application/ld+json")
    return error(status::unsupported_media_type, "InvalidRequest",
                 "Content-Type must be application/json or application/ld+json", "Content-Type");
  boost::system::error_code ec;
  body = json::parse(req.body, ec);
  if (ec) return error(status::bad_request, "InvalidRequest", "body is not valid JSON: " + ec.message());
  if (!body.is_object()) return error(status::bad_request, "BadRequestData", "body must be a JSON object");
  const json::value* c = body.as_object().if_contains("@context");
  if (mt == "application/ld+json") {
    if (!c) return error(status::bad_request, "BadRequestData", "@context: required with application/ld+json", "@context");
    if (!header(req, "Link").empty())
      return error(status::bad_request, "BadRequestData", "Link: not allowed with application/ld+json", "Link");
    context = *c;
    return std::nullopt;
  }
  if (c) return error(status::bad_request, "BadRequestData", "@context: not allowed with application/json (use a Link header)", "@context");
  return link_context(req, context);
}

// A response body in the requester's form (Link header or inline @context).
Response respond(const Request& req, json::value body, const Context& ctx, status st = status::ok) {
  const bool ld = wants_ld(req);
  auto with_ctx = [&ctx](json::value& v) {
    if (!v.is_object()) return;
    json::object o;
    o["@context"] = ctx.is_core() ? json::value(json::string(kCoreContextUrl)) : ctx.source();
    for (auto& [k, m] : v.as_object()) o[k] = std::move(m);
    v = std::move(o);
  };
  if (ld) {
    if (body.is_array())
      for (auto& v : body.as_array()) with_ctx(v);
    else
      with_ctx(body);
  }
  Response r = Response::json(body, st);
  if (ld) {
    r.content_type = "application/ld+json";
  } else {
    const std::string& url = ctx.link_url();
    r.headers.emplace_back("Link", link_header_for(url.empty() ? std::string(kCoreContextUrl) : url));
  }
  return r;
}

struct Env {
  SubscriptionManager& manager;
  ContextResolver& resolver;
  const model::EntityStore& entities;
  const Clock& clock;

  bool tenant_exists(const std::string& t) const {
    if (t.empty() || manager.has_tenant(t)) return true;
    auto ts = entities.tenants();
    return std::find(ts.begin(), ts.end(), t) != ts.end();
  }
  Response no_tenant(const std::string& t) const {
    return error(status::not_found, "NonexistentTenant", "tenant '" + t + "' does not exist", "NGSILD-Tenant");
  }
  // Resolves `value` and runs `then(ctx)`; replies with the error otherwise.
  template <typename Then>
  void with_context(const json::value& value, Reply reply, Then then) const {
    resolver.resolve(value, [reply, then = std::move(then)](Result<std::shared_ptr<const Context>> r) mutable {
      if (!r.ok()) {
        reply(context_error(r.status()));
        return;
      }
      then(std::move(r).value(), std::move(reply));
    });
  }
  // The notification context of `sub`: `request_ctx` unless jsonldContext names another.
  template <typename Then>
  void with_notification_context(const Subscription& sub, std::shared_ptr<const Context> request_ctx, Reply reply,
                                 Then then) const {
    if (sub.jsonld_context.empty()) {
      then(std::move(request_ctx), std::move(reply));
      return;
    }
    with_context(json::string(sub.jsonld_context), std::move(reply), std::move(then));
  }
};

std::optional<Response> check_id(const Request& req, std::string& id) {
  id = std::string(req.param("id").value_or(""));
  if (!model::looks_like_uri(id)) return error(status::bad_request, "BadRequestData", "id: not an absolute URI", "id");
  return std::nullopt;
}

Response store_error(const Status& st, std::string_view id) {
  switch (st.code()) {
    case Code::kAlreadyExists: return error(status::conflict, "AlreadyExists", st.message(), "id");
    case Code::kNotFound: return error(status::not_found, "ResourceNotFound", st.message(), "id");
    default: return error(status::internal_server_error, "InternalError", st.message());
  }
}

std::optional<size_t> parse_size(std::string_view s) {
  size_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

}  // namespace

Status register_subscription_routes(http::Router& router, SubscriptionManager& manager, ContextResolver& resolver,
                                    const model::EntityStore& entities, const Clock& clock) {
  auto env = std::make_shared<Env>(Env{manager, resolver, entities, clock});
  const std::string base(kBase);

  Status st = router.add_async(
      http::bhttp::verb::post, base, "NGSI-LD: create a subscription (201 + Location)",
      [env](Request req, Reply reply) {
        json::value body, context;
        if (auto err = body_and_context(req, body, context)) return reply(std::move(*err));
        const std::string tenant = tenant_of(req);
        env->with_context(context, std::move(reply), [env, body = std::move(body), context, tenant](
                                                         std::shared_ptr<const Context> ctx, Reply reply) {
          SubscriptionParseOptions po;
          po.now_ms = env->clock.unix_ms();
          auto sub = parse_subscription(body, *ctx, po);
          if (!sub.ok()) return reply(bad_data(sub.status()));
          sub->context = context;
          Subscription s = std::move(sub).value();
          env->with_notification_context(
              s, ctx, std::move(reply),
              [env, s, tenant](std::shared_ptr<const Context> nctx, Reply reply) mutable {
                const std::string id = s.id;
                env->manager.create(tenant, std::move(s), std::move(nctx), [reply, id](const Status& st) {
                  if (!st.ok()) return reply(store_error(st, id));
                  Response r;
                  r.status = status::created;
                  r.body.clear();
                  r.headers.emplace_back("Location", std::string(kBase) + "/" + id);
                  reply(std::move(r));
                });
              });
        });
      });
  if (!st.ok()) return st;

  st = router.add_async(
      http::bhttp::verb::get, base, "NGSI-LD: list subscriptions (?limit, ?offset, ?count=true)",
      [env](Request req, Reply reply) {
        const std::string tenant = tenant_of(req);
        if (!env->tenant_exists(tenant)) return reply(env->no_tenant(tenant));
        size_t limit = kDefaultLimit, offset = 0;
        if (auto l = req.query_param("limit")) {
          auto n = parse_size(*l);
          if (!n || *n > kMaxLimit)
            return reply(error(status::bad_request, "BadRequestData",
                               "limit: expected 0.." + std::to_string(kMaxLimit), "limit"));
          limit = *n;
        }
        if (auto o = req.query_param("offset")) {
          auto n = parse_size(*o);
          if (!n) return reply(error(status::bad_request, "BadRequestData", "offset: expected a number >= 0", "offset"));
          offset = *n;
        }
        bool count = false;
        if (auto c = req.query_param("count")) {
          if (*c != "true" && *c != "false")
            return reply(error(status::bad_request, "BadRequestData", "count: expected true or false", "count"));
          count = *c == "true";
        }
        if (limit == 0 && !count)
          return reply(error(status::bad_request, "BadRequestData", "limit: 0 requires count=true", "limit"));
        json::value context;
        if (auto err = link_context(req, context)) return reply(std::move(*err));
        env->with_context(context, std::move(reply),
                          [env, req, tenant, limit, offset, count](std::shared_ptr<const Context> ctx, Reply reply) {
                            auto all = env->manager.list(tenant);
                            const int64_t now = env->clock.unix_ms();
                            json::array out;
                            for (size_t i = offset; i < all.size() && out.size() < limit; ++i)
                              out.emplace_back(subscription_to_json(all[i], *ctx, now));
                            Response r = respond(req, std::move(out), *ctx);
                            if (count) r.headers.emplace_back("NGSILD-Results-Count", std::to_string(all.size()));
                            reply(std::move(r));
                          });
      });
  if (!st.ok()) return st;

  const std::string one = base + "/{id}";
  st = router.add_async(http::bhttp::verb::get, one, "NGSI-LD: retrieve a subscription", [env](Request req, Reply reply) {
    const std::string tenant = tenant_of(req);
    if (!env->tenant_exists(tenant)) return reply(env->no_tenant(tenant));
    std::string id;
    if (auto err = check_id(req, id)) return reply(std::move(*err));
    json::value context;
    if (auto err = link_context(req, context)) return reply(std::move(*err));
    env->with_context(context, std::move(reply), [env, req, tenant, id](std::shared_ptr<const Context> ctx, Reply reply) {
      auto s = env->manager.get(tenant, id);
      if (!s) return reply(error(status::not_found, "ResourceNotFound", "subscription '" + id + "' not found", "id"));
      reply(respond(req, subscription_to_json(*s, *ctx, env->clock.unix_ms()), *ctx));
    });
  });
  if (!st.ok()) return st;

  st = router.add_async(
      http::bhttp::verb::patch, one, "NGSI-LD: update members of a subscription (204)", [env](Request req, Reply reply) {
        const std::string tenant = tenant_of(req);
        if (!env->tenant_exists(tenant)) return reply(env->no_tenant(tenant));
        std::string id;
        if (auto err = check_id(req, id)) return reply(std::move(*err));
        json::value body, context;
        if (auto err = body_and_context(req, body, context)) return reply(std::move(*err));
        env->with_context(context, std::move(reply), [env, tenant, id, body = std::move(body)](
                                                         std::shared_ptr<const Context> ctx, Reply reply) {
          auto s = env->manager.get(tenant, id);
          if (!s) return reply(error(status::not_found, "ResourceNotFound", "subscription '" + id + "' not found", "id"));
          SubscriptionParseOptions po;
          po.now_ms = env->clock.unix_ms();
          Subscription sub = std::move(*s);
          if (Status p = patch_subscription(sub, body, *ctx, po); !p.ok()) return reply(bad_data(p));
          // The notification context: a new jsonldContext, else the one the subscription was created with.
          auto go = [env, tenant, id, sub](std::shared_ptr<const Context> nctx, Reply reply) mutable {
            env->manager.replace(tenant, std::move(sub), std::move(nctx), [reply, id](const Status& st) {
              if (!st.ok()) return reply(store_error(st, id));
              Response r;
              r.status = status::no_content;
              r.body.clear();
              reply(std::move(r));
            });
          };
          env->with_context(sub.notification_context(), std::move(reply), std::move(go));
        });
      });
  if (!st.ok()) return st;

  return router.add_async(
      http::bhttp::verb::delete_, one, "NGSI-LD: delete a subscription (204)", [env](Request req, Reply reply) {
        const std::string tenant = tenant_of(req);
        if (!env->tenant_exists(tenant)) return reply(env->no_tenant(tenant));
        std::string id;
        if (auto err = check_id(req, id)) return reply(std::move(*err));
        env->manager.remove(tenant, id, [reply, id](const Status& st) {
          if (!st.ok()) return reply(store_error(st, id));
          Response r;
          r.status = status::no_content;
          r.body.clear();
          reply(std::move(r));
        });
      });
}

}  // namespace urbis::ngsild
