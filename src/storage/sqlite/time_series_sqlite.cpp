// SqliteTimeSeriesStore — design note
// ====================================
//
// File and tables (docs/formats/storage.md, "history.db")
//   ts_series       one row per (tenant, entity, attribute, datasetId); id is
//                   what every other table refers to. num_kind: whether the
//                   series' numeric values are numbers (0) or booleans (1).
//   ts_head         the open, uncompressed tail of each series: one row per
//                   (series, append batch) holding that batch's points as
//                   16-byte records, in arrival order.
//   ts_chunk        sealed, compressed chunks (tsdb/chunk.hpp), each with its
//                   [start_ms, end_ms] and point count.
//   ts_text         strings and JSON (and the rare number/bool of the other
//                   kind than the series'), uncompressed, one row per point.
//   ts_rollup_1h    count, sum, min, max per series per hour.
//   ts_rollup_1m    the same per minute, packed one blob per (series, hour)
//                   with the chunk codec: a row per minute would cost ten
//                   times the compressed raw points.
//   ts_idempotency  (series, key) of every keyed measurement, with its time.
//
// Write path. append() submits ONE work item per batch to the SqliteWriter, so
// group commit folds many batches into one transaction. The item resolves
// series ids (cached), inserts each keyed measurement's key with INSERT OR
// IGNORE (no row inserted = duplicate: skipped, still success), and writes ONE
// ts_head row per series touched by the batch. That is the durable write: a
// crash after the commit finds the points in ts_head. Why a row per batch and
// not a head blob rewritten per batch: rewriting a growing blob costs
// O(head size) per append (kilobytes per point near the end of a chunk) and
// the per-point raw table costs one B-tree insert per point; one row per
// (series, batch) costs one insert per series per batch and is cheapest for
// both bulk loads and many-sensors-one-point batches.
//
// Sealing. When a series' head reaches chunk_points points, the same work item
// reads the head rows back, sorts them by time (stable: equal timestamps keep
// arrival order), encodes chunks, adds the points to both rollup tiers (one
// upsert per hour touched, and one read-modify-write of the hour's minute
// blob, not one per point) and deletes the head rows.
// Rollups therefore cover sealed points (and ts_text numbers, which are
// rolled up as they arrive); queries add the head's points on the fly, so
// rollup answers are exact at any moment. Retention seals heads whose newest
// point is past the raw retention, so no point leaves without being rolled up.
//
// Late data. A point older than what is already sealed goes to the head like
// any other; the chunk it is sealed into then overlaps earlier chunks in time.
// Chunks are immutable. range() concatenates chunks in seal order, then the
// head, and stable-sorts only when the result is not already in time order
// (is_sorted is a cheap linear check), so in-order data pays nothing and late
// data is still returned in place. Late points reach the rollups at seal time
// like any other point.
//
// Reads run on pooled read-only connections inside one read transaction each,
// so chunks, head and rollups come from the same commit: a seal (head rows
// deleted, chunk inserted) is seen entirely or not at all.
//
// Work items and rollbacks. The writer may roll a batch back (a failed item,
// a failed COMMIT) and rerun items with savepoints (writer.hpp), while a work
// item must "only touch the database". Our one piece of memory, WriteCache
// (series ids, head sizes, next head seq), is therefore only a cache: the
// connection's rollback hook and every failing item mark it dirty, and the
// next item starts by forgetting it and re-reading what it needs inside its
// own transaction. A stale head size could at worst move a seal by a batch.
//
// Aggregates. tsdb::choose_tier picks the coarsest rollup tier whose period
// divides the query period and whose boundaries are the query's bounds; rows
// of that tier plus the head's points answer it. Otherwise raw points (chunks,
// head, ts_text numbers) are aggregated. Rollups outlive raw data (retention
// per tier), so an aligned query over old data still gets answers.
//
// Throughput (bench/micro/tsdb_bench.cpp): the cost per measurement is one
// idempotency-key B-tree insert (when keyed) plus a share of one head insert;
// a seal every chunk_points points per series. Measured on the 2-core build
// machine while two compilers ran beside it (load ~4), NORMAL, 1,000 sensors:
// 250-380k/s unkeyed, 130-170k/s keyed (120k/s FULL); on a fresh file
// 290-345k/s keyed. The writer's page cache (TimeSeriesOptions::cache_kib) is
// what keeps this off the read path: at SQLite's default 2 MB it was 70-80k/s.
// Keyed ingest is bound by the key B-tree; the next step, if needed, is one
// head row per batch (all series) instead of per series and batch.
//
// Failure. A failed commit (disk full, I/O error) fails every batch of the
// transaction with the reason; health() reports it until a later commit
// succeeds; reads keep using the last committed state.
#include "storage/sqlite/time_series_sqlite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <limits>
#include <numeric>
#include <utility>

