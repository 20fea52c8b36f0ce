// history.db reads: range() and aggregate(). Each runs in one read
// transaction on a pooled connection, so chunks, head rows and rollups come
// from the same commit (design note in time_series_sqlite.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>

#include "storage/sqlite/time_series_sqlite.hpp"
#include "storage/sqlite/ts_internal.hpp"
#include "tsdb/rollup_tiers.hpp"

namespace urbis::storage::sqlite {

using tsdb::AggregateRow;
using tsdb::Point;
using tsdb::RawPoint;
using tsdb::SeriesKey;
using tsdb::Value;

namespace {

struct SeriesRow {
  int64_t id = 0;
  int num_kind = ts::kKindUnknown;
};

Result<std::optional<SeriesRow>> find_series(Database& db, const SeriesKey& key) {
  Result<Statement*> st = db.cached(
      "SELECT id, num_kind FROM ts_series WHERE tenant = ?1 AND entity_id = ?2 AND attribute = ?3 AND "
      "dataset_id = ?4");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  if (Status b = s.bind_text(1, key.tenant); !b.ok()) return b;
  if (Status b = s.bind_text(2, key.entity_id); !b.ok()) return b;
  if (Status b = s.bind_text(3, key.attribute); !b.ok()) return b;
  if (Status b = s.bind_text(4, key.dataset_id); !b.ok()) return b;
  std::optional<SeriesRow> out;
  Status e = ts::each_row(s, [&](Statement& row) {
    out = SeriesRow{row.column_int64(0),
                    row.column_is_null(1) ? ts::kKindUnknown : static_cast<int>(row.column_int64(1))};
    return Status();
  });
  if (!e.ok()) return e;
  return out;
}

bool by_time(const RawPoint& a, const RawPoint& b) { return a.t_ms < b.t_ms; }

// Head points of the series in [from, to), arrival order.
Status load_head(Database& db, int64_t id, int64_t from, int64_t to, std::vector<RawPoint>& out) {
  Result<Statement*> st = db.cached("SELECT points FROM ts_head WHERE series_id = ?1 ORDER BY seq");
  if (!st.ok()) return st.status();
  if (Status b = (*st)->bind(1, id); !b.ok()) return b;
  std::vector<RawPoint> all;
  Status s = ts::each_row(**st, [&](Statement& row) { return ts::read_head_blob(row.column_blob(0), all); });
  if (!s.ok()) return s;
  for (const RawPoint& p : all) {
    if (p.t_ms >= from && p.t_ms < to) out.push_back(p);
  }
  return {};
}

// Points of the chunks and the head in [from, to), in time order (equal
// times in arrival order).
Status load_numeric(Database& db, int64_t id, int64_t from, int64_t to, std::vector<RawPoint>& out) {
  Result<Statement*> st = db.cached(
      "SELECT start_ms, end_ms, bytes FROM ts_chunk WHERE series_id = ?1 AND end_ms >= ?2 AND start_ms < ?3 "
      "ORDER BY id");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  if (Status b = s.bind(1, id); !b.ok()) return b;
  if (Status b = s.bind(2, from); !b.ok()) return b;
  if (Status b = s.bind(3, to); !b.ok()) return b;
  std::vector<RawPoint> chunk;
  Status e = ts::each_row(s, [&](Statement& row) -> Status {
    const int64_t start = row.column_int64(0), end = row.column_int64(1);
    // Decode straight from SQLite's buffer: no copy of the blob.
    const void* data = sqlite3_column_blob(row.handle(), 2);
    const int size = sqlite3_column_bytes(row.handle(), 2);
    std::string_view bytes(static_cast<const char*>(data), static_cast<size_t>(size));
    if (start >= from && end < to) {
      // Wholly inside: decode in place at the end of `out`.
      const size_t before = out.size();
      if (Status d = tsdb::decode_chunk(bytes, chunk); !d.ok()) {
        return {d.code(), fmt::format("history.db: chunk of series {} [{}, {}]: {}", id, start, end, d.message())};
      }
      out.resize(before + chunk.size());
      std::copy(chunk.begin(), chunk.end(), out.begin() + static_cast<ptrdiff_t>(before));
      return {};
    }
    if (Status d = tsdb::decode_chunk(bytes, chunk); !d.ok()) {
      return {d.code(), fmt::format("history.db: chunk of series {} [{}, {}]: {}", id, start, end, d.message())};
    }
    for (const RawPoint& p : chunk) {
      if (p.t_ms >= from && p.t_ms < to) out.push_back(p);
    }
    return {};
  });
  if (!e.ok()) return e;
  if (Status h = load_head(db, id, from, to, out); !h.ok()) return h;
  // In-order data is already sorted; late data made chunks overlap.
  if (!std::is_sorted(out.begin(), out.end(), by_time)) std::stable_sort(out.begin(), out.end(), by_time);
  return {};
}

// ts_text rows in [from, to), in time order. With a limit, only the first
// `limit` rows from the newest end (newest_first) or the oldest end.
Status load_text(Database& db, int64_t id, int64_t from, int64_t to, std::vector<Point>& out, size_t limit = 0,
                 bool newest_first = false) {
  Result<Statement*> st = db.cached(
      limit == 0 ? "SELECT t_ms, kind, num, text FROM ts_text WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3 "
                   "ORDER BY t_ms, id"
      : newest_first
          ? "SELECT t_ms, kind, num, text FROM ts_text WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3 "
            "ORDER BY t_ms DESC, id DESC LIMIT ?4"
          : "SELECT t_ms, kind, num, text FROM ts_text WHERE series_id = ?1 AND t_ms >= ?2 AND t_ms < ?3 "
            "ORDER BY t_ms, id LIMIT ?4");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  if (Status b = s.bind(1, id); !b.ok()) return b;
  if (Status b = s.bind(2, from); !b.ok()) return b;
  if (Status b = s.bind(3, to); !b.ok()) return b;
  if (limit != 0) {
    if (Status b = s.bind(4, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX))); !b.ok()) return b;
  }
  const size_t first = out.size();
  Status e = ts::each_row(s, [&](Statement& row) -> Status {
    const int64_t kind = row.column_int64(1);
    if (kind < 0 || kind > 3) {
      return {Code::kCorruption, fmt::format("history.db: ts_text of series {} has unknown kind {}", id, kind)};
    }
    Point p;
    p.t_ms = row.column_int64(0);
    p.value.kind = static_cast<Value::Kind>(kind);
    if (p.value.kind == Value::Kind::kNumber || p.value.kind == Value::Kind::kBool) {
      p.value.number = ts::column_double(row, 2);
    } else {
      p.value.text = row.column_text(3);
    }
    out.push_back(std::move(p));
    return Status();
  });
  if (!e.ok()) return e;
  if (limit != 0 && newest_first) std::reverse(out.begin() + static_cast<ptrdiff_t>(first), out.end());
  return {};
}

