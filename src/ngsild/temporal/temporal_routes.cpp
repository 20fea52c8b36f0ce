#include "ngsild/temporal/temporal_routes.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>

#include "model/entity_json.hpp"
#include "ngsild/query/query.hpp"

namespace urbis::ngsild::temporal {

namespace json = boost::json;
namespace bhttp = http::bhttp;
using ContextPtr = std::shared_ptr<const Context>;

namespace {

constexpr std::string_view kBase = "/ngsi-ld/v1/temporal";

// --- errors -----------------------------------------------------------------

bhttp::status status_of(std::string_view type) {
  if (type == "ResourceNotFound" || type == "NonexistentTenant") return bhttp::status::not_found;
  if (type == "OperationNotSupported") return bhttp::status::unprocessable_entity;
  if (type == "LdContextNotAvailable") return bhttp::status::service_unavailable;
  if (type == "InternalError") return bhttp::status::internal_server_error;
  return bhttp::status::bad_request;  // BadRequestData, InvalidRequest
}

http::Response ngsi_problem(std::string_view type, std::string_view detail, std::string_view field = {}) {
  json::object extra;
  if (!field.empty()) extra["field"] = field;
  return http::problem(status_of(type), "https://uri.etsi.org/ngsi-ld/errors/" + std::string(type), type, detail,
                       std::move(extra));
}

// "q: at 3: ..." -> "q": parse errors of query.hpp begin with the parameter name.
std::string leading_name(const std::string& message, std::string_view fallback) {
  auto colon = message.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 40) return std::string(fallback);
  std::string name = message.substr(0, colon);
  return name.find(' ') == std::string::npos ? name : std::string(fallback);
}

// --- @context and answers ------------------------------------------------

using WithContext = std::function<http::Response(const ContextPtr&)>;

// Resolves the request's @context (an application/ld+json body's "@context"
// when `body_context`, else the Link header, else the core context), then
// answers with `fn`, or with the resolution's error.
void with_context(ContextResolver& resolver, const http::Request& req, const json::value* body_context,
                  http::Reply reply, WithContext fn) {
  auto finish = [reply, fn = std::move(fn)](Result<ContextPtr> ctx) {
    if (!ctx.ok()) {
      const auto& st = ctx.status();
      if (st.code() == Code::kUnavailable) return reply(ngsi_problem("LdContextNotAvailable", st.message(), "@context"));
      return reply(ngsi_problem("InvalidRequest", st.message(), "@context"));
    }
    reply(fn(ctx.value()));
  };
  if (body_context) return resolver.resolve(*body_context, finish);
  auto link = req.headers.find("Link");
  if (link != req.headers.end()) {
    auto url = context_url_from_link_header(link->value());
    if (!url.ok()) return reply(ngsi_problem("InvalidRequest", "Link: " + url.status().message(), "Link"));
    if (url->has_value()) return resolver.resolve(json::string(**url), finish);
  }
  finish(Context::core());
}

bool wants_ld_json(const http::Request& req) {
  auto accept = req.headers.find(bhttp::field::accept);
  return accept != req.headers.end() && accept->value().find("application/ld+json") != std::string_view::npos;
}

http::Response answer(const http::Request& req, const Context& ctx, json::value body,
                      const std::optional<std::string>& content_range, std::optional<size_t> count = {}) {
  const bool ld = wants_ld_json(req);
  if (ld) {
    auto add = [&](json::value& v) {
      if (v.is_object()) v.as_object()["@context"] = ctx.source();
    };
    if (body.is_array()) {
      for (auto& v : body.as_array()) add(v);
    } else {
      add(body);
    }
  }
  http::Response r = http::Response::json(body, content_range ? bhttp::status::partial_content : bhttp::status::ok);
  if (ld) {
    r.content_type = "application/ld+json";
  } else {
    const std::string& url = ctx.link_url();
    if (!url.empty()) r.headers.emplace_back("Link", link_header_for(url));
  }
  if (content_range) r.headers.emplace_back("Content-Range", *content_range);
  if (count) r.headers.emplace_back("NGSILD-Results-Count", std::to_string(*count));
  return r;
}

// --- request pieces ---------------------------------------------------------

std::string tenant_of(const http::Request& req) {
  auto h = req.headers.find("NGSILD-Tenant");
  // "default" names the default tenant, as in MQTT topics and the device API.
  if (h == req.headers.end() || h->value() == "default") return std::string();
  return std::string(h->value());
}

// NonexistentTenant for a named tenant that holds no entity.
std::optional<http::Response> check_tenant(const model::EntityStore& state, const std::string& tenant) {
  if (tenant.empty()) return std::nullopt;
  auto tenants = state.tenants();
  if (std::binary_search(tenants.begin(), tenants.end(), tenant)) return std::nullopt;
  return ngsi_problem("NonexistentTenant", "tenant '" + tenant + "' does not exist", "NGSILD-Tenant");
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::optional<http::Response> parse_size(std::optional<std::string_view> text, std::string_view name, size_t max,
                                         size_t& out) {
  if (!text) return std::nullopt;
  size_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v > max) {
    return ngsi_problem("BadRequestData",
                        std::string(name) + ": expected an integer 0.." + std::to_string(max) + ", got '" +
                            std::string(*text) + "'",
                        name);
  }
  out = v;
  return std::nullopt;
}

// The entity selection of a query, as given (names not yet expanded).
struct Selector {
  std::string type;  // type expression text; empty = any
  std::vector<std::string> ids;
  std::string id_pattern;
};
struct Selection {
  std::vector<Selector> selectors;  // union; none = every entity
  std::vector<std::string> attrs;
  std::string q;
  std::string georel, geometry, geoproperty;
  json::value coordinates;  // string (URL) or array (body); null when absent
  size_t limit = 20;
  size_t offset = 0;
  bool count = false;
};

// Runs `sel` against the state with names expanded by `ctx`: one page of
// entities plus the total number of matches.
Result<std::pair<std::vector<std::shared_ptr<const model::Entity>>, size_t>> select_entities(
    const model::EntityStore& state, const std::string& tenant, const Selection& sel, const Context& ctx,
    std::string& bad_field) {
  auto stored = [&ctx](std::string_view n) { return ctx.to_stored(n); };
  QExpression q;
  if (!sel.q.empty()) {
    auto parsed = QExpression::parse(sel.q);
    if (!parsed.ok()) {
      bad_field = "q";
      return parsed.status();
    }
    q = std::move(parsed.value());
    q.rename_attributes(stored);
  }
  std::optional<model::GeoQuery> geo;
  if (!sel.georel.empty() || !sel.geometry.empty() || !sel.coordinates.is_null()) {
    Result<model::GeoQuery> g = sel.coordinates.is_string()
                                    ? parse_geo_query(sel.georel, sel.geometry, std::string_view(sel.coordinates.as_string()),
                                                      sel.geoproperty)
                                    : parse_geo_query(sel.georel, sel.geometry, sel.coordinates, sel.geoproperty);
    if (!g.ok()) {
      bad_field = leading_name(g.status().message(), "georel");
      return g.status();
    }
    geo = std::move(g.value());
    geo->property = ctx.to_stored(geo->property);
  }
  std::vector<std::string> attrs;
  for (const auto& a : sel.attrs) attrs.push_back(ctx.to_stored(a));

  std::vector<Selector> selectors = sel.selectors;
  if (selectors.empty()) selectors.emplace_back();
  // One store query per selector; their union in id order.
  std::map<std::string, std::shared_ptr<const model::Entity>> merged;
  const bool single = selectors.size() == 1;
  size_t total = 0;
  std::vector<std::shared_ptr<const model::Entity>> page;
  for (const auto& s : selectors) {
    model::EntityQuery eq;
    TypeExpression types;
    if (!s.type.empty()) {
      auto t = TypeExpression::parse(s.type);
      if (!t.ok()) {
        bad_field = "type";
        return t.status();
      }
      types = std::move(t.value());
      types.rename_types(stored);
      if (auto any = types.any_of()) eq.types = *any;
    }
    eq.ids = s.ids;
    eq.id_pattern = s.id_pattern;
    eq.attributes = attrs;
    eq.geo = geo;
    const bool type_filter = !types.empty() && !types.any_of();
    if (!q.empty() || type_filter) {
      eq.filter = [q, types, type_filter](const model::Entity& e) {
        return (!type_filter || types.matches(e)) && q.matches(e);
      };
    }
    if (single) {
      eq.offset = sel.offset;
      eq.limit = sel.limit;
    }
    auto r = state.query(tenant, eq);
    if (!r.ok()) {
      bad_field = s.id_pattern.empty() ? leading_name(r.status().message(), "georel") : "idPattern";
      return r.status();
    }
    if (single) {
      total = r->total;
      page = std::move(r->entities);
    } else {
      for (auto& e : r->entities) merged.emplace(e->id, e);
    }
  }
  if (!single) {
    total = merged.size();
    size_t i = 0;
    for (auto& [id, e] : merged) {
      if (i >= sel.offset && page.size() < sel.limit) page.push_back(e);
      ++i;
    }
  }
  return std::make_pair(std::move(page), total);
}

http::Response view_error(const Status& st) {
  if (st.code() == Code::kInvalidArgument) {
    return ngsi_problem("BadRequestData", st.message(), leading_name(st.message(), ""));
  }
  return ngsi_problem("InternalError", st.message());
}

// Answers a query once the request's @context is known.
http::Response run_query(const model::EntityStore& state, tsdb::TimeSeriesStore& history,
                         const TemporalRouteOptions& options, const http::Request& req, const std::string& tenant,
                         const Selection& sel, const TemporalParams& params, const ContextPtr& ctx) {
  std::string bad_field;
  auto selected = select_entities(state, tenant, sel, *ctx, bad_field);
  if (!selected.ok()) return ngsi_problem("BadRequestData", selected.status().message(), bad_field);
  ViewRequest vr;
  vr.tenant = tenant;
  for (const auto& a : sel.attrs) vr.attrs.push_back(ctx->to_stored(a));
  vr.params = params;
  vr.from_stored = [ctx](std::string_view s) { return ctx->from_stored(s); };
  auto view = build_temporal_view(history, selected->first, vr, options.view);
  if (!view.ok()) return view_error(view.status());
  std::optional<size_t> count;
  if (sel.count) count = selected->second;
  return answer(req, *ctx, std::move(view->entities), view->content_range, count);
}

std::optional<http::Response> parse_params(const ParamGetter& get, TemporalParams& out) {
  auto r = parse_temporal_params(get);
  if (auto* e = std::get_if<ParamError>(&r)) return ngsi_problem(e->type, e->detail, e->param);
  out = std::get<TemporalParams>(std::move(r));
  return std::nullopt;
}

}  // namespace