#include "common/log.hpp"
#include "common/thread_name.hpp"
#include "storage/sqlite/ts_internal.hpp"

namespace urbis::storage::sqlite {

using tsdb::Measurement;
using tsdb::SeriesKey;
using tsdb::Value;

namespace {

bool is_numeric(const Value& v) { return v.kind == Value::Kind::kNumber || v.kind == Value::Kind::kBool; }

// Finds or creates the cache entry of `key`, reading the series row and its
// head size from the database on a miss.
Result<ts::SeriesEntry*> resolve(Database& db, ts::WriteCache& cache, const SeriesKey& key) {
  auto it = cache.series.find(key);
  if (it != cache.series.end()) return &it->second;
  ts::SeriesEntry e;
  bool found = false;
  {
    Result<Statement*> st = db.cached(
        "SELECT id, num_kind FROM ts_series WHERE tenant = ?1 AND entity_id = ?2 AND attribute = ?3 AND "
        "dataset_id = ?4");
    if (!st.ok()) return st.status();
    Statement& s = **st;
    if (Status b = s.bind_text(1, key.tenant); !b.ok()) return b;
    if (Status b = s.bind_text(2, key.entity_id); !b.ok()) return b;
    if (Status b = s.bind_text(3, key.attribute); !b.ok()) return b;
    if (Status b = s.bind_text(4, key.dataset_id); !b.ok()) return b;
    Result<bool> row = s.step();
    if (!row.ok()) return row.status();
    if (row.value()) {
      found = true;
      e.id = s.column_int64(0);
      e.num_kind = s.column_is_null(1) ? ts::kKindUnknown : static_cast<int>(s.column_int64(1));
    }
    s.reset();
  }
  if (found) {
    Result<Statement*> st = db.cached(
        "SELECT COALESCE(SUM(length(points)), 0), COALESCE(MAX(seq) + 1, 0) FROM ts_head WHERE series_id = ?1");
    if (!st.ok()) return st.status();
    Statement& s = **st;
    if (Status b = s.bind(1, e.id); !b.ok()) return b;
    Result<bool> row = s.step();
    if (!row.ok()) return row.status();
    if (row.value()) {
      e.head_points = static_cast<size_t>(s.column_int64(0)) / ts::kHeadRecord;
      e.next_seq = s.column_int64(1);
    }
    s.reset();
  } else {
    Status s = ts::run(db,
                       "INSERT INTO ts_series(tenant, entity_id, attribute, dataset_id) VALUES(?1, ?2, ?3, ?4)",
                       [&](Statement& st) -> Status {
                         if (Status b = st.bind_text(1, key.tenant); !b.ok()) return b;
                         if (Status b = st.bind_text(2, key.entity_id); !b.ok()) return b;
                         if (Status b = st.bind_text(3, key.attribute); !b.ok()) return b;
                         return st.bind_text(4, key.dataset_id);
                       });
    if (!s.ok()) return s;
    e.id = sqlite3_last_insert_rowid(db.handle());
  }
  return &cache.series.emplace(key, e).first->second;
}

// True when the key was not stored yet for this series (and now is).
Result<bool> claim_key(Database& db, int64_t series_id, const std::string& key, int64_t t_ms) {
  Status s = ts::run(db, "INSERT OR IGNORE INTO ts_idempotency(series_id, key, t_ms) VALUES(?1, ?2, ?3)",
                     [&](Statement& st) -> Status {
                       if (Status b = st.bind(1, series_id); !b.ok()) return b;
                       if (Status b = st.bind_text(2, key); !b.ok()) return b;
                       return st.bind(3, t_ms);
                     });
  if (!s.ok()) return s;
  return db.changes() > 0;
}

Status insert_text(Database& db, int64_t series_id, const Measurement& m) {
  return ts::run(db, "INSERT INTO ts_text(series_id, t_ms, kind, num, text) VALUES(?1, ?2, ?3, ?4, ?5)",
                 [&](Statement& st) -> Status {
                   if (Status b = st.bind(1, series_id); !b.ok()) return b;
                   if (Status b = st.bind(2, m.observed_at_ms); !b.ok()) return b;
                   if (Status b = st.bind(3, static_cast<int64_t>(m.value.kind)); !b.ok()) return b;
                   if (is_numeric(m.value)) {
                     if (Status b = ts::bind_double(st, 4, m.value.number); !b.ok()) return b;
                     return st.bind_null(5);
                   }
                   if (Status b = st.bind_null(4); !b.ok()) return b;
                   return st.bind_text(5, m.value.text);
                 });
}

// The measurements of one series within a batch, in batch order.
Status append_series(Database& db, ts::SeriesEntry& e, size_t chunk_points, const std::vector<Measurement>& batch,
                     const uint32_t* idx, size_t n) {
  std::string blob;
  int64_t max_ms = std::numeric_limits<int64_t>::min();
  size_t head_added = 0;
  for (size_t i = 0; i < n; ++i) {
    const Measurement& m = batch[idx[i]];
    if (!m.idempotency_key.empty()) {
      Result<bool> fresh = claim_key(db, e.id, m.idempotency_key, m.observed_at_ms);
      if (!fresh.ok()) return fresh.status();
      if (!fresh.value()) continue;  // already stored: success without a second copy
    }
    if (is_numeric(m.value)) {
      const int kind = m.value.kind == Value::Kind::kBool ? 1 : 0;
      if (e.num_kind == ts::kKindUnknown) {
        Status s = ts::run(db, "UPDATE ts_series SET num_kind = ?1 WHERE id = ?2", [&](Statement& st) -> Status {
          if (Status b = st.bind(1, kind); !b.ok()) return b;
          return st.bind(2, e.id);
        });
        if (!s.ok()) return s;
        e.num_kind = kind;
      }
      if (kind == e.num_kind) {
        ts::put_head_point(blob, m.observed_at_ms, m.value.number);
        max_ms = std::max(max_ms, m.observed_at_ms);
        ++head_added;
        continue;
      }
      // A number in a boolean series (or the reverse): kept with its kind in
      // ts_text and rolled up now, since it never passes through a seal.
      if (Status s = ts::rollup_add(db, e.id, m.observed_at_ms, m.value.number); !s.ok()) return s;
    }
    if (Status s = insert_text(db, e.id, m); !s.ok()) return s;
  }
  if (head_added == 0) return {};
  Status s = ts::run(db, "INSERT INTO ts_head(series_id, seq, max_ms, points) VALUES(?1, ?2, ?3, ?4)",
                     [&](Statement& st) -> Status {
                       if (Status b = st.bind(1, e.id); !b.ok()) return b;
                       if (Status b = st.bind(2, e.next_seq); !b.ok()) return b;
                       if (Status b = st.bind(3, max_ms); !b.ok()) return b;
                       return st.bind_blob(4, blob);
                     });
  if (!s.ok()) return s;
  ++e.next_seq;
  e.head_points += head_added;
  if (e.head_points >= chunk_points) {
    if (Status sealed = ts::seal_head(db, e.id, chunk_points); !sealed.ok()) return sealed;
    e.head_points = 0;
  }
  return {};
}

Status append_batch(Database& db, ts::WriteCache& cache, size_t chunk_points, const std::vector<Measurement>& batch) {
  // Group by series, keeping batch order inside each series: resolve each
  // key once through the cache (a hash lookup), then sort by entry address,
  // which is cheaper than comparing four strings per step.
  std::vector<ts::SeriesEntry*> entry(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0 && batch[i].key == batch[i - 1].key) {
      entry[i] = entry[i - 1];
      continue;
    }
    Result<ts::SeriesEntry*> e = resolve(db, cache, batch[i].key);
    if (!e.ok()) return e.status();
    entry[i] = e.value();
  }
  std::vector<uint32_t> idx(batch.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::stable_sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) { return entry[a] < entry[b]; });
  for (size_t begin = 0; begin < idx.size();) {
    size_t end = begin + 1;
    while (end < idx.size() && entry[idx[end]] == entry[idx[begin]]) ++end;
    if (Status s = append_series(db, *entry[idx[begin]], chunk_points, batch, idx.data() + begin, end - begin);
        !s.ok()) {
      return s;
    }
    begin = end;
  }
  return {};
}

}  // namespace