// As load_numeric(), for a query that wants only the first `q.limit` points
// in its direction (lastN when descending): chunks are visited from that end
// and the walk stops at the first chunk that cannot hold one of the `limit`
// best points found so far (head and `texts` included). Overlapping chunks
// (late data) are handled: the test is on the chunk's time bounds.
Status load_numeric_limited(Database& db, int64_t id, const tsdb::RangeQuery& q, const std::vector<Point>& texts,
                            std::vector<RawPoint>& out) {
  std::vector<RawPoint> head;
  if (Status h = load_head(db, id, q.from_ms, q.to_ms, head); !h.ok()) return h;
  std::vector<int64_t> times;
  for (const RawPoint& p : head) times.push_back(p.t_ms);
  for (const Point& p : texts) times.push_back(p.t_ms);

  Result<Statement*> st = db.cached(
      q.descending ? "SELECT id, start_ms, end_ms, bytes FROM ts_chunk WHERE series_id = ?1 AND end_ms >= ?2 AND "
                     "start_ms < ?3 ORDER BY end_ms DESC"
                   : "SELECT id, start_ms, end_ms, bytes FROM ts_chunk WHERE series_id = ?1 AND end_ms >= ?2 AND "
                     "start_ms < ?3 ORDER BY start_ms");
  if (!st.ok()) return st.status();
  Statement& s = **st;
  if (Status b = s.bind(1, id); !b.ok()) return b;
  if (Status b = s.bind(2, q.from_ms); !b.ok()) return b;
  if (Status b = s.bind(3, q.to_ms); !b.ok()) return b;
  std::vector<std::pair<int64_t, std::vector<RawPoint>>> chunks;  // (chunk id, points in range)
  std::vector<RawPoint> decoded;
  for (;;) {
    Result<bool> row = s.step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    const int64_t start = s.column_int64(1), end = s.column_int64(2);
    if (times.size() >= q.limit) {
      // The limit-th best time so far; a chunk entirely beyond it adds nothing.
      auto nth = times.begin() + static_cast<ptrdiff_t>(q.limit - 1);
      if (q.descending) {
        std::nth_element(times.begin(), nth, times.end(), std::greater<>());
        if (end < *nth) break;
      } else {
        std::nth_element(times.begin(), nth, times.end());
        if (start > *nth) break;
      }
    }
    const void* data = sqlite3_column_blob(s.handle(), 3);
    std::string_view bytes(static_cast<const char*>(data), static_cast<size_t>(sqlite3_column_bytes(s.handle(), 3)));
    if (Status d = tsdb::decode_chunk(bytes, decoded); !d.ok()) {
      s.reset();
      return {d.code(), fmt::format("history.db: chunk of series {} [{}, {}]: {}", id, start, end, d.message())};
    }
    auto& [cid, pts] = chunks.emplace_back(s.column_int64(0), std::vector<RawPoint>{});
    for (const RawPoint& p : decoded) {
      if (p.t_ms >= q.from_ms && p.t_ms < q.to_ms) {
        pts.push_back(p);
        times.push_back(p.t_ms);
      }
    }
  }
  s.reset();
  // Seal order, then the head: the same sequence load_numeric() sorts.
  std::sort(chunks.begin(), chunks.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& c : chunks) out.insert(out.end(), c.second.begin(), c.second.end());
  out.insert(out.end(), head.begin(), head.end());
  if (!std::is_sorted(out.begin(), out.end(), by_time)) std::stable_sort(out.begin(), out.end(), by_time);
  return {};
}

}  // namespace

