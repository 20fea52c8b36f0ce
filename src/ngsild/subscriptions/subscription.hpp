// The NGSI-LD Subscription resource (ETSI GS CIM 009 v1.8, 5.2.12 Subscription,
// 5.2.14 NotificationParams, 5.2.15 Endpoint): parse and validate a client's
// document, apply a PATCH fragment, and write it back out.
//
// Names. Entities are stored with canonical names (Context::to_stored, see
// jsonld/context.hpp), so a subscription keeps every name it matches against
// in that form: entities[].type, watchedAttributes, the attribute names of q,
// notification.attributes and geoQ.geoproperty are converted with the
// creating request's @context on the way in, and converted back with the
// reader's @context (from_stored) on the way out. The creating request's
// @context value itself is kept (`context`) so that notifications can be
// compacted with it, also after a restart.
//
// Valid (minimal):
//   {"type": "Subscription", "entities": [{"type": "Sensor"}],
//    "notification": {"endpoint": {"uri": "http://127.0.0.1:9000/notify"}}}
// Invalid, with the message:
//   {"type": "Subscription", "notification": {...}}          "entities: either entities or watchedAttributes is required"
//   "entities": [{"id": "urn:a"}]                             "entities[0].type: required"
//   "endpoint": {"uri": "not a uri"}                          "notification.endpoint.uri: not an absolute URI"
//   "throttling": 0                                           "throttling: must be a positive number"
//   "expiresAt": "tomorrow"                                   "expiresAt: not a date-time"
//   "q": "temperature>"                                       "q: at 12: expected a value after '>'"
//   "geoQ": {"georel": "nearby", ...}                         "geoQ.georel: unknown relation 'nearby'"
// Every message starts with the member's path, so the HTTP layer can name it.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "model/entity_store.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

struct EntitySelector {
  std::string id;          // empty = any
  std::string id_pattern;  // ECMAScript regex searched in the id; empty = any
  std::string type;        // stored (canonical) name; required
};

struct GeoQ {
  // As given (for echoing): georel text, geometry type, coordinates JSON value.
  std::string georel;
  std::string geometry;
  boost::json::value coordinates;
  std::string geoproperty;  // stored name; empty = "location"
  model::GeoQuery query;    // parsed, with `property` the stored name
};

enum class NotificationFormat : uint8_t { kNormalized, kKeyValues, kConcise };
std::string_view format_name(NotificationFormat f);

// The notification endpoint (uri, accept, receiverInfo, notifierInfo) is the
// notifier's Endpoint (notify/notifier.hpp): one type from request to wire.

// The change kinds a subscription may be triggered by (1.8 notificationTrigger).
// Default (member absent): attributeCreated | attributeUpdated.
enum Trigger : uint8_t {
  kEntityCreated = 1 << 0,
  kEntityUpdated = 1 << 1,
  kEntityDeleted = 1 << 2,
  kAttributeCreated = 1 << 3,
  kAttributeUpdated = 1 << 4,
  kAttributeDeleted = 1 << 5,
};
inline constexpr uint8_t kDefaultTriggers = kAttributeCreated | kAttributeUpdated;

// What the system counts about a subscription's notifications. Times are Unix
// ms; 0 = never.
struct SubscriptionStats {
  uint64_t times_sent = 0;    // attempts reported by the notifier (success or failure)
  uint64_t times_failed = 0;
  int64_t last_notification_ms = 0;
  int64_t last_success_ms = 0;
  int64_t last_failure_ms = 0;
  // Why the last failed attempt failed ("connection refused", "HTTP 500",
  // "TLS handshake with host:port: certificate verify failed: ..."), shown as
  // notification.lastFailureReason (as Orion does; NGSI-LD has no member for it).
  std::string last_failure_reason;
  bool operator==(const SubscriptionStats&) const = default;
};

struct Subscription {
  std::string id;  // URI
  std::string subscription_name;
  std::string description;
  std::vector<EntitySelector> entities;
  std::vector<std::string> watched_attributes;  // stored names; empty = any
  uint8_t triggers = kDefaultTriggers;
  bool triggers_given = false;  // echo notificationTrigger only when the client set it
  std::string q_text;           // as stored (canonical names); empty = none
  QExpression q;                // parsed q_text
  std::optional<GeoQ> geo_q;
  bool is_active = true;
  std::optional<int64_t> expires_at_ms;
  std::optional<double> throttling_s;
  std::string jsonld_context;  // URL to use in notifications instead of `context`; empty = none
  // notification
  std::vector<std::string> notification_attributes;  // stored names; empty = all
  NotificationFormat format = NotificationFormat::kNormalized;
  bool sys_attrs = false;
  Endpoint endpoint;
  // The @context of the creating request (null = core context alone).
  boost::json::value context;
  int64_t created_at_ms = 0;
  int64_t modified_at_ms = 0;
  SubscriptionStats stats;

  // "active", "paused" (isActive false) or "expired" (expiresAt passed).
  std::string_view status(int64_t now_ms) const;
  // The @context value notifications are compacted with: jsonldContext when
  // given, else the creating request's @context.
  boost::json::value notification_context() const;
};

struct SubscriptionParseOptions {
  // Refuse an expiresAt that is not after now (client input); off when
  // loading stored documents.
  bool reject_past_expiry = true;
  int64_t now_ms = 0;
};

// Parses a client's Subscription document (an object; "@context" and "id"
// optional: a missing id becomes "urn:ngsi-ld:Subscription:<uuid>"), with
// names converted by `ctx`. `context` of the result is set from the document's
// "@context" when present; the caller sets it otherwise (Link header).
// InvalidArgument with the member path first, see the header comment.
Result<Subscription> parse_subscription(const boost::json::value& doc, const Context& ctx,
                                        const SubscriptionParseOptions& options);

// PATCH /subscriptions/{id}: the members of `fragment` replace those of `sub`
// (notification is merged one level deep, endpoint replaced whole); the
// result is validated as a whole. "id" must equal sub.id if present, "type"
// must be "Subscription". Changes nothing on failure.
Status patch_subscription(Subscription& sub, const boost::json::value& fragment, const Context& ctx,
                          const SubscriptionParseOptions& options);

// The API representation, names compacted with `ctx`, with the system members
// (status, notification.timesSent/status/lastNotification/lastSuccess/lastFailure,
// createdAt/modifiedAt when sys_attrs). No "@context" member (the caller adds it
// for application/ld+json).
boost::json::object subscription_to_json(const Subscription& sub, const Context& ctx, int64_t now_ms,
                                         bool sys_attrs = false);

// The stored document: the API form in canonical names plus what the API does
// not show (the original @context, counters, timestamps). Round-trips through
// subscription_from_stored() exactly.
std::string subscription_to_stored(const Subscription& sub);
Result<Subscription> subscription_from_stored(std::string_view text);

// "urn:ngsi-ld:<kind>:<random UUID v4>".
std::string random_urn(std::string_view kind);

}  // namespace urbis::ngsild
