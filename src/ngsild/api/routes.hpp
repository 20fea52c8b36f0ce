// The NGSI-LD API on the HTTP listener, root /ngsi-ld/v1 (ETSI GS CIM 009 v1.8):
//   entities       create, retrieve, replace, merge, delete; attributes append,
//                  update, partial update, replace, delete        (entity_routes.cpp)
//   query          GET /entities, POST /entityOperations/query, /types, /attributes
//                                                                  (query_routes.cpp)
//   batch          /entityOperations/create|upsert|update|merge|delete (batch_routes.cpp)
// Subscriptions, the temporal API and /jsonldContexts register their own routes.
#pragma once

#include "common/status.hpp"
#include "http/router.hpp"
#include "ngsild/api/call.hpp"

namespace urbis::ngsild {

// REQUIRES: deps.store and deps.contexts set; they outlive the router.
[[nodiscard]] Status register_entity_routes(http::Router& router, const ApiDeps& deps);
[[nodiscard]] Status register_query_routes(http::Router& router, const ApiDeps& deps);
[[nodiscard]] Status register_batch_routes(http::Router& router, const ApiDeps& deps);

// All three.
[[nodiscard]] Status register_ngsild_routes(http::Router& router, const ApiDeps& deps);

// For route implementations: registers an NGSI-LD route whose handler gets the
// prepared Call.
using ApiHandler = std::function<void(const ApiDeps&, Call, http::Reply)>;
[[nodiscard]] Status add_api_route(http::Router& router, const ApiDeps& deps, boost::beast::http::verb method,
                                   std::string pattern, std::string summary, BodyKind body, ApiHandler handler);

// "/ngsi-ld/v1/entities/<id percent-encoded>".
std::string entity_location(std::string_view id);

}  // namespace urbis::ngsild