Result<std::vector<Point>> SqliteTimeSeriesStore::range(const tsdb::RangeQuery& q) {
  std::vector<Point> out;
  if (q.from_ms >= q.to_ms) return out;
  Result<Reader> r = reader();
  if (!r.ok()) return r.status();
  Database& db = r->db();
  Result<Transaction> tx = Transaction::begin(db, Transaction::Mode::kDeferred);
  if (!tx.ok()) return tx.status();
  Result<std::optional<SeriesRow>> series = find_series(db, q.key);
  if (!series.ok()) return series.status();
  if (!series.value()) return out;
  const SeriesRow sr = **series;

  std::vector<Point> texts;
  if (Status s = load_text(db, sr.id, q.from_ms, q.to_ms, texts, q.limit, q.descending); !s.ok()) return s;
  std::vector<RawPoint> nums;
  Status loaded = q.limit == 0 ? load_numeric(db, sr.id, q.from_ms, q.to_ms, nums)
                               : load_numeric_limited(db, sr.id, q, texts, nums);
  if (!loaded.ok()) return loaded;

  const Value::Kind kind = sr.num_kind == 1 ? Value::Kind::kBool : Value::Kind::kNumber;
  out.reserve(nums.size() + texts.size());
  // Merge: on equal times numbers/booleans of the series' kind come first.
  size_t t = 0;
  for (const RawPoint& p : nums) {
    while (t < texts.size() && texts[t].t_ms < p.t_ms) out.push_back(std::move(texts[t++]));
    Point& o = out.emplace_back();
    o.t_ms = p.t_ms;
    o.value.kind = kind;
    o.value.number = kind == Value::Kind::kBool ? (p.v != 0 ? 1.0 : 0.0) : p.v;
  }
  while (t < texts.size()) out.push_back(std::move(texts[t++]));

  if (q.descending) std::reverse(out.begin(), out.end());
  if (q.limit != 0 && out.size() > q.limit) out.resize(q.limit);
  return out;
}

