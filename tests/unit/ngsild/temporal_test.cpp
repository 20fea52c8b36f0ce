// NGSI-LD Temporal API: parameter parsing, aggregation against hand-computed
// values, and the routes end to end through a Router over memory stores.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <map>
#include <string>

#include "model/entity_json.hpp"
#include "ngsild/temporal/aggregation.hpp"
#include "ngsild/temporal/temporal_params.hpp"
#include "tsdb/memory_time_series_store.hpp"

namespace urbis::ngsild::temporal {
namespace {

namespace json = boost::json;

int64_t T(const char* iso) {
  auto t = model::parse_datetime_ms(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(0);
}

std::variant<TemporalParams, ParamError> parse(std::map<std::string, std::string> q) {
  return parse_temporal_params([q](std::string_view name) -> std::optional<std::string_view> {
    auto it = q.find(std::string(name));
    if (it == q.end()) return std::nullopt;
    return std::string_view(it->second);
  });
}

TEST(TemporalDuration, ParsesIso8601) {
  struct Case {
    const char* text;
    int64_t months;
    int64_t ms;
  };
  const Case good[] = {
      {"PT1H", 0, 3'600'000},        {"P1D", 0, 86'400'000},       {"PT15M", 0, 900'000},
      {"P1W", 0, 7 * 86'400'000LL},  {"P1M", 1, 0},                {"P1Y", 12, 0},
      {"P1Y2M3DT4H5M6S", 14, ((3 * 24 + 4) * 60 + 5) * 60'000LL + 6000},
      {"PT0S", 0, 0},                {"P0D", 0, 0},                {"PT0.5S", 0, 500},
      {"PT1.5H", 0, 5'400'000},      {"P1DT12H", 0, 36 * 3'600'000LL},
  };
  for (const auto& c : good) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->months, c.months) << c.text;
    EXPECT_EQ(d->ms, c.ms) << c.text;
  }
  for (const char* bad : {"", "P", "PT", "1H", "P1H", "PT1D", "-P1D", "P1Y2Y", "P1M1Y", "P0001-02-03", "P1.5M",
                          "PT1.5H30M", "P1DT", "PTH", "P1D ", "p1d", "P1X"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(TemporalDuration, AddsCalendarMonthsClampingTheDay) {
  EXPECT_EQ(add_duration(T("2024-01-31T10:00:00Z"), {1, 0}), T("2024-02-29T10:00:00Z"));
  EXPECT_EQ(add_duration(T("2024-01-31T10:00:00Z"), {1, 0}, 2), T("2024-03-31T10:00:00Z"));
  EXPECT_EQ(add_duration(T("2023-11-15T00:00:00Z"), {12, 0}), T("2024-11-15T00:00:00Z"));
  EXPECT_EQ(add_duration(T("2023-12-01T00:00:00Z"), {1, 3'600'000}), T("2024-01-01T01:00:00Z"));
  EXPECT_EQ(add_duration(T("2024-01-01T00:00:00Z"), {0, 86'400'000}, 3), T("2024-01-04T00:00:00Z"));
}

TEST(TemporalParams, GoodCombinations) {
  auto r = parse({{"timerel", "between"},
                  {"timeAt", "2024-01-01T00:00:00Z"},
                  {"endTimeAt", "2024-01-02T00:00:00Z"},
                  {"lastN", "5"},
                  {"options", "aggregatedValues,sysAttrs"},
                  {"aggrMethods", "sum,avg,sum"},
                  {"aggrPeriodDuration", "PT1H"}});
  ASSERT_TRUE(std::holds_alternative<TemporalParams>(r)) << std::get<ParamError>(r).detail;
  const auto& p = std::get<TemporalParams>(r);
  EXPECT_EQ(p.timerel, TimeRel::kBetween);
  EXPECT_EQ(p.from_ms(), T("2024-01-01T00:00:00Z"));
  EXPECT_EQ(p.to_ms(), T("2024-01-02T00:00:00Z"));
  EXPECT_EQ(p.last_n, 5u);
  EXPECT_EQ(p.format, Format::kAggregated);
  EXPECT_TRUE(p.sys_attrs);
  EXPECT_EQ(p.aggr_methods, (std::vector<AggrMethod>{AggrMethod::kSum, AggrMethod::kAvg}));
  EXPECT_EQ(p.aggr_period.ms, 3'600'000);

  auto before = std::get<TemporalParams>(parse({{"timerel", "before"}, {"time", "2024-01-01T00:00:00Z"}}));
  EXPECT_EQ(before.to_ms(), T("2024-01-01T00:00:00Z"));
  auto after = std::get<TemporalParams>(parse({{"timerel", "after"}, {"timeAt", "2024-01-01T00:00:00Z"}}));
  EXPECT_EQ(after.from_ms(), T("2024-01-01T00:00:00Z") + 1);  // exclusive
  auto none = std::get<TemporalParams>(parse({{"options", "temporalValues"}}));
  EXPECT_EQ(none.timerel, TimeRel::kNone);
  EXPECT_EQ(none.format, Format::kTemporalValues);
}

TEST(TemporalParams, BadInputNamesTheParameter) {
  struct Case {
    std::map<std::string, std::string> q;
    const char* param;
    const char* type;
  };
  const Case cases[] = {
      {{{"timerel", "during"}, {"timeAt", "2024-01-01T00:00:00Z"}}, "timerel", "BadRequestData"},
      {{{"timerel", "before"}}, "timeAt", "BadRequestData"},
      {{{"timeAt", "2024-01-01T00:00:00Z"}}, "timerel", "BadRequestData"},
      {{{"timerel", "after"}, {"timeAt", "yesterday"}}, "timeAt", "BadRequestData"},
      {{{"timerel", "between"}, {"timeAt", "2024-01-01T00:00:00Z"}}, "endTimeAt", "BadRequestData"},
      {{{"timerel", "between"}, {"timeAt", "2024-01-02T00:00:00Z"}, {"endTimeAt", "2024-01-01T00:00:00Z"}},
       "endTimeAt", "BadRequestData"},
      {{{"timerel", "between"}, {"timeAt", "2024-01-01T00:00:00Z"}, {"endTimeAt", "2024-01-01T00:00:00Z"}},
       "endTimeAt", "BadRequestData"},
      {{{"timerel", "between"}, {"timeAt", "2024-01-01T00:00:00Z"}, {"endTimeAt", "soon"}}, "endTimeAt",
       "BadRequestData"},
      {{{"timeproperty", "modifiedAt"}}, "timeproperty", "OperationNotSupported"},
      {{{"timeproperty", "bogus"}}, "timeproperty", "BadRequestData"},
      {{{"lastN", "0"}}, "lastN", "BadRequestData"},
      {{{"lastN", "-3"}}, "lastN", "BadRequestData"},
      {{{"lastN", "3x"}}, "lastN", "BadRequestData"},
      {{{"options", "temporalValues,aggregatedValues"}, {"aggrMethods", "sum"}}, "options", "BadRequestData"},
      {{{"options", "fancy"}}, "options", "BadRequestData"},
      {{{"options", "aggregatedValues"}}, "aggrMethods", "BadRequestData"},
      {{{"options", "aggregatedValues"}, {"aggrMethods", "sum,median"}}, "aggrMethods", "BadRequestData"},
      {{{"options", "aggregatedValues"}, {"aggrMethods", "sum"}, {"aggrPeriodDuration", "1 hour"}},
       "aggrPeriodDuration", "BadRequestData"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.q);
    ASSERT_TRUE(std::holds_alternative<ParamError>(r)) << c.param;
    const auto& e = std::get<ParamError>(r);
    EXPECT_EQ(e.param, c.param) << e.detail;
    EXPECT_EQ(e.type, c.type) << e.detail;
    EXPECT_NE(e.detail.find(c.param), std::string::npos) << e.detail;
  }
}

// --- aggregation ------------------------------------------------------------

class TemporalAggregation : public ::testing::Test {
 protected:
  void add(const char* attr, int64_t t, tsdb::Value v) {
    tsdb::Measurement m;
    m.key = {"", "urn:e:1", attr, ""};
    m.observed_at_ms = t;
    m.value = std::move(v);
    store_.append({m}, nullptr);
  }
  TemporalParams params(std::vector<AggrMethod> methods, Duration period, TimeRel rel = TimeRel::kNone,
                        int64_t at = 0, int64_t end = 0) {
    TemporalParams p;
    p.format = Format::kAggregated;
    p.aggr_methods = std::move(methods);
    p.aggr_period = period;
    p.timerel = rel;
    p.time_at_ms = at;
    p.end_time_at_ms = end;
    return p;
  }
  tsdb::MemoryTimeSeriesStore store_;
  tsdb::SeriesKey key_{"", "urn:e:1", "NO2", ""};
};

constexpr int64_t kH = 3'600'000;
constexpr int64_t kMin = 60'000;

TEST_F(TemporalAggregation, HourlyPeriodsByHand) {
  const int64_t day = T("2024-03-01T00:00:00Z");
  // Hour 0: 10, 20, 30 ; hour 1: 5, 5 ; hour 2: nothing ; hour 3: -4.
  add("NO2", day + 1 * kMin, tsdb::Value::of(10));
  add("NO2", day + 2 * kMin, tsdb::Value::of(20));
  add("NO2", day + 59 * kMin, tsdb::Value::of(30));
  add("NO2", day + kH, tsdb::Value::of(5));
  add("NO2", day + kH + 30 * kMin, tsdb::Value::of(5));
  add("NO2", day + 3 * kH + 1, tsdb::Value::of(-4));
  auto all = {AggrMethod::kTotalCount, AggrMethod::kDistinctCount, AggrMethod::kSum, AggrMethod::kAvg,
              AggrMethod::kMin,        AggrMethod::kMax,           AggrMethod::kStddev, AggrMethod::kSumsq};
  auto r = aggregate_series(store_, key_, params(all, {0, kH}, TimeRel::kBetween, day, day + 4 * kH));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);  // the empty hour is left out
  const auto& h0 = (*r)[0];
  EXPECT_EQ(h0.start_ms, day);
  EXPECT_EQ(h0.end_ms, day + kH);
  EXPECT_EQ(h0.values[0].to_number<double>(), 3);   // totalCount
  EXPECT_EQ(h0.values[1].to_number<double>(), 3);   // distinctCount
  EXPECT_EQ(h0.values[2].to_number<double>(), 60);  // sum
  EXPECT_EQ(h0.values[3].to_number<double>(), 20);  // avg
  EXPECT_EQ(h0.values[4].to_number<double>(), 10);  // min
  EXPECT_EQ(h0.values[5].to_number<double>(), 30);  // max
  // population stddev of 10, 20, 30: sqrt((100 + 0 + 100) / 3)
  EXPECT_NEAR(h0.values[6].to_number<double>(), std::sqrt(200.0 / 3.0), 1e-9);
  EXPECT_EQ(h0.values[7].to_number<double>(), 1400);  // 100 + 400 + 900
  const auto& h1 = (*r)[1];
  EXPECT_EQ(h1.start_ms, day + kH);
  EXPECT_EQ(h1.values[0].to_number<double>(), 2);
  EXPECT_EQ(h1.values[1].to_number<double>(), 1);  // 5 twice
  EXPECT_EQ(h1.values[6].to_number<double>(), 0);
  const auto& h3 = (*r)[2];
  EXPECT_EQ(h3.start_ms, day + 3 * kH);
  EXPECT_EQ(h3.end_ms, day + 4 * kH);
  EXPECT_EQ(h3.values[2].to_number<double>(), -4);
  EXPECT_EQ(h3.values[7].to_number<double>(), 16);
}

TEST_F(TemporalAggregation, WholeRangeAndUnalignedStart) {
  const int64_t day = T("2024-03-01T00:00:00Z");
  for (int i = 0; i < 10; ++i) add("NO2", day + i * 10 * kMin, tsdb::Value::of(i));  // 0..9 every 10 min
  // Whole range (PT0S): one period from timeAt to endTimeAt.
  auto r = aggregate_series(store_, key_,
                            params({AggrMethod::kSum, AggrMethod::kTotalCount}, {}, TimeRel::kBetween, day,
                                   day + 2 * kH));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].start_ms, day);
  EXPECT_EQ((*r)[0].end_ms, day + 2 * kH);
  EXPECT_EQ((*r)[0].values[0].to_number<double>(), 45);
  EXPECT_EQ((*r)[0].values[1].to_number<double>(), 10);
  // Periods of 30 minutes anchored at timeAt = 00:05 (not on the store's
  // alignment): [00:05,00:35) holds 10,20,30 min -> 1+2+3; [00:35,01:05) 40,50,60 -> 4+5+6; ...
  r = aggregate_series(store_, key_,
                       params({AggrMethod::kSum}, {0, 30 * kMin}, TimeRel::kBetween, day + 5 * kMin, day + 2 * kH));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].start_ms, day + 5 * kMin);
  EXPECT_EQ((*r)[0].values[0].to_number<double>(), 6);
  EXPECT_EQ((*r)[1].values[0].to_number<double>(), 15);
  EXPECT_EQ((*r)[2].values[0].to_number<double>(), 24);  // 70, 80, 90 min -> 7 + 8 + 9
  EXPECT_EQ((*r)[2].end_ms, day + 95 * kMin);            // [01:35, 02:00) is empty: left out
  // The last period is cut at endTimeAt.
  r = aggregate_series(store_, key_,
                       params({AggrMethod::kTotalCount}, {0, kH}, TimeRel::kBetween, day, day + 90 * kMin));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].start_ms, day + kH);
  EXPECT_EQ((*r)[1].end_ms, day + 90 * kMin);
  EXPECT_EQ((*r)[1].values[0].to_number<double>(), 3);  // 60, 70, 80 min
}

