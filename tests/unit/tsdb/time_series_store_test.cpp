// One suite against the TimeSeriesStore interface, run on every backend: the
// in-memory reference and SQLite. What charts, temporal queries and ingest
// rely on must not depend on which store the composition root picked.
// Expected answers are computed here, independently of any store.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testutil/temp_dir.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/time_series_sqlite.hpp"
#include "storage/sqlite/ts_internal.hpp"
#include "tsdb/memory_time_series_store.hpp"
#include "tsdb/rollup_tiers.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::tsdb {
namespace {

using storage::sqlite::Database;
using storage::sqlite::SqliteTimeSeriesStore;

// Files of this suite live under urbis-tsdb-XXXXXX.
class TempDir : public testutil::TempDir {
 public:
  TempDir() : testutil::TempDir("urbis-tsdb") {}
};

// 2026-01-01T00:00:00Z: a day (and hour, minute) boundary.
constexpr int64_t kT0 = 1767225600000;
constexpr int64_t k15s = 15'000;

struct MemoryFactory {
  static constexpr bool kPersistent = false;
  static std::unique_ptr<TimeSeriesStore> open(const std::string&, RetentionOptions r = {}) {
    return std::make_unique<MemoryTimeSeriesStore>(r);
  }
};

struct SqliteFactory {
  static constexpr bool kPersistent = true;
  static std::unique_ptr<TimeSeriesStore> open(const std::string& path, RetentionOptions retention = {}) {
    storage::sqlite::TimeSeriesOptions o;
    o.retention = retention;
    o.chunk_points = 64;  // small, so every test crosses many seals
    o.retention_interval = std::chrono::milliseconds(0);
    auto r = SqliteTimeSeriesStore::open(path, o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : nullptr;
  }
};

template <typename Factory>
class TimeSeriesStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("history.db");
    store_ = Factory::open(path_);
    ASSERT_NE(store_, nullptr);
  }

  void reopen() {
    ASSERT_TRUE(store_->flush().ok());
    store_.reset();
    store_ = Factory::open(path_);
    ASSERT_NE(store_, nullptr);
  }

  // Appends and waits for the commit; returns the batch's status.
  Status append_sync(std::vector<Measurement> batch) {
    std::atomic<int> calls{0};
    Status seen = Internal("done not called");
    store_->append(std::move(batch), [&](const Status& s) {
      seen = s;
      ++calls;
    });
    Status f = store_->flush();
    EXPECT_EQ(calls.load(), 1) << "done runs exactly once, before flush() returns";
    if (!f.ok() && seen.ok()) return f;
    return seen;
  }

  std::vector<Point> all(const SeriesKey& key) {
    RangeQuery q;
    q.key = key;
    return range(q);
  }
  std::vector<Point> range(const RangeQuery& q) {
    Result<std::vector<Point>> r = store_->range(q);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : std::vector<Point>{};
  }
  std::vector<AggregateRow> aggregate(const SeriesKey& key, int64_t from, int64_t to, int64_t period) {
    Result<std::vector<AggregateRow>> r = store_->aggregate(AggregateQuery{key, from, to, period});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : std::vector<AggregateRow>{};
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<TimeSeriesStore> store_;
};

using Implementations = ::testing::Types<MemoryFactory, SqliteFactory>;

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryFactory> ? "Memory" : "Sqlite";
  }
};

TYPED_TEST_SUITE(TimeSeriesStoreTest, Implementations, FactoryNames);

SeriesKey series(const std::string& attr = "temperature", const std::string& entity = "urn:ngsi-ld:Sensor:1",
                 const std::string& tenant = "", const std::string& dataset = "") {
  return SeriesKey{tenant, entity, attr, dataset};
}

Measurement num(const SeriesKey& k, int64_t t, double v, std::string idem = {}) {
  return Measurement{k, t, Value::of(v), std::move(idem)};
}

std::vector<Point> numbers(const std::vector<std::pair<int64_t, double>>& tv) {
  std::vector<Point> out;
  for (auto [t, v] : tv) out.push_back(Point{t, Value::of(v)});
  return out;
}

// Values with an exact binary form (multiples of 1/4), so that sums are equal
// whatever order a store adds them in.
double exact_value(std::mt19937_64& rng) { return static_cast<double>(static_cast<int64_t>(rng() % 400) - 100) / 4.0; }

TYPED_TEST(TimeSeriesStoreTest, ShuffledInputComesBackInTimeOrder) {
  const SeriesKey k = series();
  std::vector<Measurement> ms;
  std::vector<Point> expected;
  for (int i = 0; i < 500; ++i) {
    ms.push_back(num(k, kT0 + i * k15s, i * 0.5));
    expected.push_back(Point{kT0 + i * k15s, Value::of(i * 0.5)});
  }
  std::mt19937_64 rng(7);
  std::shuffle(ms.begin(), ms.end(), rng);
  for (size_t i = 0; i < ms.size(); i += 37) {
    std::vector<Measurement> batch(ms.begin() + i, ms.begin() + std::min(ms.size(), i + 37));
    ASSERT_TRUE(this->append_sync(std::move(batch)).ok());
  }
  EXPECT_EQ(this->all(k), expected);
  Result<StorageStats> st = this->store_->stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->points, 500u);
  EXPECT_EQ(st->series, 1u);
}

