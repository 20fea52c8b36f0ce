#include "tsdb/memory_time_series_store.hpp"

#include <algorithm>
#include <iterator>

namespace urbis::tsdb {

namespace {

bool is_numeric(const Value& v) { return v.kind == Value::Kind::kNumber || v.kind == Value::Kind::kBool; }

// Points in [from, to) ordered by time, ties in arrival order.
std::vector<Point> sorted_in_range(const std::vector<Point>& all, int64_t from, int64_t to) {
  std::vector<Point> out;
  for (const Point& p : all) {
    if (p.t_ms >= from && p.t_ms < to) out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(), [](const Point& a, const Point& b) { return a.t_ms < b.t_ms; });
  return out;
}

}  // namespace

void MemoryTimeSeriesStore::append(std::vector<Measurement> batch, Done done) {
  {
    std::lock_guard lock(mu_);
    for (Measurement& m : batch) {
      Series& s = series_[m.key];
      if (!m.idempotency_key.empty()) {
        if (!s.keys.emplace(m.idempotency_key, m.observed_at_ms).second) continue;
      }
      if (is_numeric(m.value)) {
        fold_value(s.minute[period_floor(m.observed_at_ms, kMinuteMs)], m.value.number);
        fold_value(s.hour[period_floor(m.observed_at_ms, kHourMs)], m.value.number);
      }
      s.points.push_back(Point{m.observed_at_ms, std::move(m.value)});
    }
  }
  if (done) done(Status());
}

Result<std::vector<Point>> MemoryTimeSeriesStore::range(const RangeQuery& q) {
  std::lock_guard lock(mu_);
  auto it = series_.find(q.key);
  if (it == series_.end()) return std::vector<Point>{};
  std::vector<Point> out = sorted_in_range(it->second.points, q.from_ms, q.to_ms);
  if (q.descending) std::reverse(out.begin(), out.end());
  if (q.limit != 0 && out.size() > q.limit) out.resize(q.limit);
  return out;
}

Result<std::vector<AggregateRow>> MemoryTimeSeriesStore::aggregate(const AggregateQuery& q) {
  if (q.period_ms <= 0) return InvalidArgument("aggregate: period_ms must be > 0");
  std::lock_guard lock(mu_);
  auto it = series_.find(q.key);
  if (it == series_.end() || q.from_ms >= q.to_ms) return std::vector<AggregateRow>{};
  const Series& s = it->second;
  Buckets out;
  const Tier tier = choose_tier(q);
  if (tier == Tier::kRaw) {
    for (const Point& p : sorted_in_range(s.points, q.from_ms, q.to_ms)) {
      if (is_numeric(p.value)) fold_value(out[period_floor(p.t_ms, q.period_ms)], p.value.number);
    }
  } else {
    const Buckets& rollup = tier == Tier::kHour ? s.hour : s.minute;
    for (auto r = rollup.lower_bound(q.from_ms); r != rollup.end() && r->first < q.to_ms; ++r) {
      fold_row(out[period_floor(r->first, q.period_ms)], r->second.count, r->second.sum, r->second.min, r->second.max);
    }
  }
  return buckets_to_rows(out);
}

Result<std::vector<SeriesKey>> MemoryTimeSeriesStore::series_of(const std::string& tenant,
                                                                const std::string& entity_id) {
  std::lock_guard lock(mu_);
  std::vector<SeriesKey> out;
  for (const auto& [key, s] : series_) {
    if (key.tenant == tenant && key.entity_id == entity_id) out.push_back(key);
  }
  return out;
}

Result<StorageStats> MemoryTimeSeriesStore::stats() {
  std::lock_guard lock(mu_);
  StorageStats st;
  st.series = series_.size();
  for (const auto& [key, s] : series_) {
    for (const Point& p : s.points) {
      if (is_numeric(p.value)) ++st.points;
    }
  }
  st.raw_bytes = st.points * 16;  // one int64 time and one double each
  return st;
}

Status MemoryTimeSeriesStore::enforce_retention(int64_t now_ms) {
  std::lock_guard lock(mu_);
  for (auto& [key, s] : series_) {
    if (retention_.raw_ms > 0) {
      const int64_t cutoff = now_ms - retention_.raw_ms;
      std::erase_if(s.points, [&](const Point& p) { return p.t_ms < cutoff; });
    }
    if (retention_.idempotency_window() > 0) {
      const int64_t cutoff = now_ms - retention_.idempotency_window();
      std::erase_if(s.keys, [&](const auto& k) { return k.second < cutoff; });
    }
    if (retention_.minute_ms > 0) s.minute.erase(s.minute.begin(), s.minute.lower_bound(now_ms - retention_.minute_ms));
    if (retention_.hour_ms > 0) s.hour.erase(s.hour.begin(), s.hour.lower_bound(now_ms - retention_.hour_ms));
  }
  return {};
}

}  // namespace urbis::tsdb
