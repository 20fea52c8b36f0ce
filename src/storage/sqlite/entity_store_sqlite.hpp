// SqliteEntityStore: the embedded EntityStore. Entity state is served from
// memory (model::EntityIndex) and written durably to SQLite first.
//
// Design note
// -----------
// Every write becomes one work item on a SqliteWriter (group commit, see
// writer.hpp). The work item computes the new entity on the writer thread,
// so writes apply in submission order without a lost update, and writes the
// entity's whole JSON document (one row per entity). Only after the commit,
// in the completion callback, is the new state put into the in-memory index,
// the caller's `done` called, and the ChangeEvent published.
//
// Where a work item reads the current entity from: the in-memory index holds
// committed state only. When no other write to the same (tenant, id) is in
// flight (the common case), committed state is the latest state and the work
// item reads memory. Otherwise an earlier item of the same open transaction
// may have written it: each item leaves its result in a small "pending" map
// (writer thread only) until its completion has put it into the index, and a
// later item reads that first. The writer may roll a batch back and rerun it
// item by item (writer.hpp): SQLite's rollback hook empties the map, the rerun
// fills it again in order, and an item that fails never adds its entry (it is
// the item's last step), so the map always mirrors what the open transaction
// holds, as reading the row back from SQLite would (what this did before, at
// the cost of a query and a JSON parse per such write).
//
// Logical failures (NotFound, AlreadyExists) are not storage failures: the
// work item writes nothing and succeeds, and the completion reports the
// failure; the writer stays healthy.
//
// Tables and document format: docs/formats/entity-store.md. kMigrations in
// the .cpp is the single source of the schema.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/clock.hpp"
#include "model/change_events.hpp"
#include "model/entity_index.hpp"
#include "model/entity_store.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace urbis::storage::sqlite {

struct EntityStoreOptions {
  // Durability of each group commit: NORMAL survives kill -9, FULL also
  // survives power loss (one fsync per commit). See db.hpp.
  Synchronous synchronous = Synchronous::kNormal;
  // Queue and batch limits of the writer thread.
  WriterOptions writer;
  // Page cache of the write connection, KiB (PRAGMA cache_size): an update
  // rewrites the leaf page holding its entity; with SQLite's default 2 MB
  // cache most of those pages are read back from the OS first (a pread per
  // write once the table outgrows the cache). Grows with use up to this.
  int cache_kib = 65536;
  // Source of createdAt/modifiedAt and event times; null = the system clock.
  // Must outlive the store.
  const Clock* clock = nullptr;
  // FOR TESTS: runs on the write connection inside every write's transaction
  // before its statements, with the write's sequence number (1 for the first
  // write call on this store, in call order; a write may run twice, see
  // writer.hpp). A non-ok status fails that write as an I/O error would
  // (rolled back, `done` told, nothing published). A test may also run SQL
  // here, e.g. PRAGMA max_page_count to simulate a full disk.
  std::function<Status(Database&, uint64_t write_seq)> fault_hook;
};

class SqliteEntityStore final : public model::EntityStore {
 public:
  // The file name inside the data directory.
  static constexpr const char* kFileName = "state.db";
  // The newest schema version this build writes.
  static int schema_version();

  // Opens or creates the database at `path` (normally <data_dir>/state.db),
  // migrates it, loads every entity into memory and starts the writer.
  // ":memory:" gives a store that keeps nothing after it is destroyed (tests).
  // Fails when the file cannot be opened, was written by a newer Urbis, or
  // holds a document that does not parse (kCorruption naming tenant and id).
  // `bus` must outlive the store.
  static Result<std::unique_ptr<SqliteEntityStore>> open(const std::string& path, model::ChangeBus& bus,
                                                          EntityStoreOptions options = {});

  // Commits every queued write (their callbacks run), then closes the file.
  ~SqliteEntityStore() override;

  void create(const std::string& tenant, model::Entity entity, model::WriteDone done) override;
  void replace(const std::string& tenant, model::Entity entity, model::WriteDone done) override;
  void merge(const std::string& tenant, model::Entity patch, model::WriteDone done) override;
  void append(const std::string& tenant, const std::string& entity_id, model::Entity attrs, model::AppendMode mode,
              model::WriteDone done) override;
  void upsert(const std::string& tenant, model::Entity entity, bool merge_existing, model::WriteDone done) override;
  void delete_attribute(const std::string& tenant, const std::string& entity_id, const std::string& name,
                        const std::string& dataset_id, bool all_instances, model::WriteDone done) override;
  void delete_entity(const std::string& tenant, const std::string& entity_id, model::WriteDone done) override;
  Status flush() override;
  Status health() const override;

  std::shared_ptr<const model::Entity> get(const std::string& tenant, const std::string& entity_id) const override;
  Result<model::QueryResult> query(const std::string& tenant, const model::EntityQuery& q) const override;
  std::vector<model::TypeInfo> types(const std::string& tenant) const override;
  std::vector<std::pair<std::string, size_t>> attributes(const std::string& tenant) const override;
  std::vector<std::string> tenants() const override;
  size_t size(const std::string& tenant) const override;

  // The writer, for statistics (batches, failures).
  const SqliteWriter& writer() const { return *writer_; }

 private:
  struct Op;
  SqliteEntityStore(model::ChangeBus& bus, EntityStoreOptions options);

  Status load(const std::string& path);
  void submit(std::shared_ptr<Op> op);
  // The work item (writer thread, inside the transaction; may run twice).
  Status execute(Database& db, Op& op);
  // The completion (writer thread, after the commit or failure).
  void complete(Op& op, const Status& status);
  // The latest state of op's entity as seen from inside the transaction.
  std::shared_ptr<const model::Entity> current(const Op& op);

  model::ChangeBus& bus_;
  EntityStoreOptions options_;
  SystemClock system_clock_;
  const Clock& clock_;
  model::EntityIndex index_;

  // Writes submitted and not yet completed, per hash of (tenant, id). Two
  // entities sharing a hash only make a work item read SQLite instead of
  // memory, which is always right: no need to store the keys themselves.
  static uint64_t key_hash(const std::string& tenant, const std::string& id);
  std::mutex inflight_mu_;
  std::unordered_map<uint64_t, int> inflight_;  // guarded by inflight_mu_

  // Results of items executed in the open transaction and not yet completed,
  // keyed by tenant + '\0' + id; null = deleted. Writer thread only.
  struct Pending {
    uint64_t seq;
    std::shared_ptr<const model::Entity> entity;
  };
  std::unordered_map<std::string, Pending> pending_;
  static std::string pending_key(const std::string& tenant, const std::string& id);

  std::atomic<uint64_t> write_seq_{0};
  std::unique_ptr<SqliteWriter> writer_;  // last: destroyed (drained) first
};

}  // namespace urbis::storage::sqlite
