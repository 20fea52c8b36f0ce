// Attribute history of NGSI-LD writes: every value written through the API
// becomes a point in the TimeSeriesStore (as MQTT ingest does), so the
// temporal API (/temporal/entities) shows API updates too, the way a context
// broker with built-in history should. A write is answered only after both the
// entity and its history points are committed.
//
// A point's time is the instance's observedAt, else the commit time
// (modifiedAt). Values: numbers, booleans and strings as themselves; a
// Relationship's object, a GeoProperty's geometry, a LanguageProperty's map
// and structured values as JSON. Instances with observedAt carry the
// idempotency key "t<ms>" (as ingest does): the same observation written
// twice is one point. Only the instances the write stamped become points
// (the store gives each write of an entity its own modifiedAt), so an
// unchanged datasetId sibling is not recorded again.
#pragma once

#include <string>
#include <vector>

#include "model/entity.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ngsild {

// The points for the attributes `names` (stored names) of the committed
// entity; every attribute when `names` is null. Only instances the write
// stamped (modifiedAt equal to the entity's) are points: the others were
// recorded when they were written.
std::vector<tsdb::Measurement> history_points(const std::string& tenant, const model::Entity& committed,
                                              const std::vector<std::string>* names);

}  // namespace urbis::ngsild
