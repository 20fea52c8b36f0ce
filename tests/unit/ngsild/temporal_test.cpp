// NGSI-LD Temporal API: parameter parsing, aggregation against hand-computed
// values, and the routes end to end through a Router over memory stores.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <map>
#include <string>

#include <boost/asio/io_context.hpp>

#include <fstream>
#include <memory>

#include "http/router.hpp"
#include "model/change_events.hpp"
#include "model/entity_json.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/temporal/aggregation.hpp"
#include "ngsild/temporal/temporal_params.hpp"
#include "ngsild/temporal/temporal_routes.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"
#include "testutil/temp_dir.hpp"
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

// "+01:00" typed in a URL arrives as " 01:00": the error says why.
TEST(TemporalParams, TimeZonePlusReadAsSpaceIsExplained) {
  auto r = parse({{"timerel", "after"}, {"timeAt", "2024-01-01T00:00:00 01:00"}});
  ASSERT_TRUE(std::holds_alternative<ParamError>(r));
  EXPECT_NE(std::get<ParamError>(r).detail.find("%2B"), std::string::npos) << std::get<ParamError>(r).detail;
  r = parse({{"timerel", "after"}, {"timeAt", "yesterday"}});
  ASSERT_TRUE(std::holds_alternative<ParamError>(r));
  EXPECT_EQ(std::get<ParamError>(r).detail.find("%2B"), std::string::npos);
  // encoded as %2B, the offset is read
  r = parse({{"timerel", "after"}, {"timeAt", "2024-01-01T01:00:00+01:00"}});
  ASSERT_TRUE(std::holds_alternative<TemporalParams>(r));
  EXPECT_EQ(std::get<TemporalParams>(r).time_at_ms, T("2024-01-01T00:00:00Z"));
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

// --- routes -------------------------------------------------------------------

constexpr const char* kUserContextUrl = "http://contexts.example/air.jsonld";
constexpr const char* kNo2Iri = "https://smartdatamodels.org/dataModel.Environment/NO2";

class TemporalRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = storage::sqlite::SqliteEntityStore::open(":memory:", bus_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    state_ = std::move(s.value());
    // A user @context, preloaded so that nothing is fetched.
    std::ofstream(dir_.file("air.jsonld")) << R"({"@context": {"NO2": ")" << kNo2Iri << R"("}})";
    ContextOptions copts;
    copts.preload[kUserContextUrl] = dir_.file("air.jsonld");
    resolver_ = std::make_unique<ContextResolver>(io_, copts);
    ASSERT_TRUE(resolver_->start().ok());
  }
  void TearDown() override { resolver_.reset(); }

  void routes(size_t max_instances = 10'000) {
    TemporalRouteOptions o;
    o.view.max_instances = max_instances;
    ASSERT_TRUE(register_temporal_routes(router_, *state_, history_, *resolver_, o).ok());
  }
  void entity(const std::string& tenant, const std::string& text) {
    auto e = model::entity_from_text(text);
    ASSERT_TRUE(e.ok()) << e.status().message();
    state_->create(tenant, std::move(e.value()), nullptr);
    ASSERT_TRUE(state_->flush().ok());
  }
  void point(const std::string& id, const std::string& attr, const char* iso, tsdb::Value v,
             const std::string& dataset = "", const std::string& tenant = "") {
    tsdb::Measurement m;
    m.key = {tenant, id, attr, dataset};
    m.observed_at_ms = T(iso);
    m.value = std::move(v);
    history_.append({m}, nullptr);
  }
  http::Response call(http::bhttp::verb verb, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = {}) {
    http::Request req;
    req.method = verb;
    req.target = target;
    req.body = std::move(body);
    for (auto& [k, v] : headers) req.headers.set(k, v);
    std::optional<http::Response> out;
    router_.dispatch(std::move(req), [&](http::Response r) { out = std::move(r); });
    for (int i = 0; i < 200 && !out; ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(out.has_value()) << target;
    return out.value_or(http::Response{});
  }
  http::Response get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return call(http::bhttp::verb::get, target, std::move(headers));
  }
  static json::value body(const http::Response& r) { return json::parse(r.body); }
  static std::string header(const http::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  // The problem's "field" (and checks the type).
  static std::string problem_field(const http::Response& r, std::string_view type) {
    auto b = body(r).as_object();
    EXPECT_EQ(b.at("type").as_string(), "https://uri.etsi.org/ngsi-ld/errors/" + std::string(type)) << r.body;
    auto f = b.if_contains("field");
    return f ? std::string(f->as_string()) : "";
  }

  // A sensor with NO2 every 10 minutes from 08:00 (41, 42, 43, 44, 45).
  void sensor() {
    entity("", R"({"id":"urn:ngsi-ld:Sensor:1","type":"Sensor","NO2":{"type":"Property","value":45,"unitCode":"GQ"},)"
               R"("owner":{"type":"Relationship","object":"urn:ngsi-ld:Person:7"}})");
    const char* times[] = {"2024-05-01T08:00:00Z", "2024-05-01T08:10:00Z", "2024-05-01T08:20:00Z",
                           "2024-05-01T08:30:00Z", "2024-05-01T08:40:00Z"};
    for (int i = 0; i < 5; ++i) point("urn:ngsi-ld:Sensor:1", "NO2", times[i], tsdb::Value::of(41 + i));
  }

  testutil::TempDir dir_;
  boost::asio::io_context io_;
  model::ChangeBus bus_;
  std::unique_ptr<storage::sqlite::SqliteEntityStore> state_;
  tsdb::MemoryTimeSeriesStore history_;
  std::unique_ptr<ContextResolver> resolver_;
  http::Router router_;
};

const std::string kOne = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Sensor:1";

TEST_F(TemporalRoutes, RetrieveNormalized) {
  routes();
  sensor();
  point("urn:ngsi-ld:Sensor:1", "owner", "2024-05-01T08:00:00Z", tsdb::Value::of_string("urn:ngsi-ld:Person:7"));
  auto r = get(kOne);
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(header(r, "Link").find(kCoreContextUrl), std::string::npos);
  auto b = body(r).as_object();
  EXPECT_EQ(b.at("id").as_string(), "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(b.at("type").as_string(), "Sensor");
  const auto& no2 = b.at("NO2").as_array();
  ASSERT_EQ(no2.size(), 5u);
  const auto& first = no2[0].as_object();
  EXPECT_EQ(first.at("type").as_string(), "Property");
  EXPECT_EQ(first.at("value").to_number<double>(), 41);
  EXPECT_EQ(first.at("observedAt").as_string(), "2024-05-01T08:00:00.000Z");
  EXPECT_EQ(first.at("unitCode").as_string(), "GQ");
  EXPECT_TRUE(first.at("instanceId").as_string().starts_with("urn:ngsi-ld:Instance:"));
  EXPECT_NE(no2[0].at("instanceId"), no2[1].at("instanceId"));
  EXPECT_EQ(no2[4].at("value").to_number<double>(), 45);
  // The attribute kind comes from the state: a Relationship shows "object".
  const auto& owner = b.at("owner").as_array().at(0).as_object();
  EXPECT_EQ(owner.at("type").as_string(), "Relationship");
  EXPECT_EQ(owner.at("object").as_string(), "urn:ngsi-ld:Person:7");
  EXPECT_FALSE(b.contains("createdAt"));
  // attrs narrows; sysAttrs adds the entity's system attributes.
  r = get(kOne + "?attrs=owner&options=sysAttrs");
  b = body(r).as_object();
  EXPECT_FALSE(b.contains("NO2"));
  EXPECT_TRUE(b.contains("owner"));
  EXPECT_TRUE(b.contains("createdAt"));
  EXPECT_TRUE(b.contains("modifiedAt"));
}

TEST_F(TemporalRoutes, TimeWindows) {
  routes();
  sensor();
  auto count = [&](const std::string& q) {
    auto r = get(kOne + "?" + q);
    EXPECT_EQ(r.status, http::bhttp::status::ok) << q << " " << r.body;
    auto b = body(r).as_object();
    return b.contains("NO2") ? b.at("NO2").as_array().size() : 0;
  };
  EXPECT_EQ(count("timerel=before&timeAt=2024-05-01T08:20:00Z"), 2u);  // 08:00, 08:10
  EXPECT_EQ(count("timerel=after&timeAt=2024-05-01T08:20:00Z"), 2u);   // 08:30, 08:40 (exclusive)
  EXPECT_EQ(count("timerel=between&timeAt=2024-05-01T08:10:00Z&endTimeAt=2024-05-01T08:30:00Z"), 2u);
  EXPECT_EQ(count("timerel=between&timeAt=2024-05-01T09:00:00Z&endTimeAt=2024-05-01T10:00:00Z"), 0u);
  // The v1.3 names still work.
  EXPECT_EQ(count("timerel=after&time=2024-05-01T08:35:00Z"), 1u);
  // lastN: the newest N, oldest first, no paging.
  auto r = get(kOne + "?lastN=2");
  ASSERT_EQ(r.status, http::bhttp::status::ok);
  auto no2 = body(r).at("NO2").as_array();
  ASSERT_EQ(no2.size(), 2u);
  EXPECT_EQ(no2[0].at("value").to_number<double>(), 44);
  EXPECT_EQ(no2[1].at("value").to_number<double>(), 45);
}

TEST_F(TemporalRoutes, BadRequestsNameTheParameter) {
  routes();
  sensor();
  struct Case {
    std::string query;
    const char* type;
    const char* field;
    http::bhttp::status status;
  };
  const auto bad = http::bhttp::status::bad_request;
  const Case cases[] = {
      {"timerel=around&timeAt=2024-05-01T08:00:00Z", "BadRequestData", "timerel", bad},
      {"timerel=after", "BadRequestData", "timeAt", bad},
      {"timeAt=2024-05-01T08:00:00Z", "BadRequestData", "timerel", bad},
      {"timerel=between&timeAt=2024-05-01T08:00:00Z", "BadRequestData", "endTimeAt", bad},
      {"timerel=between&timeAt=2024-05-01T09:00:00Z&endTimeAt=2024-05-01T08:00:00Z", "BadRequestData", "endTimeAt",
       bad},
      {"timerel=after&timeAt=noon", "BadRequestData", "timeAt", bad},
      {"lastN=0", "BadRequestData", "lastN", bad},
      {"options=aggregatedValues&aggrMethods=median", "BadRequestData", "aggrMethods", bad},
      {"options=aggregatedValues", "BadRequestData", "aggrMethods", bad},
      {"options=aggregatedValues&aggrMethods=sum&aggrPeriodDuration=1h", "BadRequestData", "aggrPeriodDuration", bad},
      {"options=temporalValues,aggregatedValues&aggrMethods=sum", "BadRequestData", "options", bad},
      {"timeproperty=modifiedAt", "OperationNotSupported", "timeproperty", http::bhttp::status::unprocessable_entity},
  };
  for (const auto& c : cases) {
    auto r = get(kOne + "?" + c.query);
    EXPECT_EQ(r.status, c.status) << c.query << " " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    EXPECT_EQ(problem_field(r, c.type), c.field) << c.query;
  }
}

TEST_F(TemporalRoutes, UnknownEntityTenantAndBadId) {
  routes();
  sensor();
  entity("city-b", R"({"id":"urn:ngsi-ld:Sensor:9","type":"Sensor"})");
  auto r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Sensor:404");
  EXPECT_EQ(r.status, http::bhttp::status::not_found);
  EXPECT_EQ(problem_field(r, "ResourceNotFound"), "entityId");
  r = get("/ngsi-ld/v1/temporal/entities/not-a-uri");
  EXPECT_EQ(r.status, http::bhttp::status::bad_request);
  EXPECT_EQ(problem_field(r, "BadRequestData"), "entityId");
  r = get(kOne, {{"NGSILD-Tenant", "nowhere"}});
  EXPECT_EQ(r.status, http::bhttp::status::not_found);
  EXPECT_EQ(problem_field(r, "NonexistentTenant"), "NGSILD-Tenant");
  // The sensor lives in the default tenant only.
  r = get(kOne, {{"NGSILD-Tenant", "city-b"}});
  EXPECT_EQ(r.status, http::bhttp::status::not_found);
  EXPECT_EQ(problem_field(r, "ResourceNotFound"), "entityId");
  // Tenants do not see each other's history either.
  point("urn:ngsi-ld:Sensor:9", "NO2", "2024-05-01T08:00:00Z", tsdb::Value::of(7), "", "city-b");
  r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Sensor:9", {{"NGSILD-Tenant", "city-b"}});
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(body(r).at("NO2").as_array().size(), 1u);
}

TEST_F(TemporalRoutes, PagingForwardWith206AndContentRange) {
  routes(3);
  sensor();
  auto r = get(kOne);
  ASSERT_EQ(r.status, http::bhttp::status::partial_content) << r.body;
  EXPECT_EQ(header(r, "Content-Range"), "date-time 2024-05-01T08:00:00.000Z-2024-05-01T08:20:00.000Z/*");
  auto no2 = body(r).at("NO2").as_array();
  ASSERT_EQ(no2.size(), 3u);
  EXPECT_EQ(no2[2].at("value").to_number<double>(), 43);
  // Continuing after the range end gives the rest, whole.
  r = get(kOne + "?timerel=after&timeAt=2024-05-01T08:20:00.000Z");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(header(r, "Content-Range"), "");
  no2 = body(r).at("NO2").as_array();
  ASSERT_EQ(no2.size(), 2u);
  EXPECT_EQ(no2[0].at("value").to_number<double>(), 44);
  // With timerel=between the range starts at timeAt.
  r = get(kOne + "?timerel=between&timeAt=2024-05-01T07:00:00Z&endTimeAt=2024-05-01T09:00:00Z");
  ASSERT_EQ(r.status, http::bhttp::status::partial_content);
  EXPECT_EQ(header(r, "Content-Range"), "date-time 2024-05-01T07:00:00.000Z-2024-05-01T08:20:00.000Z/*");
}

TEST_F(TemporalRoutes, PagingCutsEveryAttributeToTheSameRange) {
  routes(3);
  sensor();
  // PM10 has two instances, one of them after the NO2 cut (08:20).
  point("urn:ngsi-ld:Sensor:1", "PM10", "2024-05-01T08:05:00Z", tsdb::Value::of(10));
  point("urn:ngsi-ld:Sensor:1", "PM10", "2024-05-01T08:35:00Z", tsdb::Value::of(11));
  auto r = get(kOne);
  ASSERT_EQ(r.status, http::bhttp::status::partial_content);
  auto pm10 = body(r).at("PM10").as_array();
  ASSERT_EQ(pm10.size(), 1u);
  EXPECT_EQ(pm10[0].at("value").to_number<double>(), 10);
  // Instances sharing the cut's millisecond stay together: with a fourth NO2
  // point at 08:20 the page ends at 08:10.
  point("urn:ngsi-ld:Sensor:1", "NO2", "2024-05-01T08:20:00Z", tsdb::Value::of(99));
  r = get(kOne + "?attrs=NO2");
  ASSERT_EQ(r.status, http::bhttp::status::partial_content);
  EXPECT_EQ(header(r, "Content-Range"), "date-time 2024-05-01T08:00:00.000Z-2024-05-01T08:10:00.000Z/*");
  EXPECT_EQ(body(r).at("NO2").as_array().size(), 2u);
}

TEST_F(TemporalRoutes, PagingBackwardWithLastN) {
  routes(3);
  sensor();
  // lastN above the server limit pages from the newest instance backwards.
  auto r = get(kOne + "?lastN=5");
  ASSERT_EQ(r.status, http::bhttp::status::partial_content) << r.body;
  EXPECT_EQ(header(r, "Content-Range"), "date-time 2024-05-01T08:40:00.000Z-2024-05-01T08:20:00.000Z/5");
  auto no2 = body(r).at("NO2").as_array();
  ASSERT_EQ(no2.size(), 3u);
  EXPECT_EQ(no2[0].at("value").to_number<double>(), 43);  // oldest first
  EXPECT_EQ(no2[2].at("value").to_number<double>(), 45);
  r = get(kOne + "?lastN=5&timerel=before&timeAt=2024-05-01T08:20:00.000Z");
  ASSERT_EQ(r.status, http::bhttp::status::ok);
  EXPECT_EQ(body(r).at("NO2").as_array().size(), 2u);
  // lastN within the limit is answered whole.
  r = get(kOne + "?lastN=3");
  EXPECT_EQ(r.status, http::bhttp::status::ok);
}

TEST_F(TemporalRoutes, SimplifiedTemporalValues) {
  routes();
  sensor();
  point("urn:ngsi-ld:Sensor:1", "owner", "2024-05-01T08:00:00Z", tsdb::Value::of_string("urn:ngsi-ld:Person:7"));
  point("urn:ngsi-ld:Sensor:1", "flags", "2024-05-01T08:00:00Z", tsdb::Value::of_json(R"({"a":[1,true]})"));
  point("urn:ngsi-ld:Sensor:1", "on", "2024-05-01T08:00:00Z", tsdb::Value::of_bool(true));
  auto r = get(kOne + "?options=temporalValues");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  auto b = body(r).as_object();
  const auto& no2 = b.at("NO2").as_object();
  EXPECT_EQ(no2.at("type").as_string(), "Property");
  const auto& values = no2.at("values").as_array();
  ASSERT_EQ(values.size(), 5u);
  EXPECT_EQ(values[0].as_array()[0].to_number<double>(), 41);
  EXPECT_EQ(values[0].as_array()[1].as_string(), "2024-05-01T08:00:00.000Z");
  EXPECT_EQ(b.at("owner").at("objects").as_array()[0].as_array()[0].as_string(), "urn:ngsi-ld:Person:7");
  EXPECT_EQ(b.at("flags").at("values").as_array()[0].as_array()[0], json::parse(R"({"a":[1,true]})"));
  EXPECT_EQ(b.at("on").at("values").as_array()[0].as_array()[0], json::value(true));
}

TEST_F(TemporalRoutes, AggregatedValuesComputedByHand) {
  routes();
  sensor();  // 41..45 at 08:00..08:40
  point("urn:ngsi-ld:Sensor:1", "NO2", "2024-05-01T09:15:00Z", tsdb::Value::of(10));
  auto r = get(kOne +
               "?options=aggregatedValues&aggrMethods=totalCount,sum,avg,min,max,stddev,sumsq,distinctCount"
               "&aggrPeriodDuration=PT1H&timerel=between&timeAt=2024-05-01T08:00:00Z&endTimeAt=2024-05-01T10:00:00Z");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  const json::value answer = body(r);
  const auto& no2 = answer.at("NO2").as_object();
  EXPECT_EQ(no2.at("type").as_string(), "Property");
  auto row = [&](const char* m, size_t i) { return no2.at(m).as_array().at(i).as_array(); };
  ASSERT_EQ(no2.at("sum").as_array().size(), 2u);
  EXPECT_EQ(row("sum", 0)[0].to_number<double>(), 215);  // 41+42+43+44+45
  EXPECT_EQ(row("sum", 0)[1].as_string(), "2024-05-01T08:00:00.000Z");
  EXPECT_EQ(row("sum", 0)[2].as_string(), "2024-05-01T09:00:00.000Z");
  EXPECT_EQ(row("totalCount", 0)[0].to_number<double>(), 5);
  EXPECT_EQ(row("avg", 0)[0].to_number<double>(), 43);
  EXPECT_EQ(row("min", 0)[0].to_number<double>(), 41);
  EXPECT_EQ(row("max", 0)[0].to_number<double>(), 45);
  EXPECT_NEAR(row("stddev", 0)[0].to_number<double>(), std::sqrt(2.0), 1e-12);  // (4+1+0+1+4)/5
  EXPECT_EQ(row("sumsq", 0)[0].to_number<double>(), 41 * 41 + 42 * 42 + 43 * 43 + 44 * 44 + 45 * 45);
  EXPECT_EQ(row("distinctCount", 0)[0].to_number<double>(), 5);
  EXPECT_EQ(row("sum", 1)[0].to_number<double>(), 10);
  EXPECT_EQ(row("sum", 1)[1].as_string(), "2024-05-01T09:00:00.000Z");
  // Without a duration: one period over the whole window.
  r = get(kOne + "?options=aggregatedValues&aggrMethods=max&timerel=before&timeAt=2024-05-01T09:00:00Z");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  auto max = body(r).at("NO2").at("max").as_array();
  ASSERT_EQ(max.size(), 1u);
  EXPECT_EQ(max[0].as_array()[0].to_number<double>(), 45);
  EXPECT_EQ(max[0].as_array()[2].as_string(), "2024-05-01T09:00:00.000Z");
}

TEST_F(TemporalRoutes, DatasetsAreSeparateInstances) {
  routes();
  entity("", R"({"id":"urn:ngsi-ld:Car:1","type":"Car"})");
  point("urn:ngsi-ld:Car:1", "speed", "2024-05-01T08:00:00Z", tsdb::Value::of(50), "urn:ngsi-ld:Dataset:gps");
  point("urn:ngsi-ld:Car:1", "speed", "2024-05-01T08:00:00Z", tsdb::Value::of(52), "urn:ngsi-ld:Dataset:radar");
  auto r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Car:1");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  auto speed = body(r).at("speed").as_array();
  ASSERT_EQ(speed.size(), 2u);
  EXPECT_EQ(speed[0].at("datasetId").as_string(), "urn:ngsi-ld:Dataset:gps");
  EXPECT_EQ(speed[1].at("datasetId").as_string(), "urn:ngsi-ld:Dataset:radar");
  EXPECT_NE(speed[0].at("instanceId"), speed[1].at("instanceId"));
  r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Car:1?options=temporalValues");
  auto simplified = body(r).at("speed").as_array();
  ASSERT_EQ(simplified.size(), 2u);
  EXPECT_EQ(simplified[1].at("datasetId").as_string(), "urn:ngsi-ld:Dataset:radar");
  EXPECT_EQ(simplified[1].at("values").as_array()[0].as_array()[0].to_number<double>(), 52);
}

TEST_F(TemporalRoutes, ContextExpandsRequestNamesAndCompactsTheAnswer) {
  routes();
  entity("", std::string(R"({"id":"urn:ngsi-ld:Air:1","type":"Air",")") + kNo2Iri +
                 R"(":{"type":"Property","value":3}})");
  point("urn:ngsi-ld:Air:1", kNo2Iri, "2024-05-01T08:00:00Z", tsdb::Value::of(3));
  const std::string link = link_header_for(kUserContextUrl);
  // Without the user context the name is the IRI.
  auto r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Air:1");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_TRUE(body(r).as_object().contains(kNo2Iri));
  // With it, attrs=NO2 finds the IRI and the answer says NO2.
  r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Air:1?attrs=NO2", {{"Link", link}});
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(body(r).at("NO2").as_array().size(), 1u);
  EXPECT_NE(header(r, "Link").find(kUserContextUrl), std::string::npos);
  // application/ld+json: the @context is in the body, no Link.
  r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Air:1",
          {{"Link", link}, {"Accept", "application/ld+json"}});
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(r.content_type, "application/ld+json");
  EXPECT_EQ(body(r).at("@context"), json::value(kUserContextUrl));
  EXPECT_EQ(header(r, "Link"), "");
  // A Link to a context that cannot be had.
  r = get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Air:1", {{"Link", "<not a url"}});
  EXPECT_EQ(r.status, http::bhttp::status::bad_request);
}

