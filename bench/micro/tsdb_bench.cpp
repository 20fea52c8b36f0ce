// The embedded history store (SqliteTimeSeriesStore) against the targets of
// issue 3: committed measurements/s through append() with group commit,
// bytes per point on a realistic sensor series, a 1,000,000-point range query
// and a 1-year hourly aggregate. The database lives in $TMPDIR (use a real
// disk, not tmpfs, for meaningful FULL numbers). BENCHMARK_MAIN is in
// sqlite_writer_bench.cpp.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/sqlite/time_series_sqlite.hpp"

namespace {

using urbis::Result;
using urbis::Status;
using urbis::storage::sqlite::SqliteTimeSeriesStore;
using urbis::storage::sqlite::Synchronous;
using urbis::storage::sqlite::TimeSeriesOptions;
using urbis::tsdb::AggregateQuery;
using urbis::tsdb::Measurement;
using urbis::tsdb::RangeQuery;
using urbis::tsdb::SeriesKey;
using urbis::tsdb::Value;

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kHour = 3'600'000;

class BenchDir {
 public:
  BenchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "urbis-tsdb-bench-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  bool ok() const { return !path_.empty(); }
  std::string file() const { return path_ + "/history.db"; }

 private:
  std::string path_;
};

std::unique_ptr<SqliteTimeSeriesStore> open_store(const std::string& path, Synchronous sync) {
  TimeSeriesOptions o;
  o.synchronous = sync;
  o.retention_interval = std::chrono::milliseconds(0);  // the data sets span more than 30 days
  Result<std::unique_ptr<SqliteTimeSeriesStore>> r = SqliteTimeSeriesStore::open(path, o);
  return r.ok() ? std::move(r).value() : nullptr;
}

// A noisy outdoor temperature with 0.01 °C resolution: daily cycle, slow
// drift and sensor noise, as a real 15 s sensor reports it.
// `noise` is the standard deviation of the reading noise in °C.
class Thermometer {
 public:
  explicit Thermometer(uint64_t seed, double noise = 0.05) : rng_(seed), noise_sd_(noise) {}
  double at(int64_t t_ms) {
    drift_ += noise_(rng_) * 0.02;
    const double day = std::sin(static_cast<double>(t_ms % (24 * kHour)) / (24.0 * kHour) * 2 * M_PI);
    return std::round((12.0 + 6.0 * day + drift_ + noise_(rng_) * noise_sd_) * 100.0) / 100.0;
  }

