// Private to the notifier: merging queued notifications of one subscription
// into one notification whose "data" array holds all their entities.
//
// The notifier sends deliveries as ready text, so merging works on the text:
// notification_shape() walks the top level of a body once (strings and
// nesting skipped, nothing rendered) and records where the members of its
// "data" array are. Two notifications can be merged when every top-level
// member other than "id", "notifiedAt" and "data" has the same text (type,
// subscriptionId, @context ...): then the result is the LAST one's text with
// its data members replaced by the members of all, in queue order. A body that
// is not a JSON object with a "data" array (or has trailing bytes) has no
// shape and is always sent on its own.
//
// Valid:   {"id":"urn:1","type":"Notification","subscriptionId":"s","notifiedAt":"..","data":[{"id":"e1"}]}
//          + same with "id":"urn:2" and data [{"id":"e2"}]
//          -> {"id":"urn:2",...,"data":[{"id":"e1"},{"id":"e2"}]}
// Never merged: bodies with different "@context" or "subscriptionId" texts.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urbis::ngsild::notify {

struct NotificationShape {
  // body[data_begin, data_end) is the text between the "data" array's brackets.
  size_t data_begin = 0, data_end = 0;
  size_t members = 0;    // entities in "data"
  std::string envelope;  // the members that must match for a merge (key and value texts)
};

// Nullopt when `body` is not one JSON object with a top-level "data" array.
std::optional<NotificationShape> notification_shape(std::string_view body);

struct ShapedBody {
  std::string_view body;
  const NotificationShape* shape;
};

// REQUIRES: parts not empty, all shapes with the same envelope. The last
// part's text with the data members of all parts, in order.
std::string merge_notifications(const std::vector<ShapedBody>& parts);

}  // namespace urbis::ngsild::notify