TEST_F(TemporalRoutes, QueryEntities) {
  routes();
  sensor();
  entity("", R"({"id":"urn:ngsi-ld:Sensor:2","type":"Sensor","NO2":{"type":"Property","value":12}})");
  entity("", R"({"id":"urn:ngsi-ld:Car:1","type":"Car","NO2":{"type":"Property","value":99}})");
  point("urn:ngsi-ld:Sensor:2", "NO2", "2024-05-01T08:00:00Z", tsdb::Value::of(12));
  point("urn:ngsi-ld:Car:1", "NO2", "2024-05-01T08:00:00Z", tsdb::Value::of(99));
  auto r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&attrs=NO2&count=true");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(header(r, "NGSILD-Results-Count"), "2");
  auto arr = body(r).as_array();
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0].at("id").as_string(), "urn:ngsi-ld:Sensor:1");
  EXPECT_EQ(arr[0].at("NO2").as_array().size(), 5u);
  EXPECT_EQ(arr[1].at("NO2").as_array().size(), 1u);
  // idPattern, limit and offset.
  r = get("/ngsi-ld/v1/temporal/entities?idPattern=Sensor&limit=1&offset=1&lastN=1");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  arr = body(r).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("id").as_string(), "urn:ngsi-ld:Sensor:2");
  // Bad entity-selection input names the parameter.
  r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&limit=lots");
  EXPECT_EQ(problem_field(r, "BadRequestData"), "limit");
  r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&timerel=whenever&timeAt=2024-05-01T08:00:00Z");
  EXPECT_EQ(problem_field(r, "BadRequestData"), "timerel");
  r = get("/ngsi-ld/v1/temporal/entities?type=Sensor", {{"NGSILD-Tenant", "nowhere"}});
  EXPECT_EQ(problem_field(r, "NonexistentTenant"), "NGSILD-Tenant");
}

