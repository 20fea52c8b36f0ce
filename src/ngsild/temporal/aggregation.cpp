#include "ngsild/temporal/aggregation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>

namespace urbis::ngsild::temporal {

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kNoLower = std::numeric_limits<int64_t>::min();
constexpr int64_t kNoUpper = std::numeric_limits<int64_t>::max();

int64_t floor_to(int64_t t, int64_t p) {
  int64_t q = t / p;
  if (t % p != 0 && t < 0) --q;
  return q * p;
}
int64_t ceil_to(int64_t t, int64_t p) {
  int64_t f = floor_to(t, p);
  return f == t ? t : f + p;
}

// First day of the UTC month holding t, 00:00.
int64_t month_floor(int64_t t_ms) {
  using namespace std::chrono;
  constexpr int64_t kDay = 24 * kHourMs;
  int64_t day = floor_to(t_ms, kDay) / kDay;
  year_month_day ymd{sys_days{days{day}}};
  sys_days first{ymd.year() / ymd.month() / 1};
  return static_cast<int64_t>(first.time_since_epoch().count()) * kDay;
}

bool rollup_method(AggrMethod m) {
  return m == AggrMethod::kTotalCount || m == AggrMethod::kSum || m == AggrMethod::kAvg || m == AggrMethod::kMin ||
         m == AggrMethod::kMax;
}

// Everything the raw path needs about one period.
struct RawAcc {
  uint64_t count = 0;  // every instance
  std::set<std::tuple<uint8_t, double, std::string>> distinct;
  bool want_distinct = false;
  // Numbers and booleans.
  uint64_t n = 0;
  double sum = 0, min = 0, max = 0, sumsq = 0;
  double mean = 0, m2 = 0;  // Welford: stable variance
  // Text.
  std::optional<std::string> smin, smax;

  void add(const tsdb::Value& v) {
    ++count;
    if (want_distinct) distinct.emplace(static_cast<uint8_t>(v.kind), v.number, v.text);
    if (v.kind == tsdb::Value::Kind::kNumber || v.kind == tsdb::Value::Kind::kBool) {
      const double x = v.number;
      if (n == 0) min = max = x;
      min = std::min(min, x);
      max = std::max(max, x);
      ++n;
      sum += x;
      sumsq += x * x;
      const double delta = x - mean;
      mean += delta / static_cast<double>(n);
      m2 += delta * (x - mean);
    } else if (v.kind == tsdb::Value::Kind::kString) {
      if (!smin || v.text < *smin) smin = v.text;
      if (!smax || v.text > *smax) smax = v.text;
    }
  }
};

}  // namespace

Status for_each_point(tsdb::TimeSeriesStore& store, const tsdb::SeriesKey& key, int64_t from_ms, int64_t to_ms,
                      size_t page, const std::function<bool(const tsdb::Point&)>& fn) {
  // Pages restart at the time of the last point seen and skip the points at
  // that time already delivered: points sharing a timestamp keep their order
  // (store contract), so nothing is repeated or lost.
  int64_t cursor = from_ms;
  size_t skip = 0;
  for (;;) {
    tsdb::RangeQuery q;
    q.key = key;
    q.from_ms = cursor;
    q.to_ms = to_ms;
    q.limit = page + skip;
    auto pts = store.range(q);
    if (!pts.ok()) return pts.status();
    const auto& v = *pts;
    for (size_t i = skip; i < v.size(); ++i) {
      if (!fn(v[i])) return Status::Ok();
    }
    if (v.size() < q.limit) return Status::Ok();
    const int64_t last = v.back().t_ms;
    size_t same = 0;
    for (auto it = v.rbegin(); it != v.rend() && it->t_ms == last; ++it) ++same;
    skip = last == cursor ? v.size() : same;
    cursor = last;
  }
}

