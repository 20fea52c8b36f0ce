// Rollup tiers and period arithmetic shared by every TimeSeriesStore backend,
// so that all of them pick the same tier for the same query and bucket points
// the same way (the interface suite compares backends answer for answer).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "tsdb/time_series_store.hpp"

namespace urbis::tsdb {

inline constexpr int64_t kMinuteMs = 60'000;
inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// Start of the period of length `period` (> 0) that holds t: periods are
// aligned to multiples of `period` since the epoch, negative times included.
inline int64_t period_floor(int64_t t, int64_t period) {
  int64_t q = t / period;
  if (t % period != 0 && t < 0) --q;
  return q * period;
}

enum class Tier : uint8_t { kRaw = 0, kMinute = 1, kHour = 2 };

inline int64_t tier_period_ms(Tier t) { return t == Tier::kHour ? kHourMs : t == Tier::kMinute ? kMinuteMs : 0; }

// The coarsest rollup tier that answers `q` exactly: its period divides
// q.period_ms and both bounds fall on its period boundaries (so every rollup
// row is either wholly inside [from, to) or wholly outside). Raw otherwise.
inline Tier choose_tier(const AggregateQuery& q) {
  for (Tier t : {Tier::kHour, Tier::kMinute}) {
    const int64_t p = tier_period_ms(t);
    if (q.period_ms % p == 0 && q.from_ms % p == 0 && q.to_ms % p == 0) {
      return t;
    }
  }
  return Tier::kRaw;
}

// Adds one value to a row (count, sum, min, max).
inline void fold_value(AggregateRow& row, double v) {
  if (row.count == 0) {
    row.min = row.max = v;
  } else {
    row.min = std::min(row.min, v);
    row.max = std::max(row.max, v);
  }
  ++row.count;
  row.sum += v;
}

// Merges a partial aggregate into a row.
inline void fold_row(AggregateRow& row, uint64_t count, double sum, double min, double max) {
  if (count == 0) return;
  if (row.count == 0) {
    row.min = min;
    row.max = max;
  } else {
    row.min = std::min(row.min, min);
    row.max = std::max(row.max, max);
  }
  row.count += count;
  row.sum += sum;
}

// Buckets keyed by period start, as aggregate() builds its answer.
using Buckets = std::map<int64_t, AggregateRow>;

inline std::vector<AggregateRow> buckets_to_rows(const Buckets& b) {
  std::vector<AggregateRow> out;
  out.reserve(b.size());
  for (const auto& [start, row] : b) {
    AggregateRow r = row;
    r.period_start_ms = start;
    out.push_back(r);
  }
  return out;
}

// Retention settings shared by the backends (durations; 0 = keep forever).
struct RetentionOptions {
  int64_t raw_ms = 30 * kDayMs;          // raw points
  int64_t minute_ms = 365 * kDayMs;      // 1-minute rollups
  int64_t hour_ms = 0;                   // 1-hour rollups: kept forever
  // How long idempotency keys are remembered (by observedAt); 0 = as long as
  // raw points. Keys are the largest part of a keyed history (tens of bytes
  // each against ~1 byte per compressed point), while replays after a
  // reconnect come within minutes or hours: a day or a week is plenty there.
  int64_t idempotency_ms = 0;
  int64_t idempotency_window() const { return idempotency_ms > 0 ? idempotency_ms : raw_ms; }
};

}  // namespace urbis::tsdb