Result<std::vector<AggregateRow>> SqliteTimeSeriesStore::aggregate(const tsdb::AggregateQuery& q) {
  if (q.period_ms <= 0) return InvalidArgument("aggregate: period_ms must be > 0");
  if (q.from_ms >= q.to_ms) return std::vector<AggregateRow>{};
  Result<Reader> r = reader();
  if (!r.ok()) return r.status();
  Database& db = r->db();
  Result<Transaction> tx = Transaction::begin(db, Transaction::Mode::kDeferred);
  if (!tx.ok()) return tx.status();
  Result<std::optional<SeriesRow>> series = find_series(db, q.key);
  if (!series.ok()) return series.status();
  if (!series.value()) return std::vector<AggregateRow>{};
  const int64_t id = series.value()->id;

  tsdb::Buckets buckets;
  const tsdb::Tier tier = tsdb::choose_tier(q);
  if (tier == tsdb::Tier::kRaw) {
    std::vector<RawPoint> nums;
    if (Status s = load_numeric(db, id, q.from_ms, q.to_ms, nums); !s.ok()) return s;
    for (const RawPoint& p : nums) tsdb::fold_value(buckets[tsdb::period_floor(p.t_ms, q.period_ms)], p.v);
    std::vector<Point> texts;
    if (Status s = load_text(db, id, q.from_ms, q.to_ms, texts); !s.ok()) return s;
    for (const Point& p : texts) {
      if (p.value.kind == Value::Kind::kNumber || p.value.kind == Value::Kind::kBool) {
        tsdb::fold_value(buckets[tsdb::period_floor(p.t_ms, q.period_ms)], p.value.number);
      }
    }
    return tsdb::buckets_to_rows(buckets);
  }

  // Rollup rows cover sealed points and ts_text numbers; the head is added
  // from its points (not yet rolled up).
  if (tier == tsdb::Tier::kHour) {
    Result<Statement*> st = db.cached(
        "SELECT period_ms, n, vsum, vmin, vmax FROM ts_rollup_1h WHERE series_id = ?1 AND period_ms >= ?2 AND "
        "period_ms < ?3 ORDER BY period_ms");
    if (!st.ok()) return st.status();
    Statement& s = **st;
    if (Status b = s.bind(1, id); !b.ok()) return b;
    if (Status b = s.bind(2, q.from_ms); !b.ok()) return b;
    if (Status b = s.bind(3, q.to_ms); !b.ok()) return b;
    Status e = ts::each_row(s, [&](Statement& row) {
      tsdb::fold_row(buckets[tsdb::period_floor(row.column_int64(0), q.period_ms)],
                     static_cast<uint64_t>(row.column_int64(1)), ts::column_double(row, 2),
                     ts::column_double(row, 3), ts::column_double(row, 4));
      return Status();
    });
    if (!e.ok()) return e;
  } else {
    // One blob per hour; the first and last hours may be partly outside.
    Result<Statement*> st = db.cached(
        "SELECT bytes FROM ts_rollup_1m WHERE series_id = ?1 AND hour_ms >= ?2 AND hour_ms < ?3 ORDER BY hour_ms");
    if (!st.ok()) return st.status();
    Statement& s = **st;
    if (Status b = s.bind(1, id); !b.ok()) return b;
    if (Status b = s.bind(2, tsdb::period_floor(q.from_ms, tsdb::kHourMs)); !b.ok()) return b;
    if (Status b = s.bind(3, q.to_ms); !b.ok()) return b;
    tsdb::Buckets minutes;
    Status e = ts::each_row(s, [&](Statement& row) {
      minutes.clear();
      if (Status d = ts::decode_minutes(row.column_blob(0), minutes); !d.ok()) return d;
      for (const auto& [start, r] : minutes) {
        if (start < q.from_ms || start >= q.to_ms) continue;
        tsdb::fold_row(buckets[tsdb::period_floor(start, q.period_ms)], r.count, r.sum, r.min, r.max);
      }
      return Status();
    });
    if (!e.ok()) return e;
  }
  std::vector<RawPoint> head;
  if (Status h = load_head(db, id, q.from_ms, q.to_ms, head); !h.ok()) return h;
  for (const RawPoint& p : head) tsdb::fold_value(buckets[tsdb::period_floor(p.t_ms, q.period_ms)], p.v);
  return tsdb::buckets_to_rows(buckets);
}

}  // namespace urbis::storage::sqlite
