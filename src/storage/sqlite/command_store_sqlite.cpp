#include "storage/sqlite/command_store_sqlite.hpp"

namespace urbis::storage::sqlite {

using devices::Command;
using devices::CommandPage;

namespace {

// A row keeps the columns the queries filter and sort on, and the whole
// command as its stored JSON document (devices::command_to_stored). The rowid
// is the creation order: an upsert keeps it.
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE commands("
     "  id TEXT NOT NULL UNIQUE,"
     "  device_id TEXT NOT NULL,"
     "  status TEXT NOT NULL,"
     "  status_ms INTEGER NOT NULL,"
     "  doc TEXT NOT NULL);"
     "CREATE INDEX commands_device ON commands(device_id);"
     "CREATE INDEX commands_status ON commands(status, status_ms);"
     "CREATE TABLE lorawan_routes("
     "  device_id TEXT PRIMARY KEY,"
     "  application_id TEXT NOT NULL) WITHOUT ROWID;"},
};

Result<Command> read_doc(const Statement& s, int col) { return devices::command_from_stored(s.column_text(col)); }

}  // namespace

Result<std::unique_ptr<SqliteCommandStore>> SqliteCommandStore::open(const std::string& path,
                                                                     Synchronous synchronous) {
  DatabaseOptions dbo;
  dbo.synchronous = synchronous;
  Result<Database> db = Database::open(path, dbo);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(kMigrations); !s.ok()) return s;
  auto writer = std::make_unique<SqliteWriter>(std::move(db).value());
  return std::unique_ptr<SqliteCommandStore>(new SqliteCommandStore(path, std::move(writer)));
}

void SqliteCommandStore::put(Command c, Done done) {
  writer_->submit(
      [c = std::move(c)](Database& db) -> Status {
        auto st = db.cached(
            "INSERT INTO commands(id, device_id, status, status_ms, doc) VALUES(?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT(id) DO UPDATE SET status = excluded.status, status_ms = excluded.status_ms, "
            "doc = excluded.doc");
        if (!st.ok()) return st.status();
        Statement& s = **st;
        for (Status b : {s.bind_text(1, c.id), s.bind_text(2, c.device_id),
                         s.bind_text(3, devices::command_status_name(c.status)), s.bind(4, c.status_ms),
                         s.bind_text(5, devices::command_to_stored(c))}) {
          if (!b.ok()) return b;
        }
        return s.run();
      },
      std::move(done));
}

void SqliteCommandStore::erase(const std::string& id, Done done) {
  writer_->submit(
      [id](Database& db) -> Status {
        auto st = db.cached("DELETE FROM commands WHERE id = ?1");
        if (!st.ok()) return st.status();
        if (Status b = (*st)->bind_text(1, id); !b.ok()) return b;
        return (*st)->run();
      },
      std::move(done));
}

void SqliteCommandStore::put_route(const std::string& device_id, const std::string& application_id, Done done) {
  writer_->submit(
      [device_id, application_id](Database& db) -> Status {
        auto st = db.cached("INSERT OR REPLACE INTO lorawan_routes(device_id, application_id) VALUES(?1, ?2)");
        if (!st.ok()) return st.status();
        for (Status b : {(*st)->bind_text(1, device_id), (*st)->bind_text(2, application_id)}) {
          if (!b.ok()) return b;
        }
        return (*st)->run();
      },
      std::move(done));
}

void SqliteCommandStore::prune(int64_t before_ms, Done done) {
  writer_->submit(
      [before_ms](Database& db) -> Status {
        auto st = db.cached("DELETE FROM commands WHERE status != 'queued' AND status_ms < ?1");
        if (!st.ok()) return st.status();
        if (Status b = (*st)->bind(1, before_ms); !b.ok()) return b;
        return (*st)->run();
      },
      std::move(done));
}

Result<Database*> SqliteCommandStore::reader() {
  if (!reader_) {
    DatabaseOptions ro;
    ro.create = false;
    ro.query_only = true;
    Result<Database> db = Database::open(path_, ro);
    if (!db.ok()) return db.status();
    reader_.emplace(std::move(db).value());
  }
  return &*reader_;
}

Result<std::vector<Command>> SqliteCommandStore::load_queued() {
  std::vector<Command> out;
  if (path_ == ":memory:") return out;
  std::lock_guard lock(read_mu_);
  auto db = reader();
  if (!db.ok()) return db.status();
  auto st = (*db)->cached("SELECT doc FROM commands WHERE status = 'queued' ORDER BY rowid");
  if (!st.ok()) return st.status();
  for (;;) {
    Result<bool> row = (*st)->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto c = read_doc(**st, 0);
    if (!c.ok()) return c.status();
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::map<std::string, std::string>> SqliteCommandStore::load_routes() {
  std::map<std::string, std::string> out;
  if (path_ == ":memory:") return out;
  std::lock_guard lock(read_mu_);
  auto db = reader();
  if (!db.ok()) return db.status();
  auto st = (*db)->cached("SELECT device_id, application_id FROM lorawan_routes");
  if (!st.ok()) return st.status();
  for (;;) {
    Result<bool> row = (*st)->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out[(*st)->column_text(0)] = (*st)->column_text(1);
  }
  return out;
}

Result<std::optional<Command>> SqliteCommandStore::get(const std::string& id) {
  if (path_ == ":memory:") return std::optional<Command>();
  std::lock_guard lock(read_mu_);
  auto db = reader();
  if (!db.ok()) return db.status();
  auto st = (*db)->cached("SELECT doc FROM commands WHERE id = ?1");
  if (!st.ok()) return st.status();
  if (Status b = (*st)->bind_text(1, id); !b.ok()) return b;
  Result<bool> row = (*st)->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Command>();
  auto c = read_doc(**st, 0);
  (*st)->reset();  // releases the read snapshot
  if (!c.ok()) return c.status();
  return std::optional<Command>(std::move(*c));
}

Result<CommandPage> SqliteCommandStore::list(const std::string& device_id, size_t offset, size_t limit) {
  CommandPage page;
  if (path_ == ":memory:") return page;
  std::lock_guard lock(read_mu_);
  auto db = reader();
  if (!db.ok()) return db.status();
  // One read transaction, so the count and the page agree.
  if (Status b = (*db)->exec("BEGIN"); !b.ok()) return b;
  struct Rollback {
    Database* db;
    ~Rollback() { (void)db->exec("ROLLBACK"); }
  } rollback{*db};
  {
    auto st = (*db)->cached("SELECT count(*) FROM commands WHERE device_id = ?1");
    if (!st.ok()) return st.status();
    if (Status b = (*st)->bind_text(1, device_id); !b.ok()) return b;
    Result<bool> row = (*st)->step();
    if (!row.ok()) return row.status();
    page.total = *row ? static_cast<size_t>((*st)->column_int64(0)) : 0;
    (*st)->reset();
  }
  auto st = (*db)->cached("SELECT doc FROM commands WHERE device_id = ?1 ORDER BY rowid DESC LIMIT ?2 OFFSET ?3");
  if (!st.ok()) return st.status();
  for (Status b : {(*st)->bind_text(1, device_id), (*st)->bind(2, static_cast<int64_t>(limit)),
                   (*st)->bind(3, static_cast<int64_t>(offset))}) {
    if (!b.ok()) return b;
  }
  for (;;) {
    Result<bool> row = (*st)->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto c = read_doc(**st, 0);
    if (!c.ok()) return c.status();
    page.items.push_back(std::move(*c));
  }
  return page;
}

Status SqliteCommandStore::flush() { return writer_->flush(); }

}  // namespace urbis::storage::sqlite