Status ts::run_with_cache(Database& db, ts::WriteCache& cache, const std::function<Status(Database&)>& body) {
  if (cache.dirty.exchange(false)) cache.series.clear();
  Status s = body(db);
  if (!s.ok()) cache.dirty = true;
  return s;
}

// ---------------------------------------------------------------- reader pool

SqliteTimeSeriesStore::Reader::~Reader() {
  if (db_ == nullptr) return;
  std::lock_guard lock(owner_->pool_mu_);
  owner_->pool_.push_back(std::move(db_));
}

int SqliteTimeSeriesStore::schema_version() { return ts::migrations().back().version; }

SqliteTimeSeriesStore::SqliteTimeSeriesStore(std::string path, const TimeSeriesOptions& options)
    : path_(std::move(path)), options_(options), state_(std::make_unique<ts::WriteCache>()) {}

Result<std::unique_ptr<SqliteTimeSeriesStore>> SqliteTimeSeriesStore::open(const std::string& path,
                                                                           const TimeSeriesOptions& options) {
  if (options.chunk_points == 0) return InvalidArgument("history store: chunk_points must be > 0");
  DatabaseOptions dbo;
  dbo.synchronous = options.synchronous;
  Result<Database> db = Database::open(path, dbo);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(ts::migrations()); !s.ok()) return s;
  if (Status s = ts::upgrade_minute_rollups(*db); !s.ok()) return s;
  // Ingest touches a leaf page per series in ts_head and ts_idempotency on
  // every commit; SQLite's default 2 MB page cache then re-reads them from the
  // OS on every batch. A larger cache keeps the writer off the read path, and
  // checkpoints run beside it (writer.hpp, "Checkpoints").
  if (Status s = db->exec(fmt::format("PRAGMA cache_size = -{}", options.cache_kib)); !s.ok()) return s;
  std::unique_ptr<SqliteTimeSeriesStore> store(new SqliteTimeSeriesStore(path, options));
  // Any rollback, including SQLite's own after a full disk, invalidates the cache.
  sqlite3_rollback_hook(
      db->handle(), [](void* cache) { static_cast<ts::WriteCache*>(cache)->dirty = true; },
      store->state_.get());
  store->writer_ = std::make_unique<SqliteWriter>(std::move(db).value(), options.writer);
  if (options.retention_interval.count() > 0) {
    store->retention_thread_ = std::thread([s = store.get()] { s->retention_loop(); });
  }
  return store;
}

