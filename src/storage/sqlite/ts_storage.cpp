// history.db: the schema, the head-blob records, sealing heads into chunks and
// the rollup upserts. See the design note in time_series_sqlite.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

#include "storage/sqlite/ts_internal.hpp"
#include "tsdb/rollup_tiers.hpp"

namespace urbis::storage::sqlite::ts {

namespace {

// Never edit a released step: add a new one (docs/formats/storage.md,
// "Migration policy"). Row tables (ts_chunk, ts_text) keep rowids because
// their rows carry blobs/text and their id orders chunks by seal time; the
// small fixed-size rows are WITHOUT ROWID, clustered by their key.
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE ts_series("
     "  id INTEGER PRIMARY KEY,"
     "  tenant TEXT NOT NULL,"
     "  entity_id TEXT NOT NULL,"
     "  attribute TEXT NOT NULL,"
     "  dataset_id TEXT NOT NULL,"
     "  num_kind INTEGER,"
     "  UNIQUE(tenant, entity_id, attribute, dataset_id));"
     "CREATE TABLE ts_head("
     "  series_id INTEGER NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  max_ms INTEGER NOT NULL,"
     "  points BLOB NOT NULL,"
     "  PRIMARY KEY(series_id, seq)) WITHOUT ROWID;"
     "CREATE TABLE ts_chunk("
     "  id INTEGER PRIMARY KEY,"
     "  series_id INTEGER NOT NULL,"
     "  start_ms INTEGER NOT NULL,"
     "  end_ms INTEGER NOT NULL,"
     "  count INTEGER NOT NULL,"
     "  bytes BLOB NOT NULL);"
     "CREATE INDEX ts_chunk_series_end ON ts_chunk(series_id, end_ms);"
     "CREATE TABLE ts_text("
     "  id INTEGER PRIMARY KEY,"
     "  series_id INTEGER NOT NULL,"
     "  t_ms INTEGER NOT NULL,"
     "  kind INTEGER NOT NULL,"
     "  num REAL,"
     "  text TEXT);"
     "CREATE INDEX ts_text_series_t ON ts_text(series_id, t_ms);"
     "CREATE TABLE ts_rollup_1m("
     "  series_id INTEGER NOT NULL,"
     "  period_ms INTEGER NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  vsum REAL NOT NULL,"
     "  vmin REAL NOT NULL,"
     "  vmax REAL NOT NULL,"
     "  PRIMARY KEY(series_id, period_ms)) WITHOUT ROWID;"
     "CREATE TABLE ts_rollup_1h("
     "  series_id INTEGER NOT NULL,"
     "  period_ms INTEGER NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  vsum REAL NOT NULL,"
     "  vmin REAL NOT NULL,"
     "  vmax REAL NOT NULL,"
     "  PRIMARY KEY(series_id, period_ms)) WITHOUT ROWID;"
     "CREATE TABLE ts_idempotency("
     "  series_id INTEGER NOT NULL,"
     "  key TEXT NOT NULL,"
     "  t_ms INTEGER NOT NULL,"
     "  PRIMARY KEY(series_id, key)) WITHOUT ROWID;"},
    // Version 2: minute rollups packed per (series, hour) with the chunk codec
    // (a row per minute cost ten times the raw points). The old rows are kept
    // aside under ts_rollup_1m_v1 and converted by upgrade_minute_rollups()
    // (C++: SQL cannot encode chunks) right after migrating.
    {2,
     "ALTER TABLE ts_rollup_1m RENAME TO ts_rollup_1m_v1;"
     "CREATE TABLE ts_rollup_1m("
     "  series_id INTEGER NOT NULL,"
     "  hour_ms INTEGER NOT NULL,"
     "  bytes BLOB NOT NULL,"
     "  PRIMARY KEY(series_id, hour_ms)) WITHOUT ROWID;"},
};

void put_le64(std::string& out, uint64_t x) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(x >> (8 * i));
  out.append(b, 8);
}

uint64_t get_le64(const char* p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; --i) x = x << 8 | static_cast<uint8_t>(p[i]);
  return x;
}

constexpr std::string_view kUpsert1h =
    "INSERT INTO ts_rollup_1h(series_id, period_ms, n, vsum, vmin, vmax) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(series_id, period_ms) DO UPDATE SET n = n + excluded.n, vsum = vsum + excluded.vsum, "
    "vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax)";