Status register_temporal_routes(http::Router& router, model::EntityStore& state, tsdb::TimeSeriesStore& history,
                                ContextResolver& contexts, TemporalRouteOptions options) {
  const std::string base(kBase);

  auto st = router.add_async(
      bhttp::verb::get, base + "/entities/{entityId}",
      "NGSI-LD: temporal evolution of one entity (timerel, timeAt, endTimeAt, attrs, lastN, options, aggrMethods, "
      "aggrPeriodDuration)",
      [&state, &history, &contexts, options](http::Request req, http::Reply reply) {
        const std::string tenant = tenant_of(req);
        if (auto bad = check_tenant(state, tenant)) return reply(std::move(*bad));
        std::string id(*req.param("entityId"));
        if (!model::looks_like_uri(id)) {
          return reply(ngsi_problem("BadRequestData", "entityId: '" + id + "' is not a URI", "entityId"));
        }
        TemporalParams params;
        if (auto bad = parse_params([&req](std::string_view n) { return req.query_param(n); }, params)) {
          return reply(std::move(*bad));
        }
        auto shared = std::make_shared<http::Request>(std::move(req));
        with_context(contexts, *shared, nullptr, reply,
                     [&state, &history, options, shared, tenant, id, params](const ContextPtr& ctx) {
                       auto e = state.get(tenant, id);
                       if (!e) {
                         return ngsi_problem("ResourceNotFound", "no entity '" + id + "'", "entityId");
                       }
                       ViewRequest vr;
                       vr.tenant = tenant;
                       if (auto a = shared->query_param("attrs")) {
                         for (const auto& n : split_list(*a)) vr.attrs.push_back(ctx->to_stored(n));
                       }
                       vr.params = params;
                       vr.from_stored = [ctx](std::string_view s) { return ctx->from_stored(s); };
                       auto view = build_temporal_view(history, {e}, vr, options.view);
                       if (!view.ok()) return view_error(view.status());
                       return answer(*shared, *ctx, std::move(view->entities.at(0)), view->content_range);
                     });
      });
  if (!st.ok()) return st;

  st = router.add_async(
      bhttp::verb::get, base + "/entities",
      "NGSI-LD: query temporal evolution of entities (type, id, idPattern, attrs, q, georel, timerel, lastN, "
      "options, limit, offset, count)",
      [&state, &history, &contexts, options](http::Request req, http::Reply reply) {
        const std::string tenant = tenant_of(req);
        if (auto bad = check_tenant(state, tenant)) return reply(std::move(*bad));
        TemporalParams params;
        if (auto bad = parse_params([&req](std::string_view n) { return req.query_param(n); }, params)) {
          return reply(std::move(*bad));
        }
        Selection sel;
        sel.limit = options.default_limit;
        Selector s;
        s.type = std::string(req.query_param("type").value_or(""));
        if (auto ids = req.query_param("id")) s.ids = split_list(*ids);
        s.id_pattern = std::string(req.query_param("idPattern").value_or(""));
        if (!s.type.empty() || !s.ids.empty() || !s.id_pattern.empty()) sel.selectors.push_back(std::move(s));
        if (auto a = req.query_param("attrs")) sel.attrs = split_list(*a);
        sel.q = std::string(req.query_param("q").value_or(""));
        sel.georel = std::string(req.query_param("georel").value_or(""));
        sel.geometry = std::string(req.query_param("geometry").value_or(""));
        sel.geoproperty = std::string(req.query_param("geoproperty").value_or(""));
        if (auto c = req.query_param("coordinates")) sel.coordinates = json::string(*c);
        if (auto bad = parse_size(req.query_param("limit"), "limit", options.max_limit, sel.limit)) {
          return reply(std::move(*bad));
        }
        if (auto bad = parse_size(req.query_param("offset"), "offset", std::numeric_limits<size_t>::max() / 2,
                                  sel.offset)) {
          return reply(std::move(*bad));
        }
        if (auto c = req.query_param("count")) {
          if (*c != "true" && *c != "false") {
            return reply(ngsi_problem("BadRequestData", "count: expected true or false", "count"));
          }
          sel.count = *c == "true";
        }
        auto shared = std::make_shared<http::Request>(std::move(req));
        with_context(contexts, *shared, nullptr, reply,
                     [&state, &history, options, shared, tenant, sel, params](const ContextPtr& ctx) {
                       return run_query(state, history, options, *shared, tenant, sel, params, ctx);
                     });
      });
  if (!st.ok()) return st;

  return router.add_async(
      bhttp::verb::post, base + "/entityOperations/query",
      "NGSI-LD: query temporal evolution of entities with a Query body (entities, attrs, q, geoQ, temporalQ)",
      [&state, &history, &contexts, options](http::Request req, http::Reply reply) {
        const std::string tenant = tenant_of(req);
        if (auto bad = check_tenant(state, tenant)) return reply(std::move(*bad));
        boost::system::error_code ec;
        json::value body = json::parse(req.body, ec);
        if (ec || !body.is_object()) {
          return reply(ngsi_problem("InvalidRequest", "the body must be a JSON object (a Query)", "body"));
        }
        const json::object& o = body.as_object();
        if (auto t = o.if_contains("type"); t && !(t->is_string() && t->as_string() == "Query")) {
          return reply(ngsi_problem("BadRequestData", "type: expected \"Query\"", "type"));
        }
        Selection sel;
        sel.limit = options.default_limit;
        auto string_list = [](const json::value& v, std::vector<std::string>& out) {
          if (v.is_string()) {
            out.emplace_back(v.as_string());
            return true;
          }
          if (!v.is_array()) return false;
          for (const auto& x : v.as_array()) {
            if (!x.is_string()) return false;
            out.emplace_back(x.as_string());
          }
          return true;
        };
        if (auto ents = o.if_contains("entities")) {
          if (!ents->is_array()) return reply(ngsi_problem("BadRequestData", "entities: expected an array", "entities"));
          for (const auto& ev : ents->as_array()) {
            if (!ev.is_object()) {
              return reply(ngsi_problem("BadRequestData", "entities: each member must be an object", "entities"));
            }
            Selector s;
            const auto& eo = ev.as_object();
            if (auto t = eo.if_contains("type")) {
              if (!t->is_string()) return reply(ngsi_problem("BadRequestData", "entities[].type: expected a string", "type"));
              s.type = std::string(t->as_string());
            }
            if (auto id = eo.if_contains("id")) {
              if (!id->is_string()) return reply(ngsi_problem("BadRequestData", "entities[].id: expected a string", "id"));
              s.ids.emplace_back(id->as_string());
            }
            if (auto ip = eo.if_contains("idPattern")) {
              if (!ip->is_string()) {
                return reply(ngsi_problem("BadRequestData", "entities[].idPattern: expected a string", "idPattern"));
              }
              s.id_pattern = std::string(ip->as_string());
            }
            sel.selectors.push_back(std::move(s));
          }
        }
        if (auto a = o.if_contains("attrs"); a && !string_list(*a, sel.attrs)) {
          return reply(ngsi_problem("BadRequestData", "attrs: expected an array of strings", "attrs"));
        }
        if (auto q = o.if_contains("q")) {
          if (!q->is_string()) return reply(ngsi_problem("BadRequestData", "q: expected a string", "q"));
          sel.q = std::string(q->as_string());
        }
        if (auto g = o.if_contains("geoQ")) {
          if (!g->is_object()) return reply(ngsi_problem("BadRequestData", "geoQ: expected an object", "geoQ"));
          const auto& go = g->as_object();
          auto str = [&go](const char* k) {
            auto v = go.if_contains(k);
            return v && v->is_string() ? std::string(v->as_string()) : std::string();
          };
          sel.georel = str("georel");
          sel.geometry = str("geometry");
          sel.geoproperty = str("geoproperty");
          if (auto c = go.if_contains("coordinates")) sel.coordinates = *c;
        }
        // temporalQ members, then the URL's parameters (options, aggrMethods, lastN ...).
        auto temporal = std::make_shared<std::map<std::string, std::string, std::less<>>>();
        if (auto tq = o.if_contains("temporalQ")) {
          if (!tq->is_object()) return reply(ngsi_problem("BadRequestData", "temporalQ: expected an object", "temporalQ"));
          for (const auto& kv : tq->as_object()) {
            if (kv.value().is_string()) (*temporal)[std::string(kv.key())] = std::string(kv.value().as_string());
            else if (kv.value().is_number() || kv.value().is_bool()) (*temporal)[std::string(kv.key())] = json::serialize(kv.value());
          }
        }
        TemporalParams params;
        auto getter = [&req, temporal](std::string_view n) -> std::optional<std::string_view> {
          if (auto it = temporal->find(n); it != temporal->end()) return std::string_view(it->second);
          return req.query_param(n);
        };
        if (auto bad = parse_params(getter, params)) return reply(std::move(*bad));
        if (auto bad = parse_size(req.query_param("limit"), "limit", options.max_limit, sel.limit)) {
          return reply(std::move(*bad));
        }
        if (auto bad = parse_size(req.query_param("offset"), "offset", std::numeric_limits<size_t>::max() / 2,
                                  sel.offset)) {
          return reply(std::move(*bad));
        }
        sel.count = req.query_param("count") == std::optional<std::string_view>("true");

        // An application/ld+json body carries its @context; application/json uses the Link header.
        const json::value* body_ctx = nullptr;
        auto ct = req.headers.find(bhttp::field::content_type);
        const bool ld = ct != req.headers.end() && ct->value().find("application/ld+json") != std::string_view::npos;
        auto body_holder = std::make_shared<json::value>(std::move(body));
        if (ld) {
          body_ctx = body_holder->as_object().if_contains("@context");
          if (!body_ctx) {
            return reply(ngsi_problem("BadRequestData", "@context: required in an application/ld+json body",
                                      "@context"));
          }
        }
        auto shared = std::make_shared<http::Request>(std::move(req));
        with_context(contexts, *shared, body_ctx, reply,
                     [&state, &history, options, shared, tenant, sel, params, body_holder](const ContextPtr& ctx) {
                       return run_query(state, history, options, *shared, tenant, sel, params, ctx);
                     });
      });
}

}  // namespace urbis::ngsild::temporal