SqliteTimeSeriesStore::~SqliteTimeSeriesStore() {
  {
    std::lock_guard lock(retention_mu_);
    stopping_ = true;
  }
  retention_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
  writer_.reset();  // drains and commits the queue before the cache goes away
}

void SqliteTimeSeriesStore::retention_loop() {
  set_thread_name("ts-retention");
  SystemClock system;
  const Clock& clock = options_.clock != nullptr ? *options_.clock : system;
  std::unique_lock lock(retention_mu_);
  for (;;) {
    if (retention_cv_.wait_for(lock, options_.retention_interval, [this] { return stopping_; })) return;
    lock.unlock();
    if (Status s = enforce_retention(clock.unix_ms()); !s.ok()) {
      ULOG_WARN("history store {}: retention failed: {}", path_, s.message());
    }
    lock.lock();
  }
}

Result<SqliteTimeSeriesStore::Reader> SqliteTimeSeriesStore::reader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      std::unique_ptr<Database> db = std::move(pool_.back());
      pool_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  DatabaseOptions ro;
  ro.create = false;
  ro.query_only = true;
  Result<Database> db = Database::open(path_, ro);
  if (!db.ok()) return db.status();
  return Reader(this, std::make_unique<Database>(std::move(db).value()));
}

void SqliteTimeSeriesStore::append(std::vector<Measurement> batch, Done done) {
  if (batch.empty()) {
    if (done) done(Status());
    return;
  }
  ts::WriteCache* cache = state_.get();
  const size_t chunk_points = options_.chunk_points;
  writer_->submit(
      [cache, chunk_points, batch = std::move(batch)](Database& db) {
        return run_with_cache(db, *cache, [&](Database& d) { return append_batch(d, *cache, chunk_points, batch); });
      },
      [cache, done = std::move(done)](const Status& s) {
        if (!s.ok()) cache->dirty = true;  // e.g. COMMIT failed after every item succeeded
        if (done) done(s);
      });
}

