// history.db retention: one writer work item that seals stale heads, then
// deletes raw data, idempotency keys and rollups past their tier's retention.
//
// Granularity: raw data goes a whole chunk at a time (a chunk is deleted once
// its newest point is past the retention), so a point may outlive its
// retention by up to one chunk's span. Heads whose newest point is past the
// retention are sealed first, which puts their points into the rollups (they
// are not rolled up before sealing) and lets the chunk delete remove them.
//
// Cost: chunks and ts_text are scanned (chunk rows are few; text rows are
// rare); rollups are deleted per series through their primary key; the
// idempotency table is scanned once per run (its key is (series, key), with
// no time index, so that the hot path pays one B-tree insert per key, not two).
#include <fmt/format.h>

#include <future>
#include <vector>

#include "storage/sqlite/time_series_sqlite.hpp"
#include "storage/sqlite/ts_internal.hpp"

namespace urbis::storage::sqlite {

namespace {

Status delete_before(Database& db, std::string_view sql, int64_t cutoff) {
  return ts::run(db, sql, [&](Statement& st) { return st.bind(1, cutoff); });
}

Status expire_raw(Database& db, int64_t cutoff, size_t chunk_points) {
  std::vector<int64_t> stale;
  {
    Result<Statement*> st = db.cached("SELECT series_id FROM ts_head GROUP BY series_id HAVING MAX(max_ms) < ?1");
    if (!st.ok()) return st.status();
    if (Status b = (*st)->bind(1, cutoff); !b.ok()) return b;
    Status s = ts::each_row(**st, [&](Statement& row) {
      stale.push_back(row.column_int64(0));
      return Status();
    });
    if (!s.ok()) return s;
  }
  for (int64_t id : stale) {
    if (Status s = ts::seal_head(db, id, chunk_points); !s.ok()) return s;
  }
  if (Status s = delete_before(db, "DELETE FROM ts_chunk WHERE end_ms < ?1", cutoff); !s.ok()) return s;
  return delete_before(db, "DELETE FROM ts_text WHERE t_ms < ?1", cutoff);
}

Status expire_rollups(Database& db, std::string_view sql, int64_t cutoff) {
  std::vector<int64_t> ids;
  {
    Result<Statement*> st = db.cached("SELECT id FROM ts_series");
    if (!st.ok()) return st.status();
    Status s = ts::each_row(**st, [&](Statement& row) {
      ids.push_back(row.column_int64(0));
      return Status();
    });
    if (!s.ok()) return s;
  }
  for (int64_t id : ids) {
    Status s = ts::run(db, sql, [&](Statement& st) -> Status {
      if (Status b = st.bind(1, id); !b.ok()) return b;
      return st.bind(2, cutoff);
    });
    if (!s.ok()) return s;
  }
  return {};
}

}  // namespace

Status SqliteTimeSeriesStore::enforce_retention(int64_t now_ms) {
  const tsdb::RetentionOptions ret = options_.retention;
  const size_t chunk_points = options_.chunk_points;
  ts::WriteCache* cache = state_.get();
  std::promise<Status> result;
  std::future<Status> f = result.get_future();
  writer_->submit(
      [=](Database& db) {
        return ts::run_with_cache(db, *cache, [&](Database& d) -> Status {
          // Sealing changes head sizes behind the cache's back.
          cache->dirty = true;
          if (ret.raw_ms > 0) {
            if (Status s = expire_raw(d, now_ms - ret.raw_ms, chunk_points); !s.ok()) return s;
          }
          if (ret.idempotency_window() > 0) {
            Status s = delete_before(d, "DELETE FROM ts_idempotency WHERE t_ms < ?1", now_ms - ret.idempotency_window());
            if (!s.ok()) return s;
          }
          if (ret.minute_ms > 0) {
            // Minute rollups live in hour blobs: an hour goes once all of it is past.
            Status s = expire_rollups(d, "DELETE FROM ts_rollup_1m WHERE series_id = ?1 AND hour_ms < ?2",
                                      tsdb::period_floor(now_ms - ret.minute_ms, tsdb::kHourMs));
            if (!s.ok()) return s;
          }
          if (ret.hour_ms > 0) {
            Status s = expire_rollups(d, "DELETE FROM ts_rollup_1h WHERE series_id = ?1 AND period_ms < ?2",
                                      now_ms - ret.hour_ms);
            if (!s.ok()) return s;
          }
          return Status();
        });
      },
      [cache, &result](const Status& s) {
        if (!s.ok()) cache->dirty = true;
        result.set_value(s);
      });
  return f.get();
}

}  // namespace urbis::storage::sqlite
