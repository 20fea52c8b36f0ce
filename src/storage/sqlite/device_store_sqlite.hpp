// SqliteDeviceStore: the device registry in <data_dir>/devices.db, one row per
// device (docs/formats/devices.md specifies the table; kMigrations in the .cpp
// is its source).
//
// Writes go through a SqliteWriter (group commit); `done` runs after the
// commit on the writer thread. put_activity() uses the writer's try_submit, so
// the I/O thread that notices activity is due never blocks on the disk.
// load() reads through its own connection.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "devices/registry/device_store.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace urbis::storage::sqlite {

class SqliteDeviceStore final : public devices::DeviceStore {
 public:
  static constexpr const char* kFileName = "devices.db";

  // Opens or creates the file at `path` and migrates it (":memory:" keeps
  // nothing, and load() then sees nothing). Fails when the file cannot be
  // opened or was written by a newer Urbis.
  static Result<std::unique_ptr<SqliteDeviceStore>> open(const std::string& path,
                                                         Synchronous synchronous = Synchronous::kNormal);
  // Commits every queued write, then closes the file.
  ~SqliteDeviceStore() override = default;

  void put(devices::StoredDevice d, Done done) override;
  void erase(const std::string& id, Done done) override;
  bool put_activity(std::vector<devices::DeviceActivity> batch, Done done) override;
  Result<std::vector<devices::StoredDevice>> load() override;
  Status flush() override;
  Status health() const { return writer_->health(); }

 private:
  SqliteDeviceStore(std::string path, std::unique_ptr<SqliteWriter> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}
  std::string path_;
  std::unique_ptr<SqliteWriter> writer_;
};

}  // namespace urbis::storage::sqlite