Result<std::vector<AggregatedPeriod>> aggregate_series(tsdb::TimeSeriesStore& store, const tsdb::SeriesKey& key,
                                                       const TemporalParams& params,
                                                       const AggregationLimits& limits) {
  const int64_t from = params.from_ms();
  const int64_t to = params.to_ms();

  // The first and the latest instance of the window: they bound open windows
  // and tell the value kind of the series.
  tsdb::RangeQuery peek;
  peek.key = key;
  peek.from_ms = from;
  peek.to_ms = to;
  peek.limit = 1;
  auto first = store.range(peek);
  if (!first.ok()) return first.status();
  if (first->empty()) return std::vector<AggregatedPeriod>{};
  peek.descending = true;
  auto last = store.range(peek);
  if (!last.ok()) return last.status();
  if (last->empty()) return std::vector<AggregatedPeriod>{};
  const int64_t first_t = first->front().t_ms;
  const int64_t last_t = last->front().t_ms;
  const auto kind = last->front().value.kind;
  const bool numeric = kind == tsdb::Value::Kind::kNumber || kind == tsdb::Value::Kind::kBool;

  const Duration& d = params.aggr_period;
  int64_t start = from;
  if (from == kNoLower) {
    start = d.zero() ? first_t : d.months ? month_floor(first_t) : floor_to(first_t, d.ms);
  }
  const int64_t end = to == kNoUpper ? last_t + 1 : to;

  // Period boundaries b[0] < b[1] < ... < b[n] = end.
  std::vector<int64_t> bounds{start};
  if (!d.zero()) {
    for (int64_t k = 1;; ++k) {
      int64_t b = add_duration(start, d, k);
      if (b >= end) break;
      if (bounds.size() >= limits.max_periods) {
        return Status(Code::kInvalidArgument, "aggrPeriodDuration: the time range holds more than " +
                                                  std::to_string(limits.max_periods) +
                                                  " periods of this duration; use a longer one or a shorter range");
      }
      bounds.push_back(b);
    }
  }
  bounds.push_back(end);
  const size_t nperiods = bounds.size() - 1;
  auto period_of = [&](int64_t t) -> size_t {
    return static_cast<size_t>(std::upper_bound(bounds.begin(), bounds.end(), t) - bounds.begin()) - 1;
  };

  const auto& methods = params.aggr_methods;
  bool need_raw = !numeric;
  bool want_distinct = false;
  for (auto m : methods) {
    if (!rollup_method(m)) need_raw = true;
    if (m == AggrMethod::kDistinctCount) want_distinct = true;
  }
  bool use_rollups = numeric && std::any_of(methods.begin(), methods.end(), rollup_method);

  // --- rollup path
  std::vector<tsdb::AggregateRow> rolled(nperiods);
  if (use_rollups) {
    // Open ends may be widened to whole hours (there are no instances beyond
    // them), so that the store can use its rollups.
    std::vector<int64_t> q = bounds;
    if (from == kNoLower) q.front() = floor_to(std::min(q.front(), first_t), kHourMs);
    if (to == kNoUpper) q.back() = ceil_to(q.back(), kHourMs);
    // The largest period dividing every boundary: each row of the store's
    // answer then lies inside one of our periods.
    int64_t g = 0;
    for (int64_t b : q) g = std::gcd(g, b < 0 ? -b : b);
    if (g == 0) g = 1;
    // The store leaves empty periods out: even a small g (unaligned bounds)
    // yields at most one row per instance.
    tsdb::AggregateQuery aq;
    aq.key = key;
    aq.from_ms = q.front();
    aq.to_ms = q.back();
    aq.period_ms = g;
    auto rows = store.aggregate(aq);
    if (!rows.ok()) return rows.status();
    for (const auto& r : *rows) {
      auto& dst = rolled[period_of(std::clamp(r.period_start_ms, bounds.front(), bounds.back() - 1))];
      tsdb::AggregateRow merged = dst;
      if (merged.count == 0) {
        merged = r;
      } else {
        merged.min = std::min(merged.min, r.min);
        merged.max = std::max(merged.max, r.max);
        merged.count += r.count;
        merged.sum += r.sum;
      }
      dst = merged;
    }
  }

  // --- raw path
  std::vector<RawAcc> raw;
  if (need_raw) {
    raw.resize(nperiods);
    for (auto& a : raw) a.want_distinct = want_distinct;
    auto st = for_each_point(store, key, bounds.front(), bounds.back(), limits.page_points,
                             [&](const tsdb::Point& p) {
                               raw[period_of(p.t_ms)].add(p.value);
                               return true;
                             });
    if (!st.ok()) return st;
  }

  std::vector<AggregatedPeriod> out;
  for (size_t i = 0; i < nperiods; ++i) {
    const bool has_rolled = use_rollups && rolled[i].count > 0;
    const bool has_raw = need_raw && raw[i].count > 0;
    if (!has_rolled && !has_raw) continue;
    AggregatedPeriod ap;
    ap.start_ms = bounds[i];
    ap.end_ms = bounds[i + 1];
    for (auto m : methods) {
      boost::json::value v = nullptr;
      if (use_rollups && rollup_method(m)) {
        if (has_rolled) {
          const auto& r = rolled[i];
          switch (m) {
            case AggrMethod::kTotalCount: v = r.count; break;
            case AggrMethod::kSum: v = r.sum; break;
            case AggrMethod::kAvg: v = r.avg(); break;
            case AggrMethod::kMin: v = r.min; break;
            case AggrMethod::kMax: v = r.max; break;
            default: break;
          }
        }
      } else if (has_raw) {
        const auto& a = raw[i];
        switch (m) {
          case AggrMethod::kTotalCount: v = a.count; break;
          case AggrMethod::kDistinctCount: v = static_cast<uint64_t>(a.distinct.size()); break;
          case AggrMethod::kSum: if (a.n) v = a.sum; break;
          case AggrMethod::kAvg: if (a.n) v = a.sum / static_cast<double>(a.n); break;
          case AggrMethod::kMin:
            if (a.n) v = a.min;
            else if (a.smin) v = boost::json::string(*a.smin);
            break;
          case AggrMethod::kMax:
            if (a.n) v = a.max;
            else if (a.smax) v = boost::json::string(*a.smax);
            break;
          case AggrMethod::kStddev: if (a.n) v = std::sqrt(std::max(0.0, a.m2 / static_cast<double>(a.n))); break;
          case AggrMethod::kSumsq: if (a.n) v = a.sumsq; break;
        }
      } else if (m == AggrMethod::kDistinctCount || m == AggrMethod::kTotalCount) {
        v = uint64_t{0};
      }
      ap.values.push_back(std::move(v));
    }
    out.push_back(std::move(ap));
  }
  return out;
}

}  // namespace urbis::ngsild::temporal
