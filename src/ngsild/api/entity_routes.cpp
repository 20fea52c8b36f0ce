#include <boost/json.hpp>

#include <algorithm>

#include "model/entity_json.hpp"
#include "model/entity_store.hpp"
#include "ngsild/api/params.hpp"
#include "ngsild/api/routes.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using bhttp::verb;

Status add_api_route(http::Router& router, const ApiDeps& deps, verb method, std::string pattern,
                     std::string summary, BodyKind body, ApiHandler handler) {
  // A write makes its tenant exist (a query by POST does not).
  const bool writes = method != verb::get && !pattern.ends_with("/query");
  return router.add_async(method, std::move(pattern), std::move(summary),
                          [deps, body, writes, handler = std::move(handler)](http::Request req, http::Reply reply) {
                            prepare(deps, std::move(req), std::move(reply), body,
                                    [&deps, &handler, writes](Call call, http::Reply r) {
                                      // GS CIM 009: an entity id that is not a URI is BadRequestData
                                      // (400), not an entity that does not exist.
                                      if (auto id = call.req.param("entityId"); id && !model::looks_like_uri(*id))
                                        return r(error(ErrorType::kBadRequestData,
                                                       "entityId: '" + std::string(*id) + "' is not a URI",
                                                       "entityId"));
                                      if (writes) note_tenant(deps, call);
                                      handler(deps, std::move(call), std::move(r));
                                    });
                          });
}

