// Small inserts per second through SqliteWriter with group commit.
//
// Each iteration submits `batch` one-row INSERT work items (as many independent
// producers would) and waits for them with flush(); items/s is the figure that
// matters. Run for NORMAL and FULL synchronous to see the cost of an fsync per
// group commit. The database lives in $TMPDIR (use a real disk, not tmpfs, for
// meaningful FULL numbers).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace {

using urbis::Result;
using urbis::Status;
using urbis::storage::sqlite::Database;
using urbis::storage::sqlite::DatabaseOptions;
using urbis::storage::sqlite::SqliteWriter;
using urbis::storage::sqlite::Statement;
using urbis::storage::sqlite::Synchronous;

void BM_WriterSmallInserts(benchmark::State& state) {
  const auto sync = state.range(0) == 0 ? Synchronous::kNormal : Synchronous::kFull;
  const int64_t batch = state.range(1);
  std::string dir = (std::filesystem::temp_directory_path() / "urbis-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    DatabaseOptions o;
    o.synchronous = sync;
    Result<Database> db = Database::open(dir + "/bench.db", o);
    if (!db.ok() || !db->exec("CREATE TABLE m(k INTEGER, v BLOB)").ok()) {
      state.SkipWithError("cannot create the database");
      return;
    }
    const std::string payload(64, 'p');  // before the writer: its items point here
    SqliteWriter writer(std::move(db).value());
    int64_t k = 0;
    for (auto _ : state) {
      for (int64_t i = 0; i < batch; ++i) {
        writer.submit([key = k++, &payload](Database& d) -> Status {
          Result<Statement*> st = d.cached("INSERT INTO m(k, v) VALUES(?1, ?2)");
          if (!st.ok()) return st.status();
          if (Status s = (*st)->bind(1, key); !s.ok()) return s;
          if (Status s = (*st)->bind_blob(2, payload); !s.ok()) return s;
          return (*st)->run();
        });
      }
      if (!writer.flush().ok()) {
        state.SkipWithError("write failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * batch);
    auto stats = writer.stats();
    state.counters["items_per_commit"] =
        stats.batches_committed > 0 ? static_cast<double>(stats.items_committed) / stats.batches_committed : 0;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Args: {synchronous 0=NORMAL 1=FULL, items submitted before each flush}
BENCHMARK(BM_WriterSmallInserts)
    ->ArgNames({"full", "burst"})
    ->Args({0, 1})
    ->Args({0, 100})
    ->Args({0, 10000})
    ->Args({1, 1})
    ->Args({1, 10000})
    ->UseRealTime();

}  // namespace
BENCHMARK_MAIN();
