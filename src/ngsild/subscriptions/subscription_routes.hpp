// NGSI-LD subscription routes (ETSI GS CIM 009 v1.8, 5.8 and 6.10/6.11):
//   POST   /ngsi-ld/v1/subscriptions         create: 201 + Location; 409 AlreadyExists
//   GET    /ngsi-ld/v1/subscriptions         list: ?limit (1..1000, default 20), ?offset,
//                                            ?count=true -> NGSILD-Results-Count header
//   GET    /ngsi-ld/v1/subscriptions/{id}    one: 404 ResourceNotFound
//   PATCH  /ngsi-ld/v1/subscriptions/{id}    update members: 204
//   DELETE /ngsi-ld/v1/subscriptions/{id}    204
//
// Tenant: the NGSILD-Tenant header ("" / absent = default tenant). Reading a
// tenant that holds neither entities nor subscriptions is 404
// NonexistentTenant; creating a subscription in a new tenant creates it.
//
// @context: application/json bodies take it from the Link header (none = the
// core context; an "@context" member is refused), application/ld+json bodies
// from their "@context" member (required). GET takes the Link header.
// Responses are application/json with a Link header naming the context, or
// application/ld+json with "@context" in the body when the client's Accept
// asks for it. A context that cannot be fetched is 503 LdContextNotAvailable.
//
// Errors are ProblemDetails with the NGSI-LD error type URIs and a "field"
// member naming the offending member ("entities[0].type",
// "notification.endpoint.uri", "q", ...).
#pragma once

#include "common/clock.hpp"
#include "common/status.hpp"
#include "http/router.hpp"
#include "model/entity_store.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/subscriptions/subscription_manager.hpp"

namespace urbis::ngsild {

// Everything passed in must outlive the router. `entities` is read only to
// tell known tenants. The manager must be started before requests arrive.
[[nodiscard]] Status register_subscription_routes(http::Router& router, SubscriptionManager& manager,
                                                  ContextResolver& resolver, const model::EntityStore& entities,
                                                  const Clock& clock);

}  // namespace urbis::ngsild
