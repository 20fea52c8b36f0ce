#include <boost/json.hpp>

#include <functional>
#include <regex>

#include "model/entity_json.hpp"
#include "model/entity_store.hpp"
#include "ngsild/api/params.hpp"
#include "ngsild/api/routes.hpp"
#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using bhttp::verb;

namespace {

// The criteria of one query, from URL parameters or a Query body, before
// they become an EntityQuery.
struct Selector {
  std::vector<std::string> ids;
  std::string id_pattern;
  std::optional<TypeExpression> type;
};

struct QueryPlan {
  std::vector<Selector> selectors;  // any of them (a body may list several)
  std::vector<std::string> attrs;   // stored names; the entity has one of them
  std::optional<QExpression> q;
  std::optional<model::GeoQuery> geo;
};

// Turns the plan into an EntityQuery, using the store's indexes where the
// plan allows (one selector with a plain type list or ids) and a filter for
// the rest.
Result<model::EntityQuery> to_entity_query(QueryPlan plan) {
  model::EntityQuery eq;
  eq.attributes = plan.attrs;
  eq.geo = plan.geo;
  if (plan.selectors.size() == 1) {
    Selector& s = plan.selectors.front();
    eq.ids = s.ids;
    eq.id_pattern = s.id_pattern;
    if (s.type) {
      if (auto any = s.type->any_of()) {
        eq.types = *any;
        s.type.reset();
      }
    }
    if (!s.type) plan.selectors.clear();
  }
  std::vector<std::function<bool(const model::Entity&)>> selector_tests;
  for (Selector& s : plan.selectors) {
    std::optional<std::regex> re;
    if (!s.id_pattern.empty()) {
      try {
        re.emplace(s.id_pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return InvalidArgument("idPattern: invalid regular expression '" + s.id_pattern + "'");
      }
    }
    // A single selector keeps ids and idPattern in the EntityQuery already.
    bool check_ids = plan.selectors.size() > 1;
    selector_tests.push_back([s = std::move(s), re = std::move(re), check_ids](const model::Entity& e) {
      if (check_ids && !s.ids.empty() && std::find(s.ids.begin(), s.ids.end(), e.id) == s.ids.end()) return false;
      if (check_ids && re && !std::regex_search(e.id, *re)) return false;
      return !s.type || s.type->matches(e);
    });
  }
  std::optional<QExpression> q = std::move(plan.q);
  if (q || !selector_tests.empty()) {
    eq.filter = [q = std::move(q), tests = std::move(selector_tests)](const model::Entity& e) {
      if (!tests.empty()) {
        bool any = false;
        for (const auto& t : tests) any = any || t(e);
        if (!any) return false;
      }
      return !q || q->matches(e);
    };
  }
  return eq;
}

auto stored_namer(const Call& call) {
  return [ctx = call.ctx](std::string_view n) { return ctx->to_stored(n); };
}

Result<TypeExpression> parse_type(const Call& call, std::string_view text) {
  auto t = TypeExpression::parse(text);
  if (!t.ok()) return t.status();
  t->rename_types(stored_namer(call));
  return t;
}

Result<QExpression> parse_q(const Call& call, std::string_view text) {
  auto q = QExpression::parse(text);
  if (!q.ok()) return q.status();
  q->rename_attributes(stored_namer(call));
  return q;
}

// Runs the plan and answers with a page of entities.
void run_query(const ApiDeps& deps, const Call& call, QueryPlan plan, const http::Reply& reply) {
  auto opts = render_options(call);
  if (!opts.ok()) return reply(error_from(opts.status()));
  auto limit = size_param(call, "limit");
  if (!limit.ok()) return reply(error_from(limit.status(), "limit"));
  auto offset = size_param(call, "offset");
  if (!offset.ok()) return reply(error_from(offset.status(), "offset"));
  auto count = bool_param(call, "count", false);
  if (!count.ok()) return reply(error_from(count.status(), "count"));
  size_t lim = limit->value_or(deps.limits.default_limit);
  if (lim > deps.limits.max_limit)
    return reply(error(ErrorType::kTooManyResults,
                       "limit: " + std::to_string(lim) + " is above the maximum of " +
                           std::to_string(deps.limits.max_limit),
                       "limit"));
  if (lim == 0 && !*count)
    return reply(error(ErrorType::kBadRequestData, "limit: 0 is only allowed with count=true", "limit"));
  if (auto bad = check_tenant_exists(deps, call)) {
    // A query in a tenant that holds nothing yet is an empty answer, not an
    // error, unless the caller named a tenant that never existed.
    return reply(std::move(*bad));
  }
  auto eq = to_entity_query(std::move(plan));
  if (!eq.ok()) return reply(error_from(eq.status()));
  eq->offset = offset->value_or(0);
  eq->limit = lim;
  auto result = deps.store->query(call.tenant, *eq);
  if (!result.ok()) return reply(error_from(result.status()));
  json::array out;
  out.reserve(result->entities.size());
  http::Response r;
  if (call.geo_response) {
    auto geo = geometry_property(call);
    if (!geo.ok()) return reply(error_from(geo.status(), "geometryProperty"));
    for (const auto& e : result->entities) out.emplace_back(render_feature(*e, *opts, *geo));
    json::object fc;
    fc["type"] = "FeatureCollection";
    fc["features"] = std::move(out);
    r = respond_geo(call, std::move(fc));
  } else {
    for (const auto& e : result->entities) out.emplace_back(render_entity(*e, *opts));
    r = respond(call, std::move(out));
  }
  if (*count) r.headers.emplace_back("NGSILD-Results-Count", std::to_string(result->total));
  reply(std::move(r));
}

Status add_geo(const Call& call, QueryPlan& plan, std::string_view georel, std::string_view geometry,
               const json::value* coordinates_json, std::string_view coordinates_text, std::string_view geoproperty) {
  Result<model::GeoQuery> g = coordinates_json
                                  ? parse_geo_query(georel, geometry, *coordinates_json, geoproperty)
                                  : parse_geo_query(georel, geometry, coordinates_text, geoproperty);
  if (!g.ok()) return g.status();
  g->property = call.ctx->to_stored(g->property);
  plan.geo = std::move(*g);
  return Status();
}

void query_entities(const ApiDeps& deps, Call call, http::Reply reply) {
  QueryPlan plan;
  Selector sel;
  bool any_criterion = false;
  if (auto id = call.req.query_param("id")) {
    sel.ids = split_list(*id);
    any_criterion = true;
  }
  if (auto p = call.req.query_param("idPattern")) {
    sel.id_pattern = *p;
    any_criterion = true;
  }
  if (auto t = call.req.query_param("type")) {
    auto te = parse_type(call, *t);
    if (!te.ok()) return reply(error(ErrorType::kBadRequestData, "type: " + te.status().message(), "type"));
    sel.type = std::move(*te);
    any_criterion = true;
  }
  plan.selectors.push_back(std::move(sel));
  if (auto a = call.req.query_param("attrs")) {
    for (const std::string& n : split_list(*a)) plan.attrs.push_back(call.ctx->to_stored(n));
    any_criterion = true;
  }
  if (auto q = call.req.query_param("q")) {
    auto qe = parse_q(call, *q);
    if (!qe.ok()) return reply(error(ErrorType::kBadRequestData, qe.status().message(), "q"));
    plan.q = std::move(*qe);
    any_criterion = true;
  }
  auto georel = call.req.query_param("georel");
  auto geometry = call.req.query_param("geometry");
  auto coords = call.req.query_param("coordinates");
  if (georel || geometry || coords) {
    Status st = add_geo(call, plan, georel.value_or(""), geometry.value_or(""), nullptr, coords.value_or(""),
                        call.req.query_param("geoproperty").value_or(""));
    if (!st.ok()) {
      std::string_view m = st.message();
      std::string field(m.substr(0, m.find(':')));
      return reply(error(ErrorType::kBadRequestData, m, field));
    }
    any_criterion = true;
  }
  auto local = bool_param(call, "local", false);
  if (!local.ok()) return reply(error_from(local.status(), "local"));
  if (!any_criterion && !*local)
    return reply(error(ErrorType::kBadRequestData,
                       "query: give at least one of type, id, idPattern, attrs, q or georel (or local=true to "
                       "list every entity)",
                       "type"));
  run_query(deps, call, std::move(plan), reply);
}

std::string_view member_string(const json::object& o, std::string_view key, Status& st, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (!v) return {};
  if (!v->is_string()) {
    st = InvalidArgument(std::string(where) + std::string(key) + ": expected a string");
    return {};
  }
  return v->as_string();
}

// POST /entityOperations/query: a Query body (GS CIM 009, 5.2.23).
void post_query(const ApiDeps& deps, Call call, http::Reply reply) {
  if (!call.body.is_object()) return reply(error(ErrorType::kInvalidRequest, "body: expected a Query object", "body"));
  const json::object& b = call.body.as_object();
  Status st;
  std::string_view type = member_string(b, "type", st, "");
  if (st.ok() && type != "Query")
    return reply(error(ErrorType::kBadRequestData, "type: expected \"Query\"", "type"));
  QueryPlan plan;
  if (const json::value* ents = b.if_contains("entities")) {
    if (!ents->is_array() || ents->as_array().empty())
      return reply(error(ErrorType::kBadRequestData, "entities: expected a non-empty array", "entities"));
    size_t i = 0;
    for (const json::value& ev : ents->as_array()) {
      std::string where = "entities[" + std::to_string(i++) + "].";
      if (!ev.is_object()) return reply(error(ErrorType::kBadRequestData, where + ": expected an object", "entities"));
      const json::object& eo = ev.as_object();
      Selector s;
      std::string_view id = member_string(eo, "id", st, where);
      if (!id.empty()) s.ids.emplace_back(id);
      s.id_pattern = std::string(member_string(eo, "idPattern", st, where));
      std::string_view t = member_string(eo, "type", st, where);
      if (!st.ok()) return reply(error_from(st, "entities"));
      if (!t.empty()) {
        auto te = parse_type(call, t);
        if (!te.ok()) return reply(error(ErrorType::kBadRequestData, where + "type: " + te.status().message(), "entities"));
        s.type = std::move(*te);
      }
      plan.selectors.push_back(std::move(s));
    }
  } else {
    plan.selectors.emplace_back();
  }
  if (const json::value* a = b.if_contains("attrs")) {
    if (!a->is_array()) return reply(error(ErrorType::kBadRequestData, "attrs: expected an array of names", "attrs"));
    for (const json::value& n : a->as_array()) {
      if (!n.is_string()) return reply(error(ErrorType::kBadRequestData, "attrs: expected an array of names", "attrs"));
      plan.attrs.push_back(call.ctx->to_stored(n.as_string()));
    }
  }
  std::string_view q = member_string(b, "q", st, "");
  if (!st.ok()) return reply(error_from(st, "q"));
  if (!q.empty()) {
    auto qe = parse_q(call, q);
    if (!qe.ok()) return reply(error(ErrorType::kBadRequestData, qe.status().message(), "q"));
    plan.q = std::move(*qe);
  }
  if (const json::value* g = b.if_contains("geoQ")) {
    if (!g->is_object()) return reply(error(ErrorType::kBadRequestData, "geoQ: expected an object", "geoQ"));
    const json::object& go = g->as_object();
    std::string_view georel = member_string(go, "georel", st, "geoQ.");
    std::string_view geometry = member_string(go, "geometry", st, "geoQ.");
    std::string_view prop = member_string(go, "geoproperty", st, "geoQ.");
    if (!st.ok()) return reply(error_from(st, "geoQ"));
    const json::value* coords = go.if_contains("coordinates");
    json::value none;
    Status gs;
    if (coords && coords->is_string()) {
      gs = add_geo(call, plan, georel, geometry, nullptr, coords->as_string(), prop);
    } else {
      gs = add_geo(call, plan, georel, geometry, coords ? coords : &none, {}, prop);
    }
    if (!gs.ok()) return reply(error(ErrorType::kBadRequestData, "geoQ." + gs.message(), "geoQ"));
  }
  // The representation options may come in the body too (GS CIM 009 lists
  // them as URI parameters; a body "options" is accepted as a convenience).
  run_query(deps, call, std::move(plan), reply);
}

std::string list_id(std::string_view kind, const std::vector<std::string>& items) {
  std::string joined;
  for (const std::string& s : items) (joined += s) += '\n';
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(joined));
  return "urn:ngsi-ld:" + std::string(kind) + ":" + hex;
}

// Kinds ("Property", ...) and types of the entities that have attribute `stored`.
struct AttributeUse {
  size_t count = 0;
  std::set<std::string> kinds;
  std::set<std::string> types;  // stored names
};

AttributeUse attribute_use(const ApiDeps& deps, const std::string& tenant, const std::string& stored) {
  AttributeUse u;
  model::EntityQuery q;
  q.attributes = {stored};
  auto r = deps.store->query(tenant, q);
  if (!r.ok()) return u;
  for (const auto& e : r->entities) {
    ++u.count;
    for (const std::string& t : e->types) u.types.insert(t);
    auto it = e->attributes.find(stored);
    if (it == e->attributes.end()) continue;
    for (const model::AttributeInstance& i : it->second) u.kinds.emplace(model::attribute_kind_name(i.kind));
  }
  return u;
}

json::array names_array(const Call& call, const std::set<std::string>& stored) {
  json::array a;
  for (const std::string& s : stored) a.emplace_back(call.ctx->from_stored(s));
  return a;
}

json::object attribute_info(const ApiDeps& deps, const Call& call, const std::string& stored) {
  AttributeUse u = attribute_use(deps, call.tenant, stored);
  json::object o;
  o["id"] = Context::core()->expand(stored);
  o["type"] = "Attribute";
  o["attributeName"] = call.ctx->from_stored(stored);
  o["attributeCount"] = u.count;
  json::array kinds;
  for (const std::string& k : u.kinds) kinds.emplace_back(k);
  o["attributeTypes"] = std::move(kinds);
  o["typeNames"] = names_array(call, u.types);
  return o;
}

void get_types(const ApiDeps& deps, Call call, http::Reply reply) {
  auto details = bool_param(call, "details", false);
  if (!details.ok()) return reply(error_from(details.status(), "details"));
  if (auto bad = check_tenant_exists(deps, call)) return reply(std::move(*bad));
  std::vector<model::TypeInfo> types = deps.store->types(call.tenant);
  if (*details) {
    json::array out;
    for (const model::TypeInfo& t : types) {
      json::object o;
      o["id"] = Context::core()->expand(t.type);
      o["type"] = "EntityType";
      o["typeName"] = call.ctx->from_stored(t.type);
      o["attributeNames"] = names_array(call, {t.attribute_names.begin(), t.attribute_names.end()});
      out.emplace_back(std::move(o));
    }
    return reply(respond(call, std::move(out)));
  }
  std::vector<std::string> names;
  for (const model::TypeInfo& t : types) names.push_back(call.ctx->from_stored(t.type));
  json::object o;
  o["id"] = list_id("EntityTypeList", names);
  o["type"] = "EntityTypeList";
  json::array list;
  for (const std::string& n : names) list.emplace_back(n);
  o["typeList"] = std::move(list);
  reply(respond(call, std::move(o)));
}

void get_type(const ApiDeps& deps, Call call, http::Reply reply) {
  if (auto bad = check_tenant_exists(deps, call)) return reply(std::move(*bad));
  std::string shown(*call.req.param("type"));
  std::string stored = call.ctx->to_stored(shown);
  for (const model::TypeInfo& t : deps.store->types(call.tenant)) {
    if (t.type != stored) continue;
    json::object o;
    o["id"] = Context::core()->expand(stored);
    o["type"] = "EntityTypeInformation";
    o["typeName"] = call.ctx->from_stored(stored);
    o["entityCount"] = t.entity_count;
    json::array details;
    for (const std::string& a : t.attribute_names) {
      json::object d;
      d["id"] = Context::core()->expand(a);
      d["type"] = "Attribute";
      d["attributeName"] = call.ctx->from_stored(a);
      json::array kinds;
      for (const std::string& k : attribute_use(deps, call.tenant, a).kinds) kinds.emplace_back(k);
      d["attributeTypes"] = std::move(kinds);
      details.emplace_back(std::move(d));
    }
    o["attributeDetails"] = std::move(details);
    return reply(respond(call, std::move(o)));
  }
  reply(error(ErrorType::kResourceNotFound, "no entity of type '" + shown + "'", "type"));
}

void get_attributes(const ApiDeps& deps, Call call, http::Reply reply) {
  auto details = bool_param(call, "details", false);
  if (!details.ok()) return reply(error_from(details.status(), "details"));
  if (auto bad = check_tenant_exists(deps, call)) return reply(std::move(*bad));
  auto attrs = deps.store->attributes(call.tenant);
  if (*details) {
    json::array out;
    for (const auto& [name, count] : attrs) out.emplace_back(attribute_info(deps, call, name));
    return reply(respond(call, std::move(out)));
  }
  std::vector<std::string> names;
  for (const auto& [name, count] : attrs) names.push_back(call.ctx->from_stored(name));
  json::object o;
  o["id"] = list_id("AttributeList", names);
  o["type"] = "AttributeList";
  json::array list;
  for (const std::string& n : names) list.emplace_back(n);
  o["attributeList"] = std::move(list);
  reply(respond(call, std::move(o)));
}

void get_attribute(const ApiDeps& deps, Call call, http::Reply reply) {
  if (auto bad = check_tenant_exists(deps, call)) return reply(std::move(*bad));
  std::string shown(*call.req.param("attrId"));
  std::string stored = call.ctx->to_stored(shown);
  for (const auto& [name, count] : deps.store->attributes(call.tenant)) {
    if (name == stored) return reply(respond(call, attribute_info(deps, call, stored)));
  }
  reply(error(ErrorType::kResourceNotFound, "no entity has attribute '" + shown + "'", "attrId"));
}

}  // namespace

