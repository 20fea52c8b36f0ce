// SqliteBrokerStore: the broker's durable state in <data_dir>/broker.db.
//
// Every put/erase only enqueues a work item on a SqliteWriter and returns; the
// writer thread group-commits them in submission order (see writer.hpp), so
// the broker's I/O threads never wait on the disk except through flush() or
// when the writer's queue is full (back-pressure). load() uses its own read
// connection. The table layout and its compatibility rules are in
// docs/formats/storage.md; kMigrations in the .cpp is the single source of
// the schema.
//
// Thread-safe (all methods may be called from any thread).
#pragma once

#include <memory>
#include <string>

#include "mqtt/broker/broker_store.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace urbis::storage::sqlite {

struct BrokerStoreOptions {
  // Durability of each group commit: NORMAL survives kill -9, FULL also
  // survives power loss (one fsync per commit). See db.hpp.
  Synchronous synchronous = Synchronous::kNormal;
  // Queue and batch limits of the writer thread.
  WriterOptions writer;
};

class SqliteBrokerStore final : public urbis::mqtt::BrokerStore {
 public:
  // The file name inside the data directory.
  static constexpr const char* kFileName = "broker.db";
  // The newest schema version this build writes (docs/formats/storage.md).
  static int schema_version();

  // Opens or creates the database file at `path` (normally
  // <data_dir>/broker.db), migrates it to the current schema and starts the
  // writer. Fails when the file cannot be opened, is not a database, or was
  // written by a newer Urbis (schema version unknown to this build).
  static Result<std::unique_ptr<SqliteBrokerStore>> open(const std::string& path,
                                                          const BrokerStoreOptions& options = {});

  // Drains and commits every queued change, then closes the file.
  ~SqliteBrokerStore() override = default;

  // Reads a consistent snapshot of everything committed, in key order.
  // Subscriptions and queued messages of a client without a session record
  // are skipped. Call flush() first to include changes still queued.
  Result<urbis::mqtt::BrokerSnapshot> load() override;

  void put_retained(const urbis::mqtt::StoredMessage& msg) override;
  void erase_retained(const std::string& topic) override;
  void put_session(const urbis::mqtt::StoredSession& session) override;
  void erase_session(const std::string& client_id) override;
  void put_subscription(const std::string& client_id, const urbis::mqtt::StoredSubscription& sub) override;
  void erase_subscription(const std::string& client_id, const std::string& filter) override;
  void put_queued(const std::string& client_id, const urbis::mqtt::StoredQueuedMessage& m) override;
  void erase_queued(const std::string& client_id, uint64_t seq) override;

  Status flush() override;
  void when_durable(std::function<void(const Status&)> done) override;
  Status health() const override;

  // The writer, for statistics (batches, failures).
  const SqliteWriter& writer() const { return *writer_; }

 private:
  SqliteBrokerStore(std::string path, std::unique_ptr<SqliteWriter> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  std::string path_;
  std::unique_ptr<SqliteWriter> writer_;
};

}  // namespace urbis::storage::sqlite