TEST_F(TemporalAggregation, OpenStartAnchorsAtEpochAlignedPeriod) {
  const int64_t day = T("2024-03-01T00:00:00Z");
  add("NO2", day + 5 * kH, tsdb::Value::of(1));
  add("NO2", day + 26 * kH, tsdb::Value::of(2));
  add("NO2", day + 27 * kH, tsdb::Value::of(3));
  auto r = aggregate_series(store_, key_, params({AggrMethod::kMax}, {0, 24 * kH}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].start_ms, day);  // midnight, not 05:00
  EXPECT_EQ((*r)[0].values[0].to_number<double>(), 1);
  EXPECT_EQ((*r)[1].start_ms, day + 24 * kH);
  EXPECT_EQ((*r)[1].values[0].to_number<double>(), 3);
  // Calendar months: March and April.
  add("NO2", T("2024-04-20T00:00:00Z"), tsdb::Value::of(7));
  r = aggregate_series(store_, key_, params({AggrMethod::kTotalCount}, {1, 0}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].start_ms, T("2024-03-01T00:00:00Z"));
  EXPECT_EQ((*r)[0].end_ms, T("2024-04-01T00:00:00Z"));
  EXPECT_EQ((*r)[0].values[0].to_number<double>(), 3);
  EXPECT_EQ((*r)[1].values[0].to_number<double>(), 1);
}