TYPED_TEST(TimeSeriesStoreTest, LateDataIsPlacedAndCounted) {
  const SeriesKey k = series();
  std::vector<Measurement> first;
  std::map<int64_t, double> expected;
  for (int i = 0; i < 300; ++i) {
    first.push_back(num(k, kT0 + i * k15s, i));
    expected[kT0 + i * k15s] = i;
  }
  ASSERT_TRUE(this->append_sync(first).ok());
  // Hours later, points from the middle (already sealed in a chunk store)
  // and from before the series began arrive.
  std::vector<Measurement> late;
  for (int i : {5, 70, 150, 299}) {
    late.push_back(num(k, kT0 + i * k15s + 7000, -i));
    expected[kT0 + i * k15s + 7000] = -i;
  }
  late.push_back(num(k, kT0 - 3600'000, 1000));
  expected[kT0 - 3600'000] = 1000;
  ASSERT_TRUE(this->append_sync(late).ok());

  std::vector<Point> want;
  for (auto [t, v] : expected) want.push_back(Point{t, Value::of(v)});
  EXPECT_EQ(this->all(k), want);

  // The aggregates see the late points too, on every tier.
  auto rows = this->aggregate(k, kT0 - 2 * kHourMs, kT0 + 2 * kHourMs, kHourMs);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].period_start_ms, kT0 - kHourMs);
  EXPECT_EQ(rows[0].count, 1u);
  EXPECT_EQ(rows[0].max, 1000);
  EXPECT_EQ(rows[1].count, 240u + 3u);  // 240 points in the first hour + 3 late ones
  EXPECT_EQ(rows[1].min, -150);
  EXPECT_EQ(rows[2].count, 60u + 1u);
  EXPECT_EQ(rows[2].min, -299);
  EXPECT_EQ(this->aggregate(k, kT0 - 2 * kHourMs - 1, kT0 + 2 * kHourMs, kHourMs), rows) << "raw tier agrees";
}

TYPED_TEST(TimeSeriesStoreTest, RangeBoundsAreInclusiveExclusive) {
  const SeriesKey k = series();
  std::vector<Measurement> ms;
  for (int i = 0; i < 200; ++i) ms.push_back(num(k, kT0 + i * 1000, i));
  ASSERT_TRUE(this->append_sync(ms).ok());

  RangeQuery q;
  q.key = k;
  q.from_ms = kT0 + 2000;
  q.to_ms = kT0 + 5000;
  EXPECT_EQ(this->range(q), numbers({{kT0 + 2000, 2}, {kT0 + 3000, 3}, {kT0 + 4000, 4}}));
  q.from_ms = kT0 + 2001;
  q.to_ms = kT0 + 5001;
  EXPECT_EQ(this->range(q), numbers({{kT0 + 3000, 3}, {kT0 + 4000, 4}, {kT0 + 5000, 5}}));
  q.to_ms = q.from_ms;
  EXPECT_TRUE(this->range(q).empty());
  // Across chunk boundaries (64 points per chunk in the SQLite factory).
  q.from_ms = kT0 + 60'000;
  q.to_ms = kT0 + 140'000;
  std::vector<Point> got = this->range(q);
  ASSERT_EQ(got.size(), 80u);
  EXPECT_EQ(got.front().t_ms, kT0 + 60'000);
  EXPECT_EQ(got.back().t_ms, kT0 + 139'000);
  // Unknown series: empty, not an error.
  q.key = series("humidity");
  EXPECT_TRUE(this->range(q).empty());
}

TYPED_TEST(TimeSeriesStoreTest, LimitAndDescendingGiveFirstAndLastN) {
  const SeriesKey k = series();
  std::vector<Measurement> ms;
  for (int i = 0; i < 150; ++i) ms.push_back(num(k, kT0 + i * 1000, i));
  ASSERT_TRUE(this->append_sync(ms).ok());
  RangeQuery q;
  q.key = k;
  q.limit = 3;
  EXPECT_EQ(this->range(q), numbers({{kT0, 0}, {kT0 + 1000, 1}, {kT0 + 2000, 2}}));
  q.descending = true;
  EXPECT_EQ(this->range(q), numbers({{kT0 + 149'000, 149}, {kT0 + 148'000, 148}, {kT0 + 147'000, 147}}));
  q.to_ms = kT0 + 10'000;  // the last 3 before a time
  EXPECT_EQ(this->range(q), numbers({{kT0 + 9000, 9}, {kT0 + 8000, 8}, {kT0 + 7000, 7}}));
  q.limit = 0;
  EXPECT_EQ(this->range(q).size(), 10u);
  EXPECT_EQ(this->range(q).front().t_ms, kT0 + 9000);
}

TYPED_TEST(TimeSeriesStoreTest, FirstAndLastNAgreeWithTheFullRangeDespiteLateDataAndTies) {
  // Stores may answer a limited query from part of the data (the newest
  // chunks for lastN); the answer must be exactly the slice of the full one.
  const SeriesKey k = series();
  std::vector<Point> arrival;
  auto add = [&](std::vector<std::pair<int64_t, double>> tv) {
    std::vector<Measurement> batch;
    for (auto [t, v] : tv) {
      batch.push_back(num(k, t, v));
      arrival.push_back(Point{t, Value::of(v)});
    }
    ASSERT_TRUE(this->append_sync(std::move(batch)).ok());
  };
  for (int i = 0; i < 400; i += 20) {
    std::vector<std::pair<int64_t, double>> tv;
    for (int j = i; j < i + 20; ++j) tv.emplace_back(kT0 + j * 1000, j);
    add(tv);
  }
  add({{kT0 + 399'000, -1}, {kT0 + 10'500, -2}, {kT0 + 200'000, -3}});  // ties and late points
  add({{kT0 + 399'000, -4}, {kT0 + 500'000, -5}, {kT0 - 1, -6}});
  ASSERT_TRUE(this->append_sync({Measurement{k, kT0 + 399'000, Value::of_string("tie"), {}},
                                 Measurement{k, kT0 + 450'000, Value::of_string("late text"), {}}})
                  .ok());
  std::vector<Point> want = arrival;
  std::stable_sort(want.begin(), want.end(), [](const Point& a, const Point& b) { return a.t_ms < b.t_ms; });
  // The string at 399 s came after the numbers at 399 s; the string at 450 s sits between numbers.
  want.insert(std::find_if(want.begin(), want.end(), [](const Point& p) { return p.t_ms > kT0 + 399'000; }),
              Point{kT0 + 399'000, Value::of_string("tie")});
  want.insert(std::find_if(want.begin(), want.end(), [](const Point& p) { return p.t_ms > kT0 + 450'000; }),
              Point{kT0 + 450'000, Value::of_string("late text")});
  ASSERT_EQ(this->all(k), want);

  for (int64_t to : {std::numeric_limits<int64_t>::max(), kT0 + 399'000, kT0 + 399'001, kT0 + 150'000}) {
    RangeQuery q;
    q.key = k;
    q.to_ms = to;
    std::vector<Point> full = this->range(q);
    for (size_t limit : {1u, 2u, 3u, 5u, 64u, 65u, 130u, 1000u}) {
      q.limit = limit;
      q.descending = false;
      std::vector<Point> first(full.begin(), full.begin() + static_cast<ptrdiff_t>(std::min(limit, full.size())));
      EXPECT_EQ(this->range(q), first) << "first " << limit << " before " << to;
      q.descending = true;
      std::vector<Point> last(full.rbegin(), full.rbegin() + static_cast<ptrdiff_t>(std::min(limit, full.size())));
      EXPECT_EQ(this->range(q), last) << "last " << limit << " before " << to;
    }
  }
}

TYPED_TEST(TimeSeriesStoreTest, AggregatesMatchIndependentComputationOnEveryTier) {
  const SeriesKey k = series("NO2", "urn:ngsi-ld:AirQualityObserved:main-street");
  std::mt19937_64 rng(42);
  std::vector<std::pair<int64_t, double>> pts;
  // Three days at about 15 s, jittered, some gaps.
  for (int64_t t = kT0; t < kT0 + 3 * kDayMs; t += k15s) {
    if (rng() % 50 == 0) continue;
    pts.emplace_back(t + static_cast<int64_t>(rng() % 5000), exact_value(rng));
  }
  std::vector<Measurement> ms;
  for (auto [t, v] : pts) ms.push_back(num(k, t, v));
  std::shuffle(ms.begin(), ms.end(), rng);
  for (size_t i = 0; i < ms.size(); i += 1000) {
    ASSERT_TRUE(this->append_sync({ms.begin() + i, ms.begin() + std::min(ms.size(), i + 1000)}).ok());
  }

  auto expect_rows = [&](int64_t from, int64_t to, int64_t period) {
    std::map<int64_t, AggregateRow> want;
    for (auto [t, v] : pts) {
      if (t < from || t >= to) continue;
      int64_t start = t - ((t % period) + period) % period;
      AggregateRow& r = want[start];
      r.period_start_ms = start;
      r.min = r.count ? std::min(r.min, v) : v;
      r.max = r.count ? std::max(r.max, v) : v;
      r.sum += v;
      ++r.count;
    }
    std::vector<AggregateRow> rows;
    for (auto& [s, r] : want) rows.push_back(r);
    return rows;
  };

  struct Case {
    int64_t from, to, period;
    const char* what;
  };
  const Case cases[] = {
      {kT0, kT0 + 3 * kDayMs, kHourMs, "hourly, 1h tier"},
      {kT0 - kMinuteMs, kT0 + 3 * kDayMs + kMinuteMs, kHourMs, "hourly, 1m tier (bounds on minutes)"},
      {kT0 - 1, kT0 + 3 * kDayMs + 1, kHourMs, "hourly, raw (bounds off minutes)"},
      {kT0, kT0 + 3 * kDayMs, kDayMs, "daily, 1h tier"},
      {kT0 + 5 * kMinuteMs, kT0 + 2 * kHourMs, 5 * kMinuteMs, "5 minutes, 1m tier"},
      {kT0 + 5 * kMinuteMs, kT0 + 2 * kHourMs, 90'000, "90 s, raw (period not a multiple of a minute)"},
      {kT0 + 1234, kT0 + kDayMs + 777, kHourMs, "hourly, raw, partial first and last periods"},
      {kT0 + 30 * kMinuteMs, kT0 + 90 * kMinuteMs, kHourMs, "hourly, 1m tier, partial periods"},
  };
  for (const Case& c : cases) {
    std::vector<AggregateRow> want = expect_rows(c.from, c.to, c.period);
    ASSERT_FALSE(want.empty()) << c.what;
    EXPECT_EQ(this->aggregate(k, c.from, c.to, c.period), want) << c.what;
  }
  // The same hourly answer from all three tiers.
  EXPECT_EQ(this->aggregate(k, cases[0].from, cases[0].to, kHourMs),
            this->aggregate(k, cases[1].from, cases[1].to, kHourMs));
  EXPECT_EQ(this->aggregate(k, cases[0].from, cases[0].to, kHourMs),
            this->aggregate(k, cases[2].from, cases[2].to, kHourMs));
  // avg is sum / count.
  auto rows = this->aggregate(k, kT0, kT0 + kDayMs, kDayMs);
  ASSERT_EQ(rows.size(), 1u);
  double sum = 0;
  uint64_t n = 0;
  for (auto [t, v] : pts) {
    if (t < kT0 + kDayMs) {
      sum += v;
      ++n;
    }
  }
  EXPECT_DOUBLE_EQ(rows[0].avg(), sum / static_cast<double>(n));
  EXPECT_FALSE(this->store_->aggregate(AggregateQuery{k, kT0, kT0 + kDayMs, 0}).ok()) << "period 0 is refused";
}

TYPED_TEST(TimeSeriesStoreTest, IdempotencyKeyStoresOnce) {
  const SeriesKey temp = series("temperature");
  const SeriesKey hum = series("humidity");
  ASSERT_TRUE(this->append_sync({num(temp, kT0, 20.5, "dev1:fcnt:7"), num(hum, kT0, 61, "dev1:fcnt:7")}).ok());
  // A replay after reconnect: reported as success, not stored again.
  ASSERT_TRUE(this->append_sync({num(temp, kT0, 20.5, "dev1:fcnt:7"), num(hum, kT0, 61, "dev1:fcnt:7"),
                                 num(temp, kT0 + k15s, 20.75, "dev1:fcnt:8"),
                                 num(temp, kT0 + k15s, 20.75, "dev1:fcnt:8")})
                  .ok());
  EXPECT_EQ(this->all(temp), numbers({{kT0, 20.5}, {kT0 + k15s, 20.75}}));
  EXPECT_EQ(this->all(hum), numbers({{kT0, 61}})) << "keys are scoped to the series";
  // Measurements without a key are never deduplicated.
  ASSERT_TRUE(this->append_sync({num(hum, kT0, 61), num(hum, kT0, 61)}).ok());
  EXPECT_EQ(this->all(hum).size(), 3u);
  auto rows = this->aggregate(temp, kT0, kT0 + kHourMs, kHourMs);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 2u) << "duplicates are not rolled up either";

  if constexpr (TypeParam::kPersistent) {
    this->reopen();
    ASSERT_TRUE(this->append_sync({num(temp, kT0, 20.5, "dev1:fcnt:7")}).ok());
    EXPECT_EQ(this->all(temp).size(), 2u) << "keys survive a restart";
  }
}

TYPED_TEST(TimeSeriesStoreTest, ShorterIdempotencyWindowForgetsOnlyOldKeys) {
  RetentionOptions r;
  r.idempotency_ms = kDayMs;
  this->store_.reset();
  this->store_ = TypeParam::open(this->path_, r);
  ASSERT_NE(this->store_, nullptr);
  const int64_t now = kT0 + 10 * kDayMs;
  const SeriesKey k = series();
  ASSERT_TRUE(this->append_sync({num(k, now - 2 * kDayMs, 1, "a"), num(k, now - kHourMs, 2, "b")}).ok());
  ASSERT_TRUE(this->store_->enforce_retention(now).ok());
  EXPECT_EQ(this->all(k).size(), 2u) << "raw points stay for 30 days";
  ASSERT_TRUE(this->append_sync({num(k, now - 2 * kDayMs, 1, "a"), num(k, now - kHourMs, 2, "b")}).ok());
  EXPECT_EQ(this->all(k), numbers({{now - 2 * kDayMs, 1}, {now - 2 * kDayMs, 1}, {now - kHourMs, 2}}))
      << "the day-old key was forgotten, the recent one still deduplicates";
}

TYPED_TEST(TimeSeriesStoreTest, StringJsonAndBooleanValues) {
  const SeriesKey status = series("status");
  const SeriesKey meta = series("metadata");
  const SeriesKey on = series("on");
  ASSERT_TRUE(this->append_sync({
                                    Measurement{status, kT0 + 2000, Value::of_string("closed"), {}},
                                    Measurement{status, kT0, Value::of_string("open"), {}},
                                    Measurement{status, kT0 + 1000, Value::of_string(""), {}},
                                    Measurement{meta, kT0, Value::of_json(R"({"a":[1,2],"b":"x"})"), {}},
                                    Measurement{on, kT0, Value::of_bool(true), {}},
                                    Measurement{on, kT0 + 1000, Value::of_bool(false), {}},
                                    Measurement{on, kT0 + 2000, Value::of_bool(true), {}},
                                })
                  .ok());
  EXPECT_EQ(this->all(status), (std::vector<Point>{{kT0, Value::of_string("open")},
                                                   {kT0 + 1000, Value::of_string("")},
                                                   {kT0 + 2000, Value::of_string("closed")}}));
  EXPECT_EQ(this->all(meta), (std::vector<Point>{{kT0, Value::of_json(R"({"a":[1,2],"b":"x"})")}}));
  EXPECT_EQ(this->all(on), (std::vector<Point>{{kT0, Value::of_bool(true)},
                                               {kT0 + 1000, Value::of_bool(false)},
                                               {kT0 + 2000, Value::of_bool(true)}}));
  // Booleans aggregate as 0/1; strings do not aggregate.
  auto rows = this->aggregate(on, kT0, kT0 + kHourMs, kHourMs);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 3u);
  EXPECT_EQ(rows[0].sum, 2);
  EXPECT_TRUE(this->aggregate(status, kT0, kT0 + kHourMs, kHourMs).empty());

  // A series that changes kind keeps each value's kind.
  ASSERT_TRUE(this->append_sync({Measurement{on, kT0 + 3000, Value::of(0.5), {}},
                                 Measurement{on, kT0 + 4000, Value::of_string("fault"), {}}})
                  .ok());
  std::vector<Point> got = this->all(on);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[3], (Point{kT0 + 3000, Value::of(0.5)}));
  EXPECT_EQ(got[4], (Point{kT0 + 4000, Value::of_string("fault")}));
  rows = this->aggregate(on, kT0, kT0 + kHourMs, kHourMs);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 4u);
  EXPECT_EQ(rows[0].sum, 2.5);
  EXPECT_EQ(this->aggregate(on, kT0 + 1, kT0 + kHourMs, kHourMs)[0].count, 3u) << "raw tier agrees";
  EXPECT_EQ(this->aggregate(on, kT0 - kMinuteMs, kT0 + kHourMs, kHourMs), rows) << "1m tier agrees";

  Result<std::vector<SeriesKey>> keys = this->store_->series_of("", "urn:ngsi-ld:Sensor:1");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys.value(), (std::vector<SeriesKey>{meta, on, status}));
}

TYPED_TEST(TimeSeriesStoreTest, SeriesAreSeparatedByTenantEntityAttributeAndDataset) {
  const SeriesKey a = series("t", "urn:e:1", "cityA");
  const SeriesKey b = series("t", "urn:e:1", "cityB");
  const SeriesKey c = series("t", "urn:e:1", "cityA", "urn:dataset:backup");
  const SeriesKey d = series("t", "urn:e:2", "cityA");
  ASSERT_TRUE(this->append_sync({num(a, kT0, 1), num(b, kT0, 2), num(c, kT0, 3), num(d, kT0, 4)}).ok());
  EXPECT_EQ(this->all(a), numbers({{kT0, 1}}));
  EXPECT_EQ(this->all(b), numbers({{kT0, 2}}));
  EXPECT_EQ(this->all(c), numbers({{kT0, 3}}));
  EXPECT_EQ(this->all(d), numbers({{kT0, 4}}));
  Result<std::vector<SeriesKey>> keys = this->store_->series_of("cityA", "urn:e:1");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys.value(), (std::vector<SeriesKey>{a, c}));
}

TYPED_TEST(TimeSeriesStoreTest, RetentionDropsOldRawDataAndKeepsRollups) {
  const int64_t now = kT0 + 400 * kDayMs;
  const int64_t cutoff = now - 30 * kDayMs;
  const SeriesKey live = series("live"), stale = series("stale"), ancient = series("ancient");
  std::vector<Measurement> ms;
  for (int64_t t = now - 60 * kDayMs; t < now; t += kHourMs) ms.push_back(num(live, t, 1));
  for (int64_t t = now - 50 * kDayMs; t < now - 40 * kDayMs; t += kHourMs) ms.push_back(num(stale, t, 2));
  for (int64_t t = now - 400 * kDayMs; t < now - 400 * kDayMs + 10 * kHourMs; t += kHourMs) {
    ms.push_back(num(ancient, t, 3));
  }
  ms.push_back(num(stale, now - 45 * kDayMs + 1, 2, "old-key"));
  ASSERT_TRUE(this->append_sync(ms).ok());
  ASSERT_TRUE(this->store_->enforce_retention(now).ok());

  EXPECT_TRUE(this->all(stale).empty());
  EXPECT_TRUE(this->all(ancient).empty());
  RangeQuery q;
  q.key = live;
  q.from_ms = cutoff;
  EXPECT_EQ(this->range(q).size(), 30u * 24u) << "everything inside the retention stays";
  q.from_ms = std::numeric_limits<int64_t>::min();
  q.to_ms = cutoff - 3 * kDayMs;  // a point may outlive retention by one chunk (64 h here)
  EXPECT_TRUE(this->range(q).empty());

  // 1-hour rollups are kept forever, 1-minute ones for a year.
  auto hourly = this->aggregate(live, now - 60 * kDayMs, now, kDayMs);
  ASSERT_EQ(hourly.size(), 60u);
  for (const AggregateRow& r : hourly) EXPECT_EQ(r.count, 24u);
  auto old = this->aggregate(ancient, now - 401 * kDayMs, now, kHourMs);
  EXPECT_EQ(old.size(), 10u) << "1h tier answers for data older than a year";
  EXPECT_TRUE(this->aggregate(ancient, now - 401 * kDayMs + kMinuteMs, now, kHourMs).empty())
      << "1m rollups older than a year are gone";
  EXPECT_EQ(this->aggregate(stale, now - 60 * kDayMs + kMinuteMs, now, kDayMs).size(), 10u)
      << "1m rollups within a year stay";

  // The expired idempotency key no longer blocks its key.
  ASSERT_TRUE(this->append_sync({num(stale, now - 45 * kDayMs + 1, 2, "old-key")}).ok());
  EXPECT_EQ(this->all(stale).size(), 1u);
}

TYPED_TEST(TimeSeriesStoreTest, ConcurrentReadersSeeCommittedPrefixes) {
  // One writer appends in time order while a reader polls: every answer must
  // be exactly a prefix of the data (no point twice, none missing in the
  // middle) however the store moves points between its structures.
  const SeriesKey k = series();
  constexpr int kPoints = 3000;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    do {  // at least once, also after the last commit
      Result<std::vector<Point>> r = this->store_->range(RangeQuery{k});
      if (!r.ok()) {
        ++bad;
        continue;
      }
      for (size_t i = 0; i < r->size(); ++i) {
        if ((*r)[i].t_ms != kT0 + static_cast<int64_t>(i) * 1000) {
          ++bad;
          break;
        }
      }
      ++reads;
    } while (!done.load());
  });
  for (int i = 0; i < kPoints; i += 10) {
    std::vector<Measurement> batch;
    for (int j = i; j < i + 10; ++j) batch.push_back(num(k, kT0 + j * 1000, j));
    this->store_->append(std::move(batch), {});
  }
  ASSERT_TRUE(this->store_->flush().ok());
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(this->all(k).size(), static_cast<size_t>(kPoints));
}

TYPED_TEST(TimeSeriesStoreTest, RestartKeepsEverythingIncludingTheOpenHead) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "not a persistent store";
  } else {
    const SeriesKey k = series(), s = series("status"), b = series("on");
    // Batches of 10 with 64-point chunks: 70 points sealed, 30 in the open head.
    for (int i = 0; i < 100; i += 10) {
      std::vector<Measurement> ms;
      for (int j = i; j < i + 10; ++j) ms.push_back(num(k, kT0 + j * k15s, 18.25 + j));
      ASSERT_TRUE(this->append_sync(ms).ok());
    }
    ASSERT_TRUE(this->append_sync({Measurement{s, kT0, Value::of_string("ok"), {}},
                                   Measurement{b, kT0, Value::of_bool(true), {}}})
                    .ok());
    const auto before_k = this->all(k);
    const auto before_hour = this->aggregate(k, kT0, kT0 + kHourMs, kMinuteMs);
    ASSERT_EQ(before_k.size(), 100u);

    this->reopen();
    EXPECT_EQ(this->all(k), before_k);
    EXPECT_EQ(this->aggregate(k, kT0, kT0 + kHourMs, kMinuteMs), before_hour);
    EXPECT_EQ(this->all(s), (std::vector<Point>{{kT0, Value::of_string("ok")}}));
    EXPECT_EQ(this->all(b), (std::vector<Point>{{kT0, Value::of_bool(true)}}));
    // The head keeps filling after the restart and seals at the right size.
    std::vector<Measurement> more;
    for (int i = 100; i < 200; ++i) more.push_back(num(k, kT0 + i * k15s, 18.25 + i));
    ASSERT_TRUE(this->append_sync(more).ok());
    std::vector<Point> got = this->all(k);
    ASSERT_EQ(got.size(), 200u);
    EXPECT_EQ(got[150], (Point{kT0 + 150 * k15s, Value::of(168.25)}));
    Result<StorageStats> st = this->store_->stats();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->points, 201u);  // 200 numbers + 1 boolean
    EXPECT_LT(st->bytes_per_point(), 16.0) << "sealed chunks are compressed";
  }
}

TYPED_TEST(TimeSeriesStoreTest, FullDiskRefusesWritesKeepsReadsAndCorruptsNothing) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "no disk";
  } else {
    auto* store = dynamic_cast<SqliteTimeSeriesStore*>(this->store_.get());
    ASSERT_NE(store, nullptr);
    const SeriesKey k = series();
    std::vector<Measurement> ms;
    for (int i = 0; i < 200; ++i) ms.push_back(num(k, kT0 + i * k15s, i));
    ASSERT_TRUE(this->append_sync(ms).ok());
    const std::vector<Point> before = this->all(k);

    // Simulate a full disk: cap the file at its current size.
    store->writer().submit([](Database& db) { return db.exec("PRAGMA max_page_count = 1"); });
    ASSERT_TRUE(store->flush().ok());
    const std::string big(4096, 'x');
    for (int round = 0; round < 2; ++round) {
      std::vector<Measurement> huge;
      for (int i = 0; i < 2000; ++i) {
        huge.push_back(Measurement{series("blob"), kT0 + i, Value::of_string(big), {}});
        huge.push_back(num(k, kT0 + (1000 + i) * k15s, i));
      }
      Status s = this->append_sync(std::move(huge));
      EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.message();
      EXPECT_FALSE(s.message().empty());
      EXPECT_EQ(this->store_->health().code(), Code::kResourceExhausted);
    }
    // Reads keep working and show exactly what was committed before.
    EXPECT_EQ(this->all(k), before);
    EXPECT_TRUE(this->all(series("blob")).empty());
    EXPECT_TRUE(this->store_->stats().ok());

    // Space comes back: writes succeed and health recovers.
    store->writer().submit([](Database& db) { return db.exec("PRAGMA max_page_count = 1073741823"); });
    ASSERT_TRUE(this->append_sync({num(k, kT0 + 500 * k15s, 42)}).ok());
    EXPECT_TRUE(this->store_->health().ok()) << this->store_->health().message();
    std::vector<Point> after = before;
    after.push_back(Point{kT0 + 500 * k15s, Value::of(42)});
    EXPECT_EQ(this->all(k), after);

    this->reopen();
    EXPECT_EQ(this->all(k), after);
    this->store_.reset();
    auto db = Database::open(this->path_);
    ASSERT_TRUE(db.ok());
    auto st = db->prepare("PRAGMA integrity_check");
    ASSERT_TRUE(st.ok());
    auto row = st->step();
    ASSERT_TRUE(row.ok() && row.value());
    EXPECT_EQ(st->column_text(0), "ok");
  }
}

TYPED_TEST(TimeSeriesStoreTest, DamagedChunkIsReportedNotReturned) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "no stored bytes";
  } else {
    const SeriesKey k = series();
    std::vector<Measurement> ms;
    for (int i = 0; i < 100; ++i) ms.push_back(num(k, kT0 + i * k15s, i));
    ASSERT_TRUE(this->append_sync(ms).ok());
    this->store_.reset();
    {
      auto db = Database::open(this->path_);
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE(db->exec("UPDATE ts_chunk SET bytes = substr(bytes, 1, length(bytes) / 2)").ok());
      ASSERT_TRUE(db->exec("UPDATE ts_rollup_1m SET bytes = x'05'").ok());
    }
    this->store_ = TypeParam::open(this->path_);
    ASSERT_NE(this->store_, nullptr);
    Result<std::vector<Point>> r = this->store_->range(RangeQuery{k});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().message();
    auto agg = this->store_->aggregate(AggregateQuery{k, kT0 - kMinuteMs, kT0 + kHourMs, kMinuteMs});
    ASSERT_FALSE(agg.ok());
    EXPECT_EQ(agg.status().code(), Code::kCorruption) << agg.status().message();
    EXPECT_TRUE(this->store_->aggregate(AggregateQuery{k, kT0, kT0 + kHourMs, kHourMs}).ok()) << "1h tier intact";
  }
}

TYPED_TEST(TimeSeriesStoreTest, NewerSchemaIsRefused) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "no schema";
  } else {
    this->store_.reset();
    {
      auto db = Database::open(this->path_);
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE(db->exec("INSERT INTO schema_version(version, applied_unix_ms) VALUES(999, 0)").ok());
    }
    auto r = SqliteTimeSeriesStore::open(this->path_);
    EXPECT_FALSE(r.ok());
  }
}

}  // namespace
}  // namespace urbis::tsdb

namespace urbis::tsdb {
namespace {

// kill -9 in the middle of a stream of appends: every batch whose `done` had
// reported success is there after reopening, and replaying everything (as a
// reconnecting device does) stores each keyed measurement exactly once.
TEST(SqliteTimeSeriesCrash, AcknowledgedBatchesSurviveKillAndReplaysAreStoredOnce) {
  TempDir dir;
  const std::string path = dir.file("history.db");
  const SeriesKey k = series();
  constexpr int kPerBatch = 100;
  auto batch = [&](int b) {
    std::vector<Measurement> ms;
    for (int j = 0; j < kPerBatch; ++j) {
      const int64_t t = kT0 + (static_cast<int64_t>(b) * kPerBatch + j) * 1000;
      ms.push_back(num(k, t, b, "seq:" + std::to_string(t)));
    }
    return ms;
  };
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    storage::sqlite::TimeSeriesOptions o;
    o.chunk_points = 256;
    o.retention_interval = std::chrono::milliseconds(0);
    auto store = SqliteTimeSeriesStore::open(path, o);
    if (!store.ok()) _exit(2);
    for (int b = 0;; ++b) {
      (*store)->append(batch(b), [fd = fds[1], b](const Status& s) {
        if (s.ok()) (void)!write(fd, &b, sizeof b);
      });
    }
  }
  close(fds[1]);
  int acked = -1, b = 0;
  while (acked < 300 && read(fds[0], &b, sizeof b) == static_cast<ssize_t>(sizeof b)) acked = b;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  ASSERT_GE(acked, 300) << "the child stopped acknowledging";

  storage::sqlite::TimeSeriesOptions o;
  o.chunk_points = 256;
  o.retention_interval = std::chrono::milliseconds(0);
  auto store = SqliteTimeSeriesStore::open(path, o);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Result<std::vector<Point>> got = (*store)->range(RangeQuery{k});
  ASSERT_TRUE(got.ok()) << got.status().message();
  const size_t acked_points = static_cast<size_t>(acked + 1) * kPerBatch;
  ASSERT_GE(got->size(), acked_points);
  for (size_t i = 0; i < acked_points; ++i) {
    ASSERT_EQ((*got)[i].t_ms, kT0 + static_cast<int64_t>(i) * 1000) << "acknowledged point " << i << " lost";
  }
  const int replay = static_cast<int>(got->size() / kPerBatch) + 5;
  for (int r = 0; r < replay; ++r) (*store)->append(batch(r), {});
  ASSERT_TRUE((*store)->flush().ok());
  got = (*store)->range(RangeQuery{k});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), static_cast<size_t>(replay) * kPerBatch) << "each measurement exactly once";
  for (size_t i = 0; i < got->size(); ++i) ASSERT_EQ((*got)[i].t_ms, kT0 + static_cast<int64_t>(i) * 1000);
}

// A history.db of schema version 1 kept a row per minute; opening it converts
// them into hour blobs and answers minute-tier queries as before.
TEST(SqliteTimeSeriesMigration, Version1MinuteRowsAreConvertedOnOpen) {
  TempDir dir;
  const std::string path = dir.file("history.db");
  const SeriesKey k = series();
  std::vector<AggregateRow> want;
  {
    auto db = Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->migrate(storage::sqlite::ts::migrations().first(1)).ok());
    ASSERT_TRUE(db->exec("INSERT INTO ts_series(id, tenant, entity_id, attribute, dataset_id, num_kind) "
                         "VALUES(7, '', 'urn:ngsi-ld:Sensor:1', 'temperature', '', 0)")
                    .ok());
    for (int m = 0; m < 150; m += 3) {  // 2.5 hours, every third minute
      AggregateRow r{kT0 + m * kMinuteMs, 4, 80.5 + m, 19.25, 21.5 + m};
      want.push_back(r);
      ASSERT_TRUE(db->exec(fmt::format("INSERT INTO ts_rollup_1m(series_id, period_ms, n, vsum, vmin, vmax) "
                                       "VALUES(7, {}, {}, {}, {}, {})",
                                       r.period_start_ms, r.count, r.sum, r.min, r.max))
                      .ok());
    }
  }
  auto store = SqliteTimeSeriesStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto rows = (*store)->aggregate(AggregateQuery{k, kT0 - kMinuteMs, kT0 + 3 * kHourMs, kMinuteMs});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(rows.value(), want);
  // New points merge into the converted hour blobs.
  std::atomic<bool> ok{false};
  std::vector<Measurement> more;
  for (int i = 0; i < 1024; ++i) more.push_back(num(k, kT0 + i * 1000, 1));  // seals: minutes 0..17
  (*store)->append(std::move(more), [&](const Status& s) { ok = s.ok(); });
  ASSERT_TRUE((*store)->flush().ok());
  EXPECT_TRUE(ok);
  rows = (*store)->aggregate(AggregateQuery{k, kT0 - kMinuteMs, kT0 + kMinuteMs, kMinuteMs});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count, 4u + 60u);
  EXPECT_EQ((*rows)[0].min, 1);
  store->reset();
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok());
  auto v = db->schema_version();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), SqliteTimeSeriesStore::schema_version());
  EXPECT_EQ(v.value(), 2);
}

}  // namespace
}  // namespace urbis::tsdb