Status register_query_routes(http::Router& router, const ApiDeps& deps) {
  struct Def {
    verb method;
    const char* pattern;
    const char* summary;
    BodyKind body;
    ApiHandler handler;
  };
  const Def defs[] = {
      {verb::get, "/ngsi-ld/v1/entities",
       "NGSI-LD: query entities; type, id, idPattern, attrs, q, georel/geometry/coordinates/geoproperty, "
       "limit, offset, count, options",
       BodyKind::kNone, query_entities},
      {verb::post, "/ngsi-ld/v1/entityOperations/query", "NGSI-LD: query entities with a Query body",
       BodyKind::kJson, post_query},
      {verb::get, "/ngsi-ld/v1/types", "NGSI-LD: entity types in use; details=true", BodyKind::kNone, get_types},
      {verb::get, "/ngsi-ld/v1/types/{type}", "NGSI-LD: one entity type with its attributes", BodyKind::kNone,
       get_type},
      {verb::get, "/ngsi-ld/v1/attributes", "NGSI-LD: attributes in use; details=true", BodyKind::kNone,
       get_attributes},
      {verb::get, "/ngsi-ld/v1/attributes/{attrId}", "NGSI-LD: one attribute: count, kinds, entity types",
       BodyKind::kNone, get_attribute},
  };
  for (const Def& d : defs) {
    if (Status st = add_api_route(router, deps, d.method, d.pattern, d.summary, d.body, d.handler); !st.ok())
      return st;
  }
  return Status();
}

}  // namespace urbis::ngsild
