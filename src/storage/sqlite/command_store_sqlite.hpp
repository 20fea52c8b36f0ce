// SqliteCommandStore: downlink commands in <data_dir>/commands.db
// (docs/formats/devices.md, "commands.db", specifies the tables; kMigrations
// in the .cpp is their source).
//
// Writes go through a SqliteWriter (group commit); `done` runs after the
// commit on the writer thread. Reads use one read-only connection of their
// own (WAL: they see the last commit and never wait for the writer), guarded
// by a mutex. With ":memory:" nothing is kept and reads see nothing (another
// connection would open another database): tests use a file.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "devices/commands/command_store.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace urbis::storage::sqlite {

class SqliteCommandStore final : public devices::CommandStore {
 public:
  static constexpr const char* kFileName = "commands.db";

  // Opens or creates the file at `path` and migrates it. Fails when the file
  // cannot be opened or was written by a newer Urbis.
  static Result<std::unique_ptr<SqliteCommandStore>> open(const std::string& path,
                                                          Synchronous synchronous = Synchronous::kNormal);
  // Commits every queued write, then closes the file.
  ~SqliteCommandStore() override = default;

  void put(devices::Command c, Done done) override;
  void erase(const std::string& id, Done done) override;
  void put_route(const std::string& device_id, const std::string& application_id, Done done) override;
  void prune(int64_t before_ms, Done done) override;
  Result<std::vector<devices::Command>> load_queued() override;
  Result<std::map<std::string, std::string>> load_routes() override;
  Result<std::optional<devices::Command>> get(const std::string& id) override;
  Result<devices::CommandPage> list(const std::string& device_id, size_t offset, size_t limit) override;
  Status flush() override;
  Status health() const { return writer_->health(); }

 private:
  SqliteCommandStore(std::string path, std::unique_ptr<SqliteWriter> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}
  // The read connection, opened on first use. REQUIRES: read_mu_ held.
  Result<Database*> reader();

  const std::string path_;
  std::unique_ptr<SqliteWriter> writer_;
  std::mutex read_mu_;
  std::optional<Database> reader_;  // guarded by read_mu_
};

}  // namespace urbis::storage::sqlite