 private:
  std::mt19937_64 rng_;
  double noise_sd_;
  std::normal_distribution<double> noise_{0.0, 1.0};
  double drift_ = 0;
};

// Appends `points` of one series at `period_ms` in batches of 1000.
// keyed: each point carries an idempotency key shaped like the JSON ingest's
// ("t:<series hash>:<observedAt>").
bool fill_series(SqliteTimeSeriesStore& store, const SeriesKey& key, int64_t points, int64_t period_ms,
                 double noise = 0.05, bool keyed = false) {
  Thermometer th(1, noise);
  for (int64_t i = 0; i < points;) {
    std::vector<Measurement> batch;
    for (int64_t end = std::min(points, i + 1000); i < end; ++i) {
      const int64_t t = kT0 + i * period_ms;
      batch.push_back(Measurement{key, t, Value::of(th.at(t)), keyed ? "t:9f3a61c2b47e0d15:" + std::to_string(t) : ""});
    }
    store.append(std::move(batch), {});
  }
  return store.flush().ok();
}

// Committed measurements/s: each iteration queues 200,000 measurements from
// 1,000 sensors (batch = measurements per append() call, one work item each,
// each with an idempotency key when keyed) and waits for the commit.
void BM_TsdbAppendCommitted(benchmark::State& state) {
  const auto sync = state.range(0) == 0 ? Synchronous::kNormal : Synchronous::kFull;
  const int64_t batch = state.range(1);
  const bool keyed = state.range(2) != 0;
  BenchDir dir;
  auto store = dir.ok() ? open_store(dir.file(), sync) : nullptr;
  if (!store) {
    state.SkipWithError("cannot open the store");
    return;
  }
  constexpr int kSensors = 1000;
  constexpr int64_t kPerIteration = 200'000;
  std::vector<SeriesKey> keys;
  for (int s = 0; s < kSensors; ++s) {
    keys.push_back(SeriesKey{"city", "urn:ngsi-ld:WeatherObserved:sensor-" + std::to_string(s), "temperature", ""});
  }
  Thermometer th(2);
  int64_t seq = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<Measurement>> batches;
    for (int64_t n = 0; n < kPerIteration; n += batch) {
      std::vector<Measurement>& b = batches.emplace_back();
      b.reserve(static_cast<size_t>(batch));
      for (int64_t i = 0; i < batch; ++i, ++seq) {
        const int64_t t = kT0 + (seq / kSensors) * 15'000;
        b.push_back(Measurement{keys[seq % kSensors], t, Value::of(th.at(t)),
                                keyed ? "dev" + std::to_string(seq % kSensors) + ":" + std::to_string(seq) : ""});
      }
    }
    state.ResumeTiming();
    for (auto& b : batches) store->append(std::move(b), {});
    if (!store->flush().ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  auto ws = store->writer().stats();
  state.counters["appends_per_commit"] =
      ws.batches_committed ? static_cast<double>(ws.items_committed) / static_cast<double>(ws.batches_committed) : 0;
}
// Args: {synchronous 0=NORMAL 1=FULL, measurements per append(), idempotency keys 0/1}
BENCHMARK(BM_TsdbAppendCommitted)
    ->ArgNames({"full", "batch", "keyed"})
    ->Args({0, 100, 1})
    ->Args({0, 1000, 1})
    ->Args({0, 100, 0})
    ->Args({0, 1000, 0})
    ->Args({1, 100, 1})
    ->Args({1, 1000, 1})
    ->MinTime(3.0)  // several iterations: seals and checkpoints included
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Bytes per point: one 15 s noisy temperature series over 30 days (172,800
// points), everything committed. bytes_per_point: chunk BLOB bytes plus the
// open head (StorageStats); file_bytes_per_point: the whole history.db
// (+ WAL) after a checkpoint, i.e. with rollups, keys and page slack.
// Args: noise standard deviation in 1/100 °C (5 = a good sensor, 30 = a
// cheap one); idempotency keys on every point (kept 30 days by default).
void BM_TsdbBytesPerPoint(benchmark::State& state) {
  const double noise = static_cast<double>(state.range(0)) / 100.0;
  const bool keyed = state.range(1) != 0;
  for (auto _ : state) {
    BenchDir dir;
    auto store = dir.ok() ? open_store(dir.file(), Synchronous::kNormal) : nullptr;
    if (!store || !fill_series(*store, SeriesKey{"", "urn:ngsi-ld:WeatherObserved:1", "temperature", ""},
                               30 * 24 * 240, 15'000, noise, keyed)) {
      state.SkipWithError("cannot fill the store");
      return;
    }
    Result<urbis::tsdb::StorageStats> st = store->stats();
    if (!st.ok()) {
      state.SkipWithError("stats failed");
      return;
    }
    state.counters["points"] = static_cast<double>(st->points);
    state.counters["bytes_per_point"] = st->bytes_per_point();
    store.reset();  // closing checkpoints the WAL into the file
    std::error_code ec;
    auto size = [&](const std::string& f) {
      auto n = std::filesystem::file_size(f, ec);
      return ec ? 0.0 : static_cast<double>(n);
    };
    state.counters["file_bytes_per_point"] =
        (size(dir.file()) + size(dir.file() + "-wal")) / static_cast<double>(st->points);
  }
}
BENCHMARK(BM_TsdbBytesPerPoint)
    ->ArgNames({"noise_centi_c", "keyed"})
    ->Args({5, 0})
    ->Args({30, 0})
    ->Args({5, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One store with a 1,000,000-point series (15 s period, ~174 days), built once.
struct MillionPoints {
  BenchDir dir;
  std::unique_ptr<SqliteTimeSeriesStore> store;
  SeriesKey key{"", "urn:ngsi-ld:WeatherObserved:1", "temperature", ""};
  MillionPoints() {
    store = dir.ok() ? open_store(dir.file(), Synchronous::kNormal) : nullptr;
    if (store && !fill_series(*store, key, 1'000'000, 15'000)) store.reset();
  }
};

MillionPoints& million() {
  static MillionPoints m;  // benchmark-local fixture, built on first use
  return m;
}

void BM_TsdbRange1M(benchmark::State& state) {
  MillionPoints& m = million();
  if (!m.store) {
    state.SkipWithError("cannot build the data set");
    return;
  }
  size_t n = 0;
  for (auto _ : state) {
    RangeQuery q;
    q.key = m.key;
    Result<std::vector<urbis::tsdb::Point>> r = m.store->range(q);
    if (!r.ok()) {
      state.SkipWithError("range failed");
      return;
    }
    n = r->size();
    benchmark::DoNotOptimize(r->data());
  }
  state.counters["points"] = static_cast<double>(n);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_TsdbRange1M)->Unit(benchmark::kMillisecond)->UseRealTime();

// The latest N points of the same series (descending + limit): what a
// dashboard asks for every sensor; reads only the newest chunk(s) and the head.
void BM_TsdbLastN(benchmark::State& state) {
  MillionPoints& m = million();
  if (!m.store) {
    state.SkipWithError("cannot build the data set");
    return;
  }
  RangeQuery q;
  q.key = m.key;
  q.descending = true;
  q.limit = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    Result<std::vector<urbis::tsdb::Point>> r = m.store->range(q);
    if (!r.ok() || r->size() != q.limit) {
      state.SkipWithError("range failed");
      return;
    }
    benchmark::DoNotOptimize(r->data());
  }
}
BENCHMARK(BM_TsdbLastN)->ArgNames({"n"})->Arg(1)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Hourly aggregate over one year of a 1-minute series (525,600 points):
// from the 1-hour rollups (bounds on hours), and from raw points (bounds off
// the minute) for comparison.
struct YearOfMinutes {
  BenchDir dir;
  std::unique_ptr<SqliteTimeSeriesStore> store;
  SeriesKey key{"", "urn:ngsi-ld:WeatherObserved:2", "temperature", ""};
  YearOfMinutes() {
    store = dir.ok() ? open_store(dir.file(), Synchronous::kNormal) : nullptr;
    if (store && !fill_series(*store, key, 365 * 24 * 60, 60'000)) store.reset();
  }
};

YearOfMinutes& year() {
  static YearOfMinutes y;
  return y;
}

void BM_TsdbHourlyAggregate1Year(benchmark::State& state) {
  const bool raw = state.range(0) != 0;
  YearOfMinutes& y = year();
  if (!y.store) {
    state.SkipWithError("cannot build the data set");
    return;
  }
  AggregateQuery q{y.key, kT0 - (raw ? 1 : 0), kT0 + 365 * 24 * kHour, kHour};
  size_t rows = 0;
  for (auto _ : state) {
    auto r = y.store->aggregate(q);
    if (!r.ok()) {
      state.SkipWithError("aggregate failed");
      return;
    }
    rows = r->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_TsdbHourlyAggregate1Year)->ArgNames({"raw"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