Status SqliteTimeSeriesStore::flush() { return writer_->flush(); }

Status SqliteTimeSeriesStore::health() const { return writer_->health(); }

Result<std::vector<SeriesKey>> SqliteTimeSeriesStore::series_of(const std::string& tenant,
                                                                const std::string& entity_id) {
  Result<Reader> r = reader();
  if (!r.ok()) return r.status();
  Result<Statement*> st = r->db().cached(
      "SELECT attribute, dataset_id FROM ts_series WHERE tenant = ?1 AND entity_id = ?2 "
      "ORDER BY attribute, dataset_id");
  if (!st.ok()) return st.status();
  if (Status b = (*st)->bind_text(1, tenant); !b.ok()) return b;
  if (Status b = (*st)->bind_text(2, entity_id); !b.ok()) return b;
  std::vector<SeriesKey> out;
  Status s = ts::each_row(**st, [&](Statement& row) {
    out.push_back(SeriesKey{tenant, entity_id, row.column_text(0), row.column_text(1)});
    return Status();
  });
  if (!s.ok()) return s;
  return out;
}

Result<tsdb::StorageStats> SqliteTimeSeriesStore::stats() {
  Result<Reader> r = reader();
  if (!r.ok()) return r.status();
  Database& db = r->db();
  Result<Transaction> tx = Transaction::begin(db, Transaction::Mode::kDeferred);
  if (!tx.ok()) return tx.status();
  tsdb::StorageStats out;
  auto one_row = [&](std::string_view sql, auto&& read) -> Status {
    Result<Statement*> st = db.cached(sql);
    if (!st.ok()) return st.status();
    return ts::each_row(**st, [&](Statement& row) {
      read(row);
      return Status();
    });
  };
  if (Status s = one_row("SELECT COUNT(*) FROM ts_series", [&](Statement& row) { out.series = row.column_int64(0); });
      !s.ok()) {
    return s;
  }
  if (Status s = one_row("SELECT COALESCE(SUM(count), 0), COALESCE(SUM(length(bytes)), 0) FROM ts_chunk",
                         [&](Statement& row) {
                           out.points += row.column_int64(0);
                           out.raw_bytes += row.column_int64(1);
                         });
      !s.ok()) {
    return s;
  }
  if (Status s = one_row("SELECT COALESCE(SUM(length(points)), 0) FROM ts_head",
                         [&](Statement& row) {
                           const uint64_t bytes = row.column_int64(0);
                           out.points += bytes / ts::kHeadRecord;
                           out.raw_bytes += bytes;
                         });
      !s.ok()) {
    return s;
  }
  return out;
}

}  // namespace urbis::storage::sqlite
