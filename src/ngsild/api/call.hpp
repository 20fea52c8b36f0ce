// The steps every NGSI-LD request shares, in one place: content negotiation,
// the JSON body, the @context (Link header or "@context" member), the tenant,
// and errors in the form the specification gives them.
//
// ETSI GS CIM 009 (v1.8) rules applied here:
//  - Accept: application/json (default), application/ld+json, */*, application/*;
//    anything else is 406.
//  - Content-Type of a body: application/json (the @context may come in a
//    Link header with rel="http://www.w3.org/ns/json-ld#context") or
//    application/ld+json (the body carries "@context"; a Link header as well is
//    an error); anything else is 415.
//  - No context given: the core context.
//  - NGSILD-Tenant selects the tenant; without it, the default tenant ("").
//  - Responses: with application/ld+json the body carries "@context"; with
//    application/json the context travels in a Link header.
//
// Errors are ProblemDetails whose type is the NGSI-LD error type URI
// (https://uri.etsi.org/ngsi-ld/errors/<Type>) and whose detail names the
// offending parameter or member.
#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "http/router.hpp"
#include "model/entity.hpp"
#include "ngsild/jsonld/context.hpp"

namespace urbis::model {
class EntityStore;
}
namespace urbis::tsdb {
class TimeSeriesStore;
}

namespace urbis::ngsild {

// NGSI-LD error types (GS CIM 009, 5.5.2), with their HTTP status.
enum class ErrorType : uint8_t {
  kInvalidRequest,         // 400: malformed request (JSON syntax, wrong content)
  kBadRequestData,         // 400: well-formed but wrong data (bad parameter or member)
  kAlreadyExists,          // 409
  kOperationNotSupported,  // 422
  kResourceNotFound,       // 404
  kInternalError,          // 500
  kTooManyResults,         // 403
  kNonexistentTenant,      // 404
  kLdContextNotAvailable,  // 503
  kTooComplexQuery,        // 403
};

std::string_view error_type_name(ErrorType t);
boost::beast::http::status error_status(ErrorType t);

// A ProblemDetails response; `field` (when given) is added as member "field".
http::Response error(ErrorType t, std::string_view detail, std::string_view field = {});
// Maps a Status from the stores or parsers: InvalidArgument -> BadRequestData,
// NotFound -> ResourceNotFound, AlreadyExists -> AlreadyExists, a message
// starting "LdContextNotAvailable: " -> LdContextNotAvailable, one starting
// "InvalidRequest: " -> InvalidRequest, ResourceExhausted/Unavailable -> 503,
// anything else -> InternalError.
// When `field` is empty, the field is taken from the message (field_from_detail).
http::Response error_from(const Status& st, std::string_view field = {});
// The member or parameter a message names first: "attribute 'x': ..." -> x,
// "'type' must ..." -> type, "limit: expected ..." -> limit; "" when none.
std::string field_from_detail(std::string_view detail);

// Limits of the API (configurable in [ngsild]).
struct ApiLimits {
  size_t default_limit = 20;     // entities per page without ?limit
  size_t max_limit = 1000;       // larger ?limit -> 403 TooManyResults
  size_t max_batch = 10000;      // entities in one batch operation
};

// Tenants that were written to since start. The store knows tenants that hold
// entities; a tenant whose last entity was deleted (or that only has
// subscriptions) still exists for the API. Thread-safe.
class KnownTenants {
 public:
  void add(const std::string& tenant) {
    std::lock_guard lock(mu_);
    tenants_.insert(tenant);
  }
  bool contains(const std::string& tenant) const {
    std::lock_guard lock(mu_);
    return tenants_.contains(tenant);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> tenants_;
};

// What the API modules need from the rest of Urbis. Everything outlives the router.
struct ApiDeps {
  model::EntityStore* store = nullptr;
  // When set, values written through the API are recorded as history (see history.hpp).
  tsdb::TimeSeriesStore* history = nullptr;
  ContextResolver* contexts = nullptr;
  std::shared_ptr<KnownTenants> tenants = std::make_shared<KnownTenants>();
  ApiLimits limits;
};

// One request after the shared steps.
struct Call {
  http::Request req;
  std::string tenant;                   // "" = default
  std::shared_ptr<const Context> ctx;   // the active context of the request
  bool ld_response = false;             // answer application/ld+json
  bool geo_response = false;            // answer application/geo+json (entities only)
  boost::json::value body;              // the parsed body (null when the route has none)
};

using CallHandler = std::function<void(Call, http::Reply)>;

enum class BodyKind : uint8_t { kNone, kJson };

// Runs the shared steps on `req`, then `next` (possibly on another thread,
// after a remote @context was fetched), or replies with the error.
void prepare(const ApiDeps& deps, http::Request req, http::Reply reply, BodyKind body, CallHandler next);

// Writes create tenants: records call.tenant as existing.
void note_tenant(const ApiDeps& deps, const Call& call);

// The tenant must exist for reads: 404 NonexistentTenant otherwise (the default
// tenant always exists). nullopt when fine.
std::optional<http::Response> check_tenant_exists(const ApiDeps& deps, const Call& call);

// A JSON answer for `call`: adds "@context" to the object (or to each object of
// an array) for application/ld+json, else a Link header to the context. When
// the client asked for application/geo+json, which only entities have: 406.
http::Response respond(const Call& call, boost::json::value body,
                       boost::beast::http::status status = boost::beast::http::status::ok);
// A GeoJSON Feature or FeatureCollection (render_feature), 200, Content-Type
// application/geo+json, with the request's context as its "@context" member.
http::Response respond_geo(const Call& call, boost::json::object body);
// 201/204 without body, with an optional Location.
http::Response no_content(boost::beast::http::status status = boost::beast::http::status::no_content,
                          std::string location = {});

// After a committed write: records the history of the attributes `names`
// (stored names; null = all) of w.entity when deps.history is set, then
// answers `ok` (or the storage error). Called on a store's writer thread.
void record_then_reply(const ApiDeps& deps, const std::string& tenant, const std::shared_ptr<const model::Entity>& e,
                       const std::vector<std::string>* names, http::Reply reply, http::Response ok);

// Splits "a,b,c" into trimmed, non-empty parts.
std::vector<std::string> split_list(std::string_view s);

}  // namespace urbis::ngsild
