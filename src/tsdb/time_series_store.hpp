// TimeSeriesStore: the history of every attribute of every entity.
//
// A series is (tenant, entity id, attribute, datasetId). Points are
// (observedAt, value); values are numbers, booleans, strings or JSON text.
// Writes are asynchronous and durable: `done` runs after the commit that made
// them survive `kill -9` (see the backend for its synchronous mode). Reads
// are synchronous and may run on any thread concurrently with writes.
//
// Idempotency: a measurement carrying an idempotency key that the store has
// already committed for the same series (within the idempotency window: the
// raw retention unless configured shorter) is not stored again; it still counts as success. Keys are scoped to the series,
// so one uplink may carry the same key for each of its attributes.
//
// Ordering: points of a series are returned ordered by observedAt whatever
// order they arrived in (late data is accepted and placed). Points of one
// value kind with equal observedAt keep their arrival order.
//
// Backends: storage/sqlite/time_series_sqlite.hpp (embedded default). The
// interface test suite (tests/unit/tsdb/time_series_store_test.cpp) runs
// against every backend unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace urbis::tsdb {

struct SeriesKey {
  std::string tenant;      // "" is the default tenant
  std::string entity_id;   // URI, e.g. urn:ngsi-ld:AirQualityObserved:main-street
  std::string attribute;   // e.g. NO2
  std::string dataset_id;  // "" = default instance
  bool operator==(const SeriesKey&) const = default;
  auto operator<=>(const SeriesKey&) const = default;
};

struct Value {
  enum class Kind : uint8_t { kNumber = 0, kBool = 1, kString = 2, kJson = 3 };
  Kind kind = Kind::kNumber;
  double number = 0;   // kNumber; kBool as 0/1
  std::string text;    // kString, kJson (serialised JSON)

  static Value of(double d) { return {Kind::kNumber, d, {}}; }
  static Value of_bool(bool b) { return {Kind::kBool, b ? 1.0 : 0.0, {}}; }
  static Value of_string(std::string s) { return {Kind::kString, 0, std::move(s)}; }
  static Value of_json(std::string j) { return {Kind::kJson, 0, std::move(j)}; }
  bool operator==(const Value&) const = default;
};

struct Measurement {
  SeriesKey key;
  int64_t observed_at_ms = 0;  // Unix epoch milliseconds
  Value value;
  std::string idempotency_key;  // empty = none
};

struct Point {
  int64_t t_ms = 0;
  Value value;
  bool operator==(const Point&) const = default;
};

struct RangeQuery {
  SeriesKey key;
  int64_t from_ms = std::numeric_limits<int64_t>::min();  // inclusive
  int64_t to_ms = std::numeric_limits<int64_t>::max();    // exclusive
  size_t limit = 0;         // 0 = no limit
  bool descending = false;  // newest first (with limit: the last N)
};

// Aggregates over numeric (and boolean, as 0/1) points, one row per period.
struct AggregateQuery {
  SeriesKey key;
  int64_t from_ms = 0;    // inclusive; periods are aligned to multiples of period_ms since the epoch
  int64_t to_ms = 0;      // exclusive
  int64_t period_ms = 0;  // > 0
};

struct AggregateRow {
  int64_t period_start_ms = 0;
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double avg() const { return count ? sum / static_cast<double>(count) : 0; }
  bool operator==(const AggregateRow&) const = default;
};

struct StorageStats {
  uint64_t points = 0;        // raw points stored
  uint64_t raw_bytes = 0;     // bytes of raw point data on disk (chunks, excluding indexes)
  uint64_t series = 0;
  double bytes_per_point() const { return points ? double(raw_bytes) / double(points) : 0; }
};

class TimeSeriesStore {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~TimeSeriesStore() = default;

  // Queues `batch` for the writer; `done` (may be empty) runs on the writer's
  // thread after the commit, with an error if it failed (nothing of the batch
  // is then stored). Blocks the caller when the write queue is full
  // (back-pressure). Thread-safe.
  virtual void append(std::vector<Measurement> batch, Done done) = 0;

  // Points of one series in [from, to), ordered by time.
  virtual Result<std::vector<Point>> range(const RangeQuery& q) = 0;

  // Aggregates per period; answered from the cheapest tier that is exact for
  // the query (1-hour or 1-minute rollups when periods and bounds align to
  // them, raw points otherwise). Periods without points are omitted.
  virtual Result<std::vector<AggregateRow>> aggregate(const AggregateQuery& q) = 0;

  // Every series of an entity (all its attributes and datasets).
  virtual Result<std::vector<SeriesKey>> series_of(const std::string& tenant, const std::string& entity_id) = 0;

  // Blocks until everything appended before the call is committed.
  [[nodiscard]] virtual Status flush() = 0;
  // Not ok after an I/O error (e.g. disk full): writes are refused with this
  // status, reads keep working.
  virtual Status health() const = 0;
  virtual Result<StorageStats> stats() = 0;

  // Deletes what is past its retention at `now_ms` (raw points and
  // idempotency keys, then 1-minute and 1-hour rollups, per the backend's
  // retention options). Backends also run it periodically by themselves;
  // callable for tests and operators. Blocks until committed.
  [[nodiscard]] virtual Status enforce_retention(int64_t now_ms) = 0;
};

}  // namespace urbis::tsdb
