#include "storage/sqlite/device_store_sqlite.hpp"

#include <boost/json.hpp>

#include "model/json_format.hpp"

namespace urbis::storage::sqlite {

namespace json = boost::json;
using devices::DeviceActivity;
using devices::DeviceState;
using devices::StoredDevice;

namespace {

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE devices("
     "  id TEXT PRIMARY KEY,"
     "  tenant TEXT NOT NULL,"
     "  name TEXT NOT NULL,"
     "  profile TEXT NOT NULL,"
     "  location TEXT,"
     "  tags TEXT NOT NULL,"
     "  state TEXT NOT NULL,"
     "  firmware TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  updated_ms INTEGER NOT NULL,"
     "  last_seen_ms INTEGER NOT NULL,"
     "  last_error TEXT NOT NULL,"
     "  last_error_ms INTEGER NOT NULL,"
     "  error_count INTEGER NOT NULL,"
     "  token_salt BLOB,"
     "  token_hash BLOB,"
     "  token_created_ms INTEGER NOT NULL,"
     "  certificate INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX devices_tenant ON devices(tenant, id);"},
};

constexpr const char* kColumns =
    "id, tenant, name, profile, location, tags, state, firmware, created_ms, updated_ms, last_seen_ms, "
    "last_error, last_error_ms, error_count, token_salt, token_hash, token_created_ms, certificate";

std::string tags_text(const std::vector<std::string>& tags) {
  json::array a;
  for (const auto& t : tags) a.emplace_back(json::string(t));
  return model::to_json(a);
}

Status bind_row(Statement& s, const StoredDevice& r) {
  const devices::Device& d = r.device;
  Status st;
  auto chain = [&](Status b) {
    if (st.ok()) st = std::move(b);
  };
  chain(s.bind_text(1, d.id));
  chain(s.bind_text(2, d.tenant));
  chain(s.bind_text(3, d.name));
  chain(s.bind_text(4, d.profile));
  chain(d.location ? s.bind_text(5, model::to_json(devices::point_to_json(*d.location))) : s.bind_null(5));
  chain(s.bind_text(6, tags_text(d.tags)));
  chain(s.bind_text(7, devices::state_name(d.state)));
  chain(s.bind_text(8, d.firmware));
  chain(s.bind(9, d.created_ms));
  chain(s.bind(10, d.updated_ms));
  chain(s.bind(11, d.last_seen_ms));
  chain(s.bind_text(12, d.last_error));
  chain(s.bind(13, d.last_error_ms));
  chain(s.bind(14, d.error_count));
  if (r.token.empty()) {
    chain(s.bind_null(15));
    chain(s.bind_null(16));
  } else {
    chain(s.bind_blob(15, r.token.salt));
    chain(s.bind_blob(16, r.token.hash));
  }
  chain(s.bind(17, d.token_created_ms));
  chain(s.bind(18, d.certificate ? 1 : 0));
  return st;
}

Result<StoredDevice> read_row(const Statement& s) {
  StoredDevice r;
  devices::Device& d = r.device;
  d.id = s.column_text(0);
  auto corrupt = [&](std::string_view what) {
    return Status(Code::kCorruption, "devices.db: device '" + d.id + "': " + std::string(what));
  };
  d.tenant = s.column_text(1);
  d.name = s.column_text(2);
  d.profile = s.column_text(3);
  if (!s.column_is_null(4)) {
    boost::system::error_code ec;
    json::value v = json::parse(s.column_text(4), ec);
    if (ec) return corrupt("location is not JSON");
    auto p = devices::parse_point(v, "location");
    if (!p.ok()) return corrupt(p.status().message());
    d.location = *p;
  }
  {
    boost::system::error_code ec;
    json::value v = json::parse(s.column_text(5), ec);
    if (ec || !v.is_array()) return corrupt("tags is not a JSON array");
    for (const auto& t : v.as_array()) {
      if (!t.is_string()) return corrupt("a tag is not a string");
      d.tags.emplace_back(t.as_string());
    }
  }
  auto state = devices::parse_state(s.column_text(6));
  if (!state) return corrupt("unknown state '" + s.column_text(6) + "'");
  d.state = *state;
  d.firmware = s.column_text(7);
  d.created_ms = s.column_int64(8);
  d.updated_ms = s.column_int64(9);
  d.last_seen_ms = s.column_int64(10);
  d.last_error = s.column_text(11);
  d.last_error_ms = s.column_int64(12);
  d.error_count = s.column_int64(13);
  if (!s.column_is_null(15)) {
    r.token.salt = s.column_blob(14);
    r.token.hash = s.column_blob(15);
    if (r.token.hash.size() != devices::kHashBytes) return corrupt("token_hash is not 32 bytes");
  }
  d.has_token = !r.token.empty();
  d.token_created_ms = s.column_int64(16);
  d.certificate = s.column_int64(17) != 0;
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteDeviceStore>> SqliteDeviceStore::open(const std::string& path, Synchronous synchronous) {
  DatabaseOptions dbo;
  dbo.synchronous = synchronous;
  Result<Database> db = Database::open(path, dbo);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(kMigrations); !s.ok()) return s;
  auto writer = std::make_unique<SqliteWriter>(std::move(db).value());
  return std::unique_ptr<SqliteDeviceStore>(new SqliteDeviceStore(path, std::move(writer)));
}

void SqliteDeviceStore::put(StoredDevice d, Done done) {
  writer_->submit(
      [d = std::move(d)](Database& db) -> Status {
        auto st = db.cached(std::string("INSERT OR REPLACE INTO devices(") + kColumns +
                            ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
        if (!st.ok()) return st.status();
        if (Status b = bind_row(**st, d); !b.ok()) return b;
        return (*st)->run();
      },
      std::move(done));
}

void SqliteDeviceStore::erase(const std::string& id, Done done) {
  writer_->submit(
      [id](Database& db) -> Status {
        auto st = db.cached("DELETE FROM devices WHERE id = ?1");
        if (!st.ok()) return st.status();
        if (Status b = (*st)->bind_text(1, id); !b.ok()) return b;
        return (*st)->run();
      },
      std::move(done));
}

bool SqliteDeviceStore::put_activity(std::vector<DeviceActivity> batch, Done done) {
  return writer_->try_submit(
      [batch = std::move(batch)](Database& db) -> Status {
        auto st = db.cached(
            "UPDATE devices SET state = ?2, last_seen_ms = ?3, last_error = ?4, last_error_ms = ?5, "
            "error_count = ?6 WHERE id = ?1");
        if (!st.ok()) return st.status();
        Statement& s = **st;
        for (const DeviceActivity& a : batch) {
          s.reset();
          for (Status b : {s.bind_text(1, a.id), s.bind_text(2, devices::state_name(a.state)),
                           s.bind(3, a.last_seen_ms), s.bind_text(4, a.last_error), s.bind(5, a.last_error_ms),
                           s.bind(6, a.error_count)}) {
            if (!b.ok()) return b;
          }
          if (Status r = s.run(); !r.ok()) return r;
        }
        return Status::Ok();
      },
      std::move(done));
}

Result<std::vector<StoredDevice>> SqliteDeviceStore::load() {
  std::vector<StoredDevice> out;
  if (path_ == ":memory:") return out;  // another connection would see another database
  DatabaseOptions ro;
  ro.create = false;
  ro.query_only = true;
  Result<Database> db = Database::open(path_, ro);
  if (!db.ok()) return db.status();
  Result<Statement> st = db->prepare(std::string("SELECT ") + kColumns + " FROM devices ORDER BY id");
  if (!st.ok()) return st.status();
  while (true) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto r = read_row(*st);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

Status SqliteDeviceStore::flush() { return writer_->flush(); }

}  // namespace urbis::storage::sqlite
