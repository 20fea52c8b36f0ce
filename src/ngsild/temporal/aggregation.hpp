// Aggregated temporal representation (NGSI-LD v1.8 clause 4.5.19): the
// values of one history series folded per period with the requested methods.
//
// Periods: [S, S+d), [S+d, S+2d), ... up to the end E of the window, the last
// one cut at E; a zero duration (absent, "PT0S", "P0D") is one period [S, E).
// S is timeAt for after/between. Without a lower bound (before, or no timerel)
// the periods are anchored at the epoch-aligned start of the period holding the
// first instance (midnight UTC for P1D, the first of the month for P1M; with a
// zero duration the first instance itself). E is the upper bound of the
// window, or just past the last instance when there is none. Periods without
// instances are left out (like the store's aggregate()).
//
// Methods, over the instances of a period:
//   totalCount     number of instances (of any value kind)
//   distinctCount  number of distinct values (of any value kind)
//   sum, avg       numbers (booleans as 0/1); null when the period has none
//   min, max       numbers (booleans as 0/1); for text series the lexicographic
//                  min/max; null for JSON values
//   stddev         POPULATION standard deviation sqrt(sum((v - avg)^2) / n)
//   sumsq          sum of squares
//
// Where the answer comes from: totalCount, sum, avg, min and max of a numeric
// series (kind decided by its latest instance) come from
// TimeSeriesStore::aggregate(), asked with a period that divides every period
// boundary, so the store answers from its 1-hour or 1-minute rollups whenever
// the boundaries fall on them (e.g. P1D from midnight, PT1H, PT15M) and from raw
// points otherwise. distinctCount, stddev and sumsq, and every method of a text
// or JSON series, need the raw points: they are streamed page by page (memory
// stays bounded whatever the range). Past the raw retention only the rollups
// remain: those methods then see only the raw points still kept.
//
// Thread-safety: as the store.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <vector>

#include "common/status.hpp"
#include "ngsild/temporal/temporal_params.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ngsild::temporal {

struct AggregatedPeriod {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::vector<boost::json::value> values;  // one per method, in the order of params.aggr_methods
};

struct AggregationLimits {
  // A request asking for more periods than this fails (InvalidArgument naming
  // aggrPeriodDuration) instead of building an unbounded answer.
  size_t max_periods = 100'000;
  // Raw points read per store call while streaming.
  size_t page_points = 10'000;
};

// The aggregated periods of `key` for the window and methods of `params`
// (REQUIRES: params.format == kAggregated). Empty when the window holds no
// instance. Fails with the store's error, or InvalidArgument (message starting
// "aggrPeriodDuration:") when the periods would exceed max_periods.
Result<std::vector<AggregatedPeriod>> aggregate_series(tsdb::TimeSeriesStore& store, const tsdb::SeriesKey& key,
                                                       const TemporalParams& params,
                                                       const AggregationLimits& limits = {});

// Calls `fn` on every point of [from, to) of `key` in time order, reading
// `page` points per store call. Stops early when `fn` returns false.
Status for_each_point(tsdb::TimeSeriesStore& store, const tsdb::SeriesKey& key, int64_t from_ms, int64_t to_ms,
                      size_t page, const std::function<bool(const tsdb::Point&)>& fn);

}  // namespace urbis::ngsild::temporal