TEST_F(TemporalRoutes, QueryWithQAndGeo) {
  routes();
  sensor();  // NO2 = 45 now
  entity("", R"({"id":"urn:ngsi-ld:Sensor:2","type":"Sensor","NO2":{"type":"Property","value":12},)"
             R"("location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[2.35,48.85]}}})");
  point("urn:ngsi-ld:Sensor:2", "NO2", "2024-05-01T08:00:00Z", tsdb::Value::of(12));
  auto r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&q=NO2%3E40");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  auto arr = body(r).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("id").as_string(), "urn:ngsi-ld:Sensor:1");
  r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&georel=near%3BmaxDistance==1000&geometry=Point"
          "&coordinates=%5B2.35,48.851%5D");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  arr = body(r).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("id").as_string(), "urn:ngsi-ld:Sensor:2");
  r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&q=NO2%3E%3E");
  EXPECT_EQ(r.status, http::bhttp::status::bad_request);
  EXPECT_EQ(problem_field(r, "BadRequestData"), "q");
  r = get("/ngsi-ld/v1/temporal/entities?type=Sensor&georel=nearby&geometry=Point&coordinates=%5B2,48%5D");
  EXPECT_EQ(problem_field(r, "BadRequestData"), "georel");
}

TEST_F(TemporalRoutes, PostQuery) {
  routes();
  sensor();
  entity("", R"({"id":"urn:ngsi-ld:Car:1","type":"Car"})");
  point("urn:ngsi-ld:Car:1", "speed", "2024-05-01T08:00:00Z", tsdb::Value::of(50));
  const std::string target = "/ngsi-ld/v1/temporal/entityOperations/query";
  auto r = call(http::bhttp::verb::post, target + "?options=temporalValues", {{"Content-Type", "application/json"}},
                R"({"type":"Query","entities":[{"type":"Car"},{"id":"urn:ngsi-ld:Sensor:1","type":"Sensor"}],)"
                R"("temporalQ":{"timerel":"before","timeAt":"2024-05-01T08:15:00Z"}})");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  auto arr = body(r).as_array();
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0].at("id").as_string(), "urn:ngsi-ld:Car:1");
  EXPECT_EQ(arr[1].at("NO2").at("values").as_array().size(), 2u);  // 08:00, 08:10
  // ld+json body: its @context applies.
  r = call(http::bhttp::verb::post, target, {{"Content-Type", "application/ld+json"}},
           R"({"type":"Query","entities":[{"type":"Sensor"}],"temporalQ":{"lastN":1},"@context":")" +
               std::string(kCoreContextUrl) + R"("})");
  ASSERT_EQ(r.status, http::bhttp::status::ok) << r.body;
  EXPECT_EQ(body(r).as_array().at(0).at("NO2").as_array().size(), 1u);
  // Bad bodies.
  r = call(http::bhttp::verb::post, target, {}, "{nope");
  EXPECT_EQ(problem_field(r, "InvalidRequest"), "body");
  r = call(http::bhttp::verb::post, target, {}, R"({"type":"Query","temporalQ":{"timerel":"before"}})");
  EXPECT_EQ(problem_field(r, "BadRequestData"), "timeAt");
  r = call(http::bhttp::verb::post, target, {}, R"({"type":"Query","entities":{"type":"Car"}})");
  EXPECT_EQ(problem_field(r, "BadRequestData"), "entities");
}

}  // namespace
}  // namespace urbis::ngsild::temporal
