// Private to the SQLite time-series store (time_series_sqlite.cpp, ts_*.cpp):
// the schema, the head-blob encoding, the writer thread's cache and the small
// helpers the write, query and retention paths share. Not a public header.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "storage/sqlite/db.hpp"
#include "tsdb/chunk.hpp"
#include "tsdb/rollup_tiers.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::storage::sqlite::ts {

// The schema, one forward step per version (docs/formats/storage.md).
std::span<const Migration> migrations();

// Kind of the numeric values a series keeps in its head and chunks; a value of
// the other numeric kind goes to ts_text (rare: a series changing type).
inline constexpr int kKindUnknown = -1;

// A head row's blob: points as 16-byte records, little-endian int64 time in
// ms then the IEEE-754 bits of the value, in arrival order.
inline constexpr size_t kHeadRecord = 16;
void put_head_point(std::string& blob, int64_t t_ms, double v);
// Appends the records of `blob` to `out`; kCorruption when its size is not a
// multiple of 16.
Status read_head_blob(std::string_view blob, std::vector<tsdb::RawPoint>& out);

// Binders and readers for REAL columns, which db.hpp does not wrap.
Status bind_double(Statement& st, int index, double v);
double column_double(const Statement& st, int col);

// Runs `sql` (cached) with `bind` applied, to completion.
template <typename Bind>
Status run(Database& db, std::string_view sql, Bind&& bind) {
  Result<Statement*> st = db.cached(sql);
  if (!st.ok()) return st.status();
  if (Status s = bind(**st); !s.ok()) return s;
  return (*st)->run();
}

// Steps `st` (already bound) and calls `row(st)` for every row.
template <typename Row>
Status each_row(Statement& st, Row&& row) {
  for (;;) {
    Result<bool> r = st.step();
    if (!r.ok()) return r.status();
    if (!r.value()) return {};
    if (Status s = row(st); !s.ok()) return s;
  }
}

struct SeriesKeyHash {
  size_t operator()(const tsdb::SeriesKey& k) const noexcept {
    std::hash<std::string> h;
    size_t x = h(k.tenant);
    for (const std::string* s : {&k.entity_id, &k.attribute, &k.dataset_id}) x = x * 1000003u ^ h(*s);
    return x;
  }
};

// What the writer thread remembers about a series between work items. Only a
// cache of the database: cleared whenever a transaction rolls back (see the
// design note, "Work items and rollbacks").
struct SeriesEntry {
  int64_t id = 0;
  int num_kind = kKindUnknown;  // 0 number, 1 bool
  size_t head_points = 0;      // points in ts_head
  int64_t next_seq = 0;        // next ts_head.seq
};

struct WriteCache {
  // Set by the connection's rollback hook and by any failed work item; the
  // next work item then forgets every entry and re-reads what it needs.
  std::atomic<bool> dirty{false};
  std::unordered_map<tsdb::SeriesKey, SeriesEntry, SeriesKeyHash> series;
};

// Runs a work item's body with the cache protocol: forget the cache when it is
// dirty, mark it dirty when the body fails. Every work item of the store goes
// through here (design note, "Work items and rollbacks").
Status run_with_cache(Database& db, WriteCache& cache, const std::function<Status(Database&)>& body);

// Seals the whole head of `series_id` into chunks of at most `chunk_points`
// points (sorted by time, ties in arrival order), adds the points to the
// rollups and deletes the head rows. Runs inside the writer's transaction.
Status seal_head(Database& db, int64_t series_id, size_t chunk_points);

// The 1-minute tier is one row per (series, hour): a blob of four chunks
// (tsdb/chunk.hpp), each a varint length then the chunk, holding per minute
// present (t = minute start) the count, sum, min and max. Folds the blob's
// minutes into `out`; kCorruption on any inconsistency.
Status decode_minutes(std::string_view blob, tsdb::Buckets& out);

// Finishes schema step 2 on a file migrated from version 1: packs the old
// per-minute rows (ts_rollup_1m_v1) into hour blobs and drops them, in one
// transaction. No-op when there is nothing to convert.
Status upgrade_minute_rollups(Database& db);

// Adds one numeric value to both rollup tiers (upsert).
Status rollup_add(Database& db, int64_t series_id, int64_t t_ms, double v);

}  // namespace urbis::storage::sqlite::ts
