// NGSI-LD @context management routes (GS CIM 009 v1.8, 5.13 / 6.30-6.31):
//   GET    /ngsi-ld/v1/jsonldContexts               URLs of the known contexts; ?details=true for
//                                                  metadata objects; ?kind=Hosted|Cached|ImplicitlyCreated
//   POST   /ngsi-ld/v1/jsonldContexts               host {"@context": ...}; 201 + Location
//   GET    /ngsi-ld/v1/jsonldContexts/{contextId}   the document (contextId = local id or the URL,
//                                                  percent-encoded); ?details=true for its metadata
//   DELETE /ngsi-ld/v1/jsonldContexts/{contextId}   204; ?reload=true refetches a Cached one
// Errors are NGSI-LD ProblemDetails (https://uri.etsi.org/ngsi-ld/errors/<Type>).
#pragma once

#include <string>

#include "common/status.hpp"
#include "http/router.hpp"
#include "ngsild/jsonld/context.hpp"

namespace urbis::ngsild {

// `resolver` must outlive the router. Hosted contexts get URLs under
// `public_base_url` + "/ngsi-ld/v1/jsonldContexts/<id>" (e.g. "https://city.example");
// when empty, "http://" + the request's Host header is used.
[[nodiscard]] Status register_context_routes(http::Router& router, ContextResolver& resolver,
                                             std::string public_base_url = {});

// The ProblemDetails for a failure of this module, from the message prefix
// ("LdContextNotAvailable: " -> 503, "InvalidRequest: " -> 400, "BadRequestData: " -> 400)
// or else the code (NotFound -> 404 ResourceNotFound, ResourceExhausted -> 503, others 500).
// For the NGSI-LD HTTP layer to answer resolve() failures the same way.
http::Response context_problem(const Status& status);

}  // namespace urbis::ngsild