std::string entity_location(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "/ngsi-ld/v1/entities/";
  for (unsigned char c : id) {
    // Unreserved characters and ':' stay (ids are URNs); the rest is encoded
    // so the Location is one path segment.
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

std::string entity_id(const Call& call) { return std::string(*call.req.param("entityId")); }

std::vector<std::string> names_of(const model::Entity& e) {
  std::vector<std::string> out;
  for (const auto& [name, instances] : e.attributes) out.push_back(name);
  return out;
}

// The body without "@context" (attribute bodies are parsed by the model, which
// does not know it).
json::value without_context(json::value body) {
  if (body.is_object()) body.as_object().erase("@context");
  return body;
}

// 204, or 207 with an UpdateResult when some attributes were not written.
http::Response update_result(const Call& call, const model::Entity& attrs, const std::vector<std::string>& not_updated,
                             std::string_view reason) {
  if (not_updated.empty()) return no_content();
  json::array updated;
  json::array failed;
  for (const auto& [name, instances] : attrs.attributes) {
    bool missed = std::find(not_updated.begin(), not_updated.end(), name) != not_updated.end();
    if (!missed) updated.emplace_back(call.ctx->from_stored(name));
  }
  for (const std::string& n : not_updated) {
    json::object o;
    o["attributeName"] = call.ctx->from_stored(n);
    o["reason"] = reason;
    failed.emplace_back(std::move(o));
  }
  json::object body;
  body["updated"] = std::move(updated);
  body["notUpdated"] = std::move(failed);
  http::Response r = http::Response::json(body, bhttp::status::multi_status);
  return r;
}

// Checks that a body's optional "id" agrees with the path.
std::optional<http::Response> id_mismatch(const model::Entity& e, const std::string& id) {
  if (!e.id.empty() && e.id != id)
    return error(ErrorType::kBadRequestData, "id: '" + e.id + "' differs from the entity id in the path '" + id + "'",
                 "id");
  return std::nullopt;
}

void create_entity(const ApiDeps& deps, Call call, http::Reply reply) {
  auto e = entity_from_body(call, call.body, /*fragment=*/false);
  if (!e.ok()) return reply(error_from(e.status()));
  std::string location = entity_location(e->id);
  deps.store->create(call.tenant, std::move(*e), [&deps, tenant = call.tenant, reply, location](Result<model::WriteOutcome> r) {
    if (!r.ok()) return reply(error_from(r.status(), "id"));
    record_then_reply(deps, tenant, r->entity, nullptr, reply, no_content(bhttp::status::created, location));
  });
}

void retrieve_entity(const ApiDeps& deps, Call call, http::Reply reply) {
  auto opts = render_options(call);
  if (!opts.ok()) return reply(error_from(opts.status()));
  std::string id = entity_id(call);
  if (auto bad = check_tenant_exists(deps, call)) return reply(std::move(*bad));
  auto e = deps.store->get(call.tenant, id);
  if (!e) return reply(error(ErrorType::kResourceNotFound, "no entity '" + id + "'", "entityId"));
  if (auto t = call.req.query_param("type")) {
    bool any = false;
    for (const std::string& name : split_list(*t)) any = any || e->has_type(call.ctx->to_stored(name));
    if (!any) return reply(error(ErrorType::kResourceNotFound, "entity '" + id + "' is not of type " + std::string(*t), "type"));
  }
  if (call.geo_response) {
    auto geo = geometry_property(call);
    if (!geo.ok()) return reply(error_from(geo.status(), "geometryProperty"));
    return reply(respond_geo(call, render_feature(*e, *opts, *geo)));
  }
  reply(respond(call, render_entity(*e, *opts)));
}

void replace_entity(const ApiDeps& deps, Call call, http::Reply reply) {
  std::string id = entity_id(call);
  auto e = entity_from_body(call, call.body, /*fragment=*/true);
  if (!e.ok()) return reply(error_from(e.status()));
  if (auto bad = id_mismatch(*e, id)) return reply(std::move(*bad));
  if (e->types.empty()) return reply(error(ErrorType::kBadRequestData, "type: required to replace an entity", "type"));
  e->id = id;
  deps.store->replace(call.tenant, std::move(*e), [&deps, tenant = call.tenant, reply](Result<model::WriteOutcome> r) {
    if (!r.ok()) return reply(error_from(r.status(), "entityId"));
    record_then_reply(deps, tenant, r->entity, nullptr, reply, no_content());
  });
}

void merge_entity(const ApiDeps& deps, Call call, http::Reply reply) {
  std::string id = entity_id(call);
  auto e = entity_from_body(call, call.body, /*fragment=*/true);
  if (!e.ok()) return reply(error_from(e.status()));
  if (auto bad = id_mismatch(*e, id)) return reply(std::move(*bad));
  e->id = id;
  auto names = std::make_shared<std::vector<std::string>>(names_of(*e));
  deps.store->merge(call.tenant, std::move(*e), [&deps, tenant = call.tenant, names, reply](Result<model::WriteOutcome> r) {
    if (!r.ok()) return reply(error_from(r.status(), "entityId"));
    record_then_reply(deps, tenant, r->entity, names.get(), reply, no_content());
  });
}

void delete_entity(const ApiDeps& deps, Call call, http::Reply reply) {
  deps.store->delete_entity(call.tenant, entity_id(call), [reply](Result<model::WriteOutcome> r) {
    if (!r.ok()) return reply(error_from(r.status(), "entityId"));
    reply(no_content());
  });
}

void append_attrs(const ApiDeps& deps, Call call, http::Reply reply, model::AppendMode mode) {
  auto attrs = entity_from_body(call, call.body, /*fragment=*/true);
  if (!attrs.ok()) return reply(error_from(attrs.status()));
  std::string id = entity_id(call);
  if (auto bad = id_mismatch(*attrs, id)) return reply(std::move(*bad));
  if (attrs->attributes.empty() && mode == model::AppendMode::kUpdateOnly)
    return reply(error(ErrorType::kBadRequestData, "body: no attribute to update", "body"));
  auto shared = std::make_shared<model::Entity>(*attrs);
  auto c = std::make_shared<Call>(std::move(call));
  std::string_view reason = mode == model::AppendMode::kNoOverwrite ? "attribute exists and noOverwrite was given"
                                                                    : "attribute does not exist";
  deps.store->append(c->tenant, id, std::move(*attrs), mode, [&deps, reply, shared, c, reason](Result<model::WriteOutcome> r) {
    if (!r.ok()) return reply(error_from(r.status(), "entityId"));
    std::vector<std::string> written;
    for (const std::string& n : names_of(*shared))
      if (std::find(r->not_updated.begin(), r->not_updated.end(), n) == r->not_updated.end()) written.push_back(n);
    record_then_reply(deps, c->tenant, r->entity, &written, reply, update_result(*c, *shared, r->not_updated, reason));
  });
}

void append_attrs_post(const ApiDeps& deps, Call call, http::Reply reply) {
  bool keep = has_option(call, "noOverwrite");
  append_attrs(deps, std::move(call), std::move(reply),
               keep ? model::AppendMode::kNoOverwrite : model::AppendMode::kOverwrite);
}

void update_attrs(const ApiDeps& deps, Call call, http::Reply reply) {
  append_attrs(deps, std::move(call), std::move(reply), model::AppendMode::kUpdateOnly);
}

// The body of PATCH/PUT .../attrs/{attrId} as instances of that attribute.
// A partial update may leave out "type": the stored instance's kind is kept.
Result<std::vector<model::AttributeInstance>> attribute_body(const Call& call, const std::string& stored_name,
                                                             const model::Entity* current) {
  json::value body = without_context(call.body);
  if (!body.is_object()) return Status(Code::kInvalidArgument, "InvalidRequest: body: expected a JSON object");
  std::string dataset(body.as_object().contains("datasetId") && body.as_object().at("datasetId").is_string()
                          ? std::string_view(body.as_object().at("datasetId").as_string())
                          : std::string_view());
  if (!body.as_object().contains("type") && current) {
    if (const model::AttributeInstance* cur = current->find(stored_name, dataset))
      body.as_object()["type"] = model::attribute_kind_name(cur->kind);
  }
  std::string shown(*call.req.param("attrId"));
  auto parsed = model::attribute_from_json(shown, body);
  if (!parsed.ok()) return parsed.status();
  for (model::AttributeInstance& i : *parsed) {
    model::Entity holder;
    holder.attributes[shown] = {i};
    names_to_stored(holder, *call.ctx);
    i = std::move(holder.attributes.begin()->second.front());
  }
  return parsed;
}

void partial_attr_update(const ApiDeps& deps, Call call, http::Reply reply) {
  std::string id = entity_id(call);
  std::string name = call.ctx->to_stored(*call.req.param("attrId"));
  auto current = deps.store->get(call.tenant, id);
  if (!current) return reply(error(ErrorType::kResourceNotFound, "no entity '" + id + "'", "entityId"));
  if (current->attributes.find(name) == current->attributes.end())
    return reply(error(ErrorType::kResourceNotFound,
                       "entity '" + id + "' has no attribute '" + std::string(*call.req.param("attrId")) + "'",
                       "attrId"));
  auto instances = attribute_body(call, name, current.get());
  if (!instances.ok()) return reply(error_from(instances.status()));
  for (const model::AttributeInstance& i : *instances) {
    if (!current->find(name, i.dataset_id))
      return reply(error(ErrorType::kResourceNotFound,
                         "entity '" + id + "' has no attribute '" + std::string(*call.req.param("attrId")) + "'" +
                             (i.dataset_id.empty() ? std::string() : " with datasetId '" + i.dataset_id + "'"),
                         "attrId"));
  }
  model::Entity patch;
  patch.id = id;
  patch.attributes[name] = std::move(*instances);
  deps.store->merge(call.tenant, std::move(patch), [&deps, tenant = call.tenant, name, reply](Result<model::WriteOutcome> r) {
    if (!r.ok()) return reply(error_from(r.status(), "entityId"));
    std::vector<std::string> names{name};
    record_then_reply(deps, tenant, r->entity, &names, reply, no_content());
  });
}

void replace_attr(const ApiDeps& deps, Call call, http::Reply reply) {
  std::string id = entity_id(call);
  std::string name = call.ctx->to_stored(*call.req.param("attrId"));
  auto instances = attribute_body(call, name, nullptr);
  if (!instances.ok()) return reply(error_from(instances.status()));
  model::Entity attrs;
  attrs.attributes[name] = std::move(*instances);
  std::string shown(*call.req.param("attrId"));
  deps.store->append(call.tenant, id, std::move(attrs), model::AppendMode::kUpdateOnly,
                     [&deps, tenant = call.tenant, name, reply, shown, id](Result<model::WriteOutcome> r) {
                       if (!r.ok()) return reply(error_from(r.status(), "entityId"));
                       if (!r->not_updated.empty())
                         return reply(error(ErrorType::kResourceNotFound,
                                            "entity '" + id + "' has no attribute '" + shown + "'", "attrId"));
                       std::vector<std::string> names{name};
                       record_then_reply(deps, tenant, r->entity, &names, reply, no_content());
                     });
}

void delete_attr(const ApiDeps& deps, Call call, http::Reply reply) {
  auto all = bool_param(call, "deleteAll", false);
  if (!all.ok()) return reply(error_from(all.status(), "deleteAll"));
  std::string dataset(call.req.query_param("datasetId").value_or(""));
  std::string name = call.ctx->to_stored(*call.req.param("attrId"));
  deps.store->delete_attribute(call.tenant, entity_id(call), name, dataset, *all,
                               [reply](Result<model::WriteOutcome> r) {
                                 if (!r.ok()) return reply(error_from(r.status(), "attrId"));
                                 reply(no_content());
                               });
}

}  // namespace

Status register_entity_routes(http::Router& router, const ApiDeps& deps) {
  struct Def {
    verb method;
    const char* pattern;
    const char* summary;
    BodyKind body;
    ApiHandler handler;
  };
  const Def defs[] = {
      {verb::post, "/ngsi-ld/v1/entities", "NGSI-LD: create an entity (201 + Location; 409 AlreadyExists)",
       BodyKind::kJson, create_entity},
      {verb::get, "/ngsi-ld/v1/entities/{entityId}",
       "NGSI-LD: retrieve an entity; attrs, pick, omit, options=keyValues|concise|sysAttrs", BodyKind::kNone,
       retrieve_entity},
      {verb::put, "/ngsi-ld/v1/entities/{entityId}", "NGSI-LD: replace an entity", BodyKind::kJson, replace_entity},
      {verb::patch, "/ngsi-ld/v1/entities/{entityId}", "NGSI-LD: merge into an entity (merge-patch)",
       BodyKind::kJson, merge_entity},
      {verb::delete_, "/ngsi-ld/v1/entities/{entityId}", "NGSI-LD: delete an entity", BodyKind::kNone,
       delete_entity},
      {verb::post, "/ngsi-ld/v1/entities/{entityId}/attrs",
       "NGSI-LD: append attributes; options=noOverwrite (207 lists the ones kept)", BodyKind::kJson,
       append_attrs_post},
      {verb::patch, "/ngsi-ld/v1/entities/{entityId}/attrs",
       "NGSI-LD: update existing attributes (207 lists the missing ones)", BodyKind::kJson, update_attrs},
      {verb::patch, "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}",
       "NGSI-LD: partial update of one attribute (datasetId in the body)", BodyKind::kJson, partial_attr_update},
      {verb::put, "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}", "NGSI-LD: replace one attribute",
       BodyKind::kJson, replace_attr},
      {verb::delete_, "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}",
       "NGSI-LD: delete an attribute; datasetId=, deleteAll=true", BodyKind::kNone, delete_attr},
  };
  for (const Def& d : defs) {
    if (Status st = add_api_route(router, deps, d.method, d.pattern, d.summary, d.body, d.handler); !st.ok())
      return st;
  }
  return Status();
}

Status register_ngsild_routes(http::Router& router, const ApiDeps& deps) {
  if (Status st = register_entity_routes(router, deps); !st.ok()) return st;
  if (Status st = register_query_routes(router, deps); !st.ok()) return st;
  return register_batch_routes(router, deps);
}

}  // namespace urbis::ngsild
