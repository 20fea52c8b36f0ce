#include "storage/sqlite/subscription_store_sqlite.hpp"

#include <iterator>

namespace urbis::storage::sqlite {

namespace {

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE subscriptions("
     "  tenant TEXT NOT NULL,"
     "  id TEXT NOT NULL,"
     "  document TEXT NOT NULL,"
     "  PRIMARY KEY(tenant, id)) WITHOUT ROWID;"},
};

}  // namespace

Result<std::unique_ptr<SqliteSubscriptionStore>> SqliteSubscriptionStore::open(const std::string& path,
                                                                             Synchronous synchronous) {
  DatabaseOptions dbo;
  dbo.synchronous = synchronous;
  Result<Database> db = Database::open(path, dbo);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(kMigrations); !s.ok()) return s;
  auto writer = std::make_unique<SqliteWriter>(std::move(db).value());
  return std::unique_ptr<SqliteSubscriptionStore>(new SqliteSubscriptionStore(path, std::move(writer)));
}

void SqliteSubscriptionStore::put(const std::string& tenant, const std::string& id, std::string document,
                                  Done done) {
  writer_->submit(
      [tenant, id, document = std::move(document)](Database& db) -> Status {
        auto st = db.cached("INSERT OR REPLACE INTO subscriptions(tenant, id, document) VALUES(?1, ?2, ?3)");
        if (!st.ok()) return st.status();
        Statement& s = **st;
        if (Status b = s.bind_text(1, tenant); !b.ok()) return b;
        if (Status b = s.bind_text(2, id); !b.ok()) return b;
        if (Status b = s.bind_text(3, document); !b.ok()) return b;
        return s.run();
      },
      std::move(done));
}

void SqliteSubscriptionStore::erase(const std::string& tenant, const std::string& id, Done done) {
  writer_->submit(
      [tenant, id](Database& db) -> Status {
        auto st = db.cached("DELETE FROM subscriptions WHERE tenant = ?1 AND id = ?2");
        if (!st.ok()) return st.status();
        Statement& s = **st;
        if (Status b = s.bind_text(1, tenant); !b.ok()) return b;
        if (Status b = s.bind_text(2, id); !b.ok()) return b;
        return s.run();
      },
      std::move(done));
}

Result<std::vector<ngsild::StoredSubscription>> SqliteSubscriptionStore::load() {
  std::vector<ngsild::StoredSubscription> out;
  if (path_ == ":memory:") return out;  // another connection would see another database
  DatabaseOptions ro;
  ro.create = false;
  ro.query_only = true;
  Result<Database> db = Database::open(path_, ro);
  if (!db.ok()) return db.status();
  Result<Statement> st = db->prepare("SELECT tenant, id, document FROM subscriptions ORDER BY tenant, id");
  if (!st.ok()) return st.status();
  while (true) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({st->column_text(0), st->column_text(1), st->column_text(2)});
  }
  return out;
}

Status SqliteSubscriptionStore::flush() { return writer_->flush(); }

}  // namespace urbis::storage::sqlite