Status upsert(Database& db, std::string_view sql, int64_t series_id, int64_t period, const tsdb::AggregateRow& r) {
  return run(db, sql, [&](Statement& st) -> Status {
    if (Status s = st.bind(1, series_id); !s.ok()) return s;
    if (Status s = st.bind(2, period); !s.ok()) return s;
    if (Status s = st.bind(3, static_cast<int64_t>(r.count)); !s.ok()) return s;
    if (Status s = bind_double(st, 4, r.sum); !s.ok()) return s;
    if (Status s = bind_double(st, 5, r.min); !s.ok()) return s;
    return bind_double(st, 6, r.max);
  });
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

void put_head_point(std::string& blob, int64_t t_ms, double v) {
  put_le64(blob, static_cast<uint64_t>(t_ms));
  put_le64(blob, std::bit_cast<uint64_t>(v));
}

Status read_head_blob(std::string_view blob, std::vector<tsdb::RawPoint>& out) {
  if (blob.size() % kHeadRecord != 0) {
    return {Code::kCorruption, fmt::format("history.db: head blob of {} bytes is not a multiple of 16", blob.size())};
  }
  for (size_t i = 0; i < blob.size(); i += kHeadRecord) {
    out.push_back({static_cast<int64_t>(get_le64(blob.data() + i)), std::bit_cast<double>(get_le64(blob.data() + i + 8))});
  }
  return {};
}

Status bind_double(Statement& st, int index, double v) {
  int rc = sqlite3_bind_double(st.handle(), index, v);
  if (rc != SQLITE_OK) return {code_from_sqlite(rc), fmt::format("sqlite: bind_double({}) failed ({}) in `{}`", index, rc, st.sql())};
  return {};
}

double column_double(const Statement& st, int col) { return sqlite3_column_double(st.handle(), col); }

void put_varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>(x | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

bool get_varint(std::string_view& in, uint64_t& x) {
  x = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    x |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::string encode_minutes(const tsdb::Buckets& minutes) {
  tsdb::ChunkEncoder enc;
  std::string out;
  for (int field = 0; field < 4; ++field) {
    enc.reset();
    for (const auto& [start, r] : minutes) {
      enc.append(start, field == 0 ? static_cast<double>(r.count) : field == 1 ? r.sum : field == 2 ? r.min : r.max);
    }
    const std::string chunk = enc.finish();
    put_varint(out, chunk.size());
    out += chunk;
  }
  return out;
}

Status decode_minutes(std::string_view blob, tsdb::Buckets& out) {
  std::vector<tsdb::RawPoint> fields[4];
  for (auto& f : fields) {
    uint64_t len = 0;
    if (!get_varint(blob, len) || len > blob.size()) {
      return {Code::kCorruption, "history.db: truncated minute-rollup blob"};
    }
    if (Status s = tsdb::decode_chunk(blob.substr(0, len), f); !s.ok()) {
      return {s.code(), "history.db: minute-rollup blob: " + s.message()};
    }
    blob.remove_prefix(len);
  }
  if (!blob.empty() || fields[1].size() != fields[0].size() || fields[2].size() != fields[0].size() ||
      fields[3].size() != fields[0].size()) {
    return {Code::kCorruption, "history.db: inconsistent minute-rollup blob"};
  }
  for (size_t i = 0; i < fields[0].size(); ++i) {
    const double n = fields[0][i].v;
    if (!(n >= 1) || n > 9.007199254740992e15) return {Code::kCorruption, "history.db: bad count in minute rollup"};
    tsdb::fold_row(out[fields[0][i].t_ms], static_cast<uint64_t>(n), fields[1][i].v, fields[2][i].v, fields[3][i].v);
  }
  return {};
}

// Read-modify-write of the hour blobs that `minutes` fall into.
Status merge_minutes(Database& db, int64_t series_id, const tsdb::Buckets& minutes) {
  for (auto it = minutes.begin(); it != minutes.end();) {
    const int64_t hour = tsdb::period_floor(it->first, tsdb::kHourMs);
    tsdb::Buckets merged;
    {
      Result<Statement*> st = db.cached("SELECT bytes FROM ts_rollup_1m WHERE series_id = ?1 AND hour_ms = ?2");
      if (!st.ok()) return st.status();
      if (Status b = (*st)->bind(1, series_id); !b.ok()) return b;
      if (Status b = (*st)->bind(2, hour); !b.ok()) return b;
      Status s = each_row(**st, [&](Statement& row) { return decode_minutes(row.column_blob(0), merged); });
      if (!s.ok()) return s;
    }
    for (; it != minutes.end() && it->first < hour + tsdb::kHourMs; ++it) {
      tsdb::fold_row(merged[it->first], it->second.count, it->second.sum, it->second.min, it->second.max);
    }
    const std::string bytes = encode_minutes(merged);
    Status s = run(db, "INSERT OR REPLACE INTO ts_rollup_1m(series_id, hour_ms, bytes) VALUES(?1, ?2, ?3)",
                   [&](Statement& st) -> Status {
                     if (Status b = st.bind(1, series_id); !b.ok()) return b;
                     if (Status b = st.bind(2, hour); !b.ok()) return b;
                     return st.bind_blob(3, bytes);
                   });
    if (!s.ok()) return s;
  }
  return {};
}

Status upgrade_minute_rollups(Database& db) {
  bool pending = false;
  {
    Result<Statement> st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ts_rollup_1m_v1'");
    if (!st.ok()) return st.status();
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    pending = row.value();
  }
  if (!pending) return {};
  // One transaction: a crash leaves the old rows in place for the next open.
  Result<Transaction> tx = Transaction::begin(db);
  if (!tx.ok()) return tx.status();
  Result<Statement> st =
      db.prepare("SELECT series_id, period_ms, n, vsum, vmin, vmax FROM ts_rollup_1m_v1 ORDER BY series_id, period_ms");
  if (!st.ok()) return st.status();
  int64_t series = -1;
  tsdb::Buckets minutes;
  auto flush_series = [&]() -> Status {
    Status s = minutes.empty() ? Status() : merge_minutes(db, series, minutes);
    minutes.clear();
    return s;
  };
  Status rows = each_row(*st, [&](Statement& row) -> Status {
    if (row.column_int64(0) != series) {
      if (Status s = flush_series(); !s.ok()) return s;
      series = row.column_int64(0);
    }
    tsdb::fold_row(minutes[row.column_int64(1)], static_cast<uint64_t>(row.column_int64(2)), column_double(row, 3),
                   column_double(row, 4), column_double(row, 5));
    return Status();
  });
  if (!rows.ok()) return rows;
  if (Status s = flush_series(); !s.ok()) return s;
  if (Status s = db.exec("DROP TABLE ts_rollup_1m_v1"); !s.ok()) return s;
  return tx->commit();
}

Status rollup_add(Database& db, int64_t series_id, int64_t t_ms, double v) {
  tsdb::AggregateRow r;
  tsdb::fold_value(r, v);
  tsdb::Buckets one;
  one[tsdb::period_floor(t_ms, tsdb::kMinuteMs)] = r;
  if (Status s = merge_minutes(db, series_id, one); !s.ok()) return s;
  return upsert(db, kUpsert1h, series_id, tsdb::period_floor(t_ms, tsdb::kHourMs), r);
}

Status seal_head(Database& db, int64_t series_id, size_t chunk_points) {
  std::vector<tsdb::RawPoint> pts;
  {
    Result<Statement*> st = db.cached("SELECT points FROM ts_head WHERE series_id = ?1 ORDER BY seq");
    if (!st.ok()) return st.status();
    if (Status s = (*st)->bind(1, series_id); !s.ok()) return s;
    Status s = each_row(**st, [&](Statement& row) { return read_head_blob(row.column_blob(0), pts); });
    if (!s.ok()) return s;
  }
  if (pts.empty()) return {};
  // Late points sit in the head in arrival order; chunks need time order.
  // Stable: equal timestamps keep their arrival order.
  std::stable_sort(pts.begin(), pts.end(), [](const tsdb::RawPoint& a, const tsdb::RawPoint& b) { return a.t_ms < b.t_ms; });

  // Near-equal chunks of at most chunk_points (a bulk import may have put
  // many chunks' worth into one head).
  const size_t n_chunks = (pts.size() + chunk_points - 1) / chunk_points;
  const size_t per_chunk = (pts.size() + n_chunks - 1) / n_chunks;
  tsdb::ChunkEncoder enc;
  for (size_t begin = 0; begin < pts.size(); begin += per_chunk) {
    const size_t end = std::min(pts.size(), begin + per_chunk);
    enc.reset();
    for (size_t i = begin; i < end; ++i) enc.append(pts[i].t_ms, pts[i].v);
    const std::string bytes = enc.finish();
    Status s = run(db,
                   "INSERT INTO ts_chunk(series_id, start_ms, end_ms, count, bytes) VALUES(?1, ?2, ?3, ?4, ?5)",
                   [&](Statement& st) -> Status {
                     if (Status b = st.bind(1, series_id); !b.ok()) return b;
                     if (Status b = st.bind(2, pts[begin].t_ms); !b.ok()) return b;
                     if (Status b = st.bind(3, pts[end - 1].t_ms); !b.ok()) return b;
                     if (Status b = st.bind(4, static_cast<int64_t>(end - begin)); !b.ok()) return b;
                     return st.bind_blob(5, bytes);
                   });
    if (!s.ok()) return s;
  }

  // Rollups of the sealed points: one upsert per period touched, not per point.
  tsdb::Buckets minute, hour;
  for (const tsdb::RawPoint& p : pts) {
    tsdb::fold_value(minute[tsdb::period_floor(p.t_ms, tsdb::kMinuteMs)], p.v);
    tsdb::fold_value(hour[tsdb::period_floor(p.t_ms, tsdb::kHourMs)], p.v);
  }
  if (Status s = merge_minutes(db, series_id, minute); !s.ok()) return s;
  for (const auto& [period, row] : hour) {
    if (Status s = upsert(db, kUpsert1h, series_id, period, row); !s.ok()) return s;
  }
  return run(db, "DELETE FROM ts_head WHERE series_id = ?1", [&](Statement& st) { return st.bind(1, series_id); });
}

}  // namespace urbis::storage::sqlite::ts
