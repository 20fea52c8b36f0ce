// The temporal representation of entities (NGSI-LD v1.8 4.5.7, 4.5.9, 4.5.19)
// built from the history store, with temporal pagination (6.3.10).
//
// Each attribute with history becomes, per datasetId (series):
//   normalized      [{"type":"Property","value":41,"observedAt":"...","instanceId":"urn:ngsi-ld:Instance:..."}, ...]
//                   (always an array; Relationship instances carry "object",
//                   LanguageProperty "languageMap"; "datasetId" and the
//                   current "unitCode" are repeated on each instance)
//   temporalValues  {"type":"Property","values":[[41,"2024-..."], ...]}
//                   ("objects" for a Relationship, "languageMaps" for a LanguageProperty)
//   aggregatedValues {"type":"Property","avg":[[20.5,"<start>","<end>"], ...], ...}
// An attribute with several datasets is an array of such objects, each with
// its "datasetId". The attribute kind comes from the entity's current state
// (the history keeps values only); Property when the state does not have it.
// Attributes without history are not shown (the history holds what ingest
// wrote; state-only attributes have no temporal evolution here).
//
// instanceId: the history keeps no instance ids, so one is derived from the
// series and the point: urn:ngsi-ld:Instance:<dataset hash>-<observedAt ms>-<n>,
// n counting the instances of the same millisecond. Stable across requests.
//
// Pagination: at most `max_instances` instances per attribute and series in
// one answer. When some series has more in the window, the answer is cut to a
// time range in which every series is complete and marked partial:
//   forward (no lastN, or lastN <= max_instances never pages):
//     Content-Range: date-time <start>-<end>/*
//     start = timeAt (after/between) or the earliest instance returned;
//     end = the last instance time kept. Continue with timerel=after&timeAt=<end>.
//   backward (lastN > max_instances): the newest instances first
//     Content-Range: date-time <start>-<end>/<lastN>
//     start = timeAt (before) / endTimeAt (between) / the newest instance;
//     end = the oldest instance time kept. Continue with timerel=before&timeAt=<end>.
// Instances are always listed oldest first. Instances sharing the cut's
// millisecond are kept or dropped together so that continuing neither repeats
// nor skips one (unless more than max_instances share one millisecond).
//
// Thread-safety: as the stores.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "model/entity.hpp"
#include "ngsild/temporal/aggregation.hpp"
#include "ngsild/temporal/temporal_params.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ngsild::temporal {

struct ViewOptions {
  size_t max_instances = 10'000;  // per attribute series per answer; past it the answer is partial (206)
  AggregationLimits aggregation;
};

struct ViewRequest {
  std::string tenant;
  // Stored attribute names to show; empty = every attribute with history.
  std::vector<std::string> attrs;
  TemporalParams params;
  // Stored name -> the name to show (the request's @context compaction).
  std::function<std::string(std::string_view)> from_stored;
};

struct TemporalAnswer {
  boost::json::array entities;        // one object per entity, in the order given
  std::optional<std::string> content_range;  // set when cut (answer 206)
};

// The temporal representation of `entities`. Fails with the store's error, or
// InvalidArgument "aggrPeriodDuration: ..." (see aggregate_series()).
Result<TemporalAnswer> build_temporal_view(tsdb::TimeSeriesStore& history,
                                           const std::vector<std::shared_ptr<const model::Entity>>& entities,
                                           const ViewRequest& request, const ViewOptions& options);

}  // namespace urbis::ngsild::temporal
