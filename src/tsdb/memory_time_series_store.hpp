// MemoryTimeSeriesStore: the reference implementation of TimeSeriesStore.
//
// Everything in plain containers under one mutex, written for obviousness,
// not speed: the interface test suite runs against it and against every real
// backend, so a difference between the two is a bug in one of them. Nothing is
// durable; append() completes synchronously (done runs before append returns).
//
// Retention is exact per point (real backends may keep a point up to one
// chunk longer). Rollups are kept per series in 1-minute and 1-hour maps and
// queried through the same tier choice as the other backends.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tsdb/rollup_tiers.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::tsdb {

class MemoryTimeSeriesStore final : public TimeSeriesStore {
 public:
  explicit MemoryTimeSeriesStore(RetentionOptions retention = {}) : retention_(retention) {}

  void append(std::vector<Measurement> batch, Done done) override;
  Result<std::vector<Point>> range(const RangeQuery& q) override;
  Result<std::vector<AggregateRow>> aggregate(const AggregateQuery& q) override;
  Result<std::vector<SeriesKey>> series_of(const std::string& tenant, const std::string& entity_id) override;
  Status flush() override { return {}; }
  Status health() const override { return {}; }
  Result<StorageStats> stats() override;
  Status enforce_retention(int64_t now_ms) override;

 private:
  struct Series {
    std::vector<Point> points;              // arrival order
    std::map<std::string, int64_t> keys;    // idempotency key -> observedAt
    Buckets minute, hour;                   // rollups by period start
  };

  const RetentionOptions retention_;
  mutable std::mutex mu_;
  std::map<SeriesKey, Series> series_;  // guarded by mu_
};

}  // namespace urbis::tsdb
