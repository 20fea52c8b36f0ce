// SqliteTimeSeriesStore: the embedded TimeSeriesStore in <data_dir>/history.db.
//
// Writes go through one SqliteWriter (group commit, back-pressure); each
// append() is one work item and its `done` runs after the commit. Reads use a
// small pool of read-only connections and run concurrently with the writer
// (WAL). Numeric and boolean points are kept per series in compressed chunks
// (tsdb/chunk.hpp) after a short uncompressed "head"; strings and JSON in a
// plain table; 1-minute and 1-hour rollups beside them. The design note is at
// the top of time_series_sqlite.cpp, the table layout in
// docs/formats/storage.md ("history.db"); kMigrations in ts_schema.cpp is the
// single source of the schema.
//
// Thread-safe (all methods may be called from any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"
#include "tsdb/rollup_tiers.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::storage::sqlite {

namespace ts {
struct WriteCache;  // ts_internal.hpp: the writer thread's cache
}

struct TimeSeriesOptions {
  // Durability of each group commit: NORMAL survives kill -9, FULL also
  // survives power loss (one fsync per commit). See db.hpp.
  Synchronous synchronous = Synchronous::kNormal;
  // Queue and batch limits of the writer thread (each append() is one item),
  // and the WAL size that starts a background checkpoint: 64 MiB, so the
  // head pages of active series, rewritten on every commit, are copied into
  // the database once per checkpoint rather than once per commit.
  WriterOptions writer = {.checkpoint_pages = 16384};
  // How long raw points (and idempotency keys) and 1-minute / 1-hour rollups
  // are kept; 0 = forever. Defaults: 30 days, 1 year, forever.
  tsdb::RetentionOptions retention;
  // Points per compressed chunk: the head of a series is sealed into a chunk
  // when it holds this many points. Larger chunks compress a little better
  // and cost more to rewrite at seal time; 1024 at a 15 s period is ~4 hours.
  size_t chunk_points = 1024;
  // Page cache of the write connection, KiB (PRAGMA cache_size). Ingest
  // rewrites a page per active series per commit; keep that set in memory.
  int cache_kib = 65536;
  // How often the store enforces retention by itself (from a background
  // thread); 0 = only when enforce_retention() is called.
  std::chrono::milliseconds retention_interval{std::chrono::hours(1)};
  // Wall clock for the periodic retention; null = the system clock. Must
  // outlive the store.
  const Clock* clock = nullptr;
};

class SqliteTimeSeriesStore final : public tsdb::TimeSeriesStore {
 public:
  // The file name inside the data directory.
  static constexpr const char* kFileName = "history.db";
  // The newest schema version this build writes (docs/formats/storage.md).
  static int schema_version();

  // Opens or creates the database at `path` (normally <data_dir>/history.db),
  // migrates it to the current schema and starts the writer. Fails when the
  // file cannot be opened, is not a database, or was written by a newer Urbis.
  static Result<std::unique_ptr<SqliteTimeSeriesStore>> open(const std::string& path,
                                                             const TimeSeriesOptions& options = {});

  // Stops the retention thread, commits everything queued, closes the file.
  ~SqliteTimeSeriesStore() override;

  void append(std::vector<tsdb::Measurement> batch, Done done) override;
  Result<std::vector<tsdb::Point>> range(const tsdb::RangeQuery& q) override;
  Result<std::vector<tsdb::AggregateRow>> aggregate(const tsdb::AggregateQuery& q) override;
  Result<std::vector<tsdb::SeriesKey>> series_of(const std::string& tenant, const std::string& entity_id) override;
  Status flush() override;
  Status health() const override;
  Result<tsdb::StorageStats> stats() override;
  Status enforce_retention(int64_t now_ms) override;

  // The writer, for statistics and for tests that inject faults (e.g. run
  // "PRAGMA max_page_count" on the write connection to simulate a full disk).
  SqliteWriter& writer() { return *writer_; }

 private:

  SqliteTimeSeriesStore(std::string path, const TimeSeriesOptions& options);

  // A read-only connection from the pool (opened on demand), given back to
  // the pool when the handle is destroyed.
  class Reader {
   public:
    Reader(SqliteTimeSeriesStore* owner, std::unique_ptr<Database> db) : owner_(owner), db_(std::move(db)) {}
    Reader(Reader&& o) noexcept = default;
    Reader& operator=(Reader&&) = delete;
    ~Reader();
    Database& db() { return *db_; }

   private:
    SqliteTimeSeriesStore* owner_;
    std::unique_ptr<Database> db_;
  };
  Result<Reader> reader();
  void retention_loop();

  const std::string path_;
  const TimeSeriesOptions options_;
  std::unique_ptr<ts::WriteCache> state_;  // used only on the writer thread
  std::unique_ptr<SqliteWriter> writer_;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Database>> pool_;  // guarded by pool_mu_

  std::mutex retention_mu_;
  std::condition_variable retention_cv_;
  bool stopping_ = false;  // guarded by retention_mu_
  std::thread retention_thread_;
};

}  // namespace urbis::storage::sqlite
