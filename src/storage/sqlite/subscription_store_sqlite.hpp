// SqliteSubscriptionStore: NGSI-LD subscriptions in <data_dir>/subscriptions.db,
// one row per (tenant, id) holding the subscription's stored JSON document
// (ngsild/subscriptions/subscription.hpp, subscription_to_stored()).
//
// Writes go through a SqliteWriter (group commit); `done` runs after the
// commit on the writer thread. load() reads through its own connection.
//
// Table (schema version 1; kMigrations in the .cpp is the source):
//   subscriptions(tenant TEXT, id TEXT, document TEXT, PRIMARY KEY(tenant, id))
// The document is self-describing JSON; new members may be added without a
// schema change (readers ignore members they do not know).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "ngsild/subscriptions/subscription_store.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace urbis::storage::sqlite {

class SqliteSubscriptionStore final : public ngsild::SubscriptionStore {
 public:
  static constexpr const char* kFileName = "subscriptions.db";

  // Opens or creates the file at `path` (":memory:" for tests keeps nothing
  // and load() then sees nothing) and migrates it. Fails when the file cannot
  // be opened or was written by a newer Urbis.
  static Result<std::unique_ptr<SqliteSubscriptionStore>> open(const std::string& path,
                                                               Synchronous synchronous = Synchronous::kNormal);
  // Commits every queued write, then closes the file.
  ~SqliteSubscriptionStore() override = default;

  void put(const std::string& tenant, const std::string& id, std::string document, Done done) override;
  void erase(const std::string& tenant, const std::string& id, Done done) override;
  Result<std::vector<ngsild::StoredSubscription>> load() override;
  Status flush() override;

 private:
  SqliteSubscriptionStore(std::string path, std::unique_ptr<SqliteWriter> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}
  std::string path_;
  std::unique_ptr<SqliteWriter> writer_;
};

}  // namespace urbis::storage::sqlite