TEST_F(TemporalAggregation, TextAndBooleanSeries) {
  const int64_t t0 = T("2024-03-01T00:00:00Z");
  tsdb::SeriesKey status{"", "urn:e:1", "status", ""};
  add("status", t0, tsdb::Value::of_string("ok"));
  add("status", t0 + 1, tsdb::Value::of_string("fault"));
  add("status", t0 + 2, tsdb::Value::of_string("ok"));
  auto r = aggregate_series(store_, status,
                            params({AggrMethod::kTotalCount, AggrMethod::kDistinctCount, AggrMethod::kMin,
                                    AggrMethod::kMax, AggrMethod::kAvg},
                                   {}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].values[0].to_number<double>(), 3);
  EXPECT_EQ((*r)[0].values[1].to_number<double>(), 2);
  EXPECT_EQ((*r)[0].values[2], json::value("fault"));
  EXPECT_EQ((*r)[0].values[3], json::value("ok"));
  EXPECT_TRUE((*r)[0].values[4].is_null());  // no average of text

  tsdb::SeriesKey on{"", "urn:e:1", "on", ""};
  add("on", t0, tsdb::Value::of_bool(true));
  add("on", t0 + 1, tsdb::Value::of_bool(false));
  add("on", t0 + 2, tsdb::Value::of_bool(true));
  r = aggregate_series(store_, on, params({AggrMethod::kSum, AggrMethod::kAvg}, {}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].values[0].to_number<double>(), 2);
  EXPECT_NEAR((*r)[0].values[1].to_number<double>(), 2.0 / 3.0, 1e-12);
}

TEST_F(TemporalAggregation, TooManyPeriodsIsRefused) {
  add("NO2", 0, tsdb::Value::of(1));
  AggregationLimits limits;
  limits.max_periods = 10;
  auto r = aggregate_series(store_, key_, params({AggrMethod::kSum}, {0, 1000}, TimeRel::kBetween, 0, 100'000),
                            limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("aggrPeriodDuration", 0), 0u);
}

TEST_F(TemporalAggregation, StreamingSeesEveryPointOnceAcrossEqualTimestamps) {
  // 25 points, many sharing a timestamp, read 4 at a time.
  for (int i = 0; i < 25; ++i) add("NO2", 1000 + (i / 7), tsdb::Value::of(i));
  std::vector<double> seen;
  auto st = for_each_point(store_, key_, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 4,
                           [&](const tsdb::Point& p) {
                             seen.push_back(p.value.number);
                             return true;
                           });
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], i);
}

}  // namespace
}  // namespace urbis::ngsild::temporal
