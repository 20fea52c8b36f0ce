#include "storage/sqlite/db.hpp"

#include <fmt/format.h>

#include <utility>

namespace urbis::storage::sqlite {

Code code_from_sqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Code::kOk;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return Code::kResourceExhausted;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Code::kUnavailable;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Code::kIoError;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Code::kPermissionDenied;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Code::kCorruption;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return Code::kInvalidArgument;
    default:
      return Code::kInternal;
  }
}

namespace {

Status make_error(sqlite3* db, int rc, std::string_view sql) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return {code_from_sqlite(rc), fmt::format("sqlite: {} ({}) in `{}`", msg, rc, sql)};
}

}  // namespace

// ---------------------------------------------------------------- Statement

Statement::Statement(Statement&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), stmt_(std::exchange(o.stmt_, nullptr)), sql_(std::move(o.sql_)) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = std::exchange(o.db_, nullptr);
    stmt_ = std::exchange(o.stmt_, nullptr);
    sql_ = std::move(o.sql_);
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Status Statement::error(int rc, std::string_view what) const {
  Status s = make_error(db_, rc, sql_);
  if (what.empty()) return s;
  return {s.code(), fmt::format("{} ({})", s.message(), what)};
}

Status Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  return rc == SQLITE_OK ? Status() : error(rc, fmt::format("bind #{}", index));
}

Status Statement::bind_text(int index, std::string_view value) {
  // A non-null pointer even for "": a null pointer would bind NULL.
  int rc = sqlite3_bind_text64(stmt_, index, value.empty() ? "" : value.data(), value.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  return rc == SQLITE_OK ? Status() : error(rc, fmt::format("bind #{}", index));
}

Status Statement::bind_blob(int index, std::string_view bytes) {
  int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                         : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? Status() : error(rc, fmt::format("bind #{}", index));
}

Status Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  return rc == SQLITE_OK ? Status() : error(rc, fmt::format("bind #{}", index));
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  // Reset at once so a finished or failed statement holds no lock and no
  // half-open read transaction; bindings are kept for a rerun.
  sqlite3_reset(stmt_);
  if (rc == SQLITE_DONE) return false;
  return error(rc, {});
}

Status Statement::run() {
  for (;;) {
    Result<bool> r = step();
    if (!r.ok()) return r.status();
    if (!r.value()) return {};
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Statement::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Statement::column_text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);  // after the pointer: the conversion may change it
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::string Statement::column_blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

// ---------------------------------------------------------------- Database

Result<Database> Database::open(const std::string& path, const DatabaseOptions& options) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s{code_from_sqlite(rc), fmt::format("sqlite: cannot open {}: {} ({})", path,
                                               raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc), rc)};
    sqlite3_close_v2(raw);  // a handle is returned even on most failures
    return s;
  }
  Database db(raw, path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));

  // journal_mode answers with the mode in force; anything other than "wal"
  // on a file database means WAL is unavailable (e.g. a network filesystem).
  {
    Result<Statement> st = db.prepare("PRAGMA journal_mode=WAL");
    if (!st.ok()) return st.status();
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    std::string mode = row.value() ? st->column_text(0) : std::string();
    st->reset();
    if (mode != "wal" && mode != "memory") {
      return Status{Code::kIoError,
                    fmt::format("sqlite: {} cannot use WAL journal mode (got '{}')", path, mode)};
    }
  }
  const char* sync = options.synchronous == Synchronous::kFull ? "PRAGMA synchronous=FULL"
                                                               : "PRAGMA synchronous=NORMAL";
  if (Status s = db.exec(sync); !s.ok()) return s;
  if (Status s = db.exec("PRAGMA foreign_keys=ON"); !s.ok()) return s;
  if (options.query_only) {
    if (Status s = db.exec("PRAGMA query_only=ON"); !s.ok()) return s;
  }
  return db;
}

Database::Database(Database&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    close();
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    cache_ = std::move(o.cache_);
  }
  return *this;
}

Database::~Database() { close(); }

void Database::close() {
  cache_.clear();  // statements must be finalised before the connection closes
  if (db_ != nullptr) {
    // close_v2 defers the close if something is still open instead of failing.
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status Database::error(int rc, std::string_view sql) const { return make_error(db_, rc, sql); }

Status Database::exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg);
  if (rc == SQLITE_OK) return {};
  std::string m = msg != nullptr ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return {code_from_sqlite(rc), fmt::format("sqlite: {} ({}) in `{}`", m, rc, sql)};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(rc, sql);
  }
  if (stmt == nullptr) return Status{Code::kInvalidArgument, fmt::format("sqlite: empty statement `{}`", sql)};
  return Statement(db_, stmt, std::string(sql));
}

Result<Statement*> Database::cached(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    Result<Statement> st = prepare(sql);
    if (!st.ok()) return st.status();
    it = cache_.emplace(std::move(key), std::make_unique<Statement>(std::move(st).value())).first;
  } else {
    it->second->reset();
  }
  return it->second.get();
}

bool Database::in_transaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

int64_t Database::changes() const { return sqlite3_changes64(db_); }

// ---------------------------------------------------------------- migrations

namespace {
constexpr std::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version("
    "version INTEGER PRIMARY KEY, applied_unix_ms INTEGER NOT NULL)";
}  // namespace

Result<int> Database::schema_version() {
  // The table may not exist yet (fresh file): that is version 0.
  Result<Statement> exists =
      prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'");
  if (!exists.ok()) return exists.status();
  Result<bool> has = exists->step();
  if (!has.ok()) return has.status();
  if (!has.value()) return 0;
  exists->reset();
  Result<Statement> st = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!st.ok()) return st.status();
  Result<bool> row = st->step();
  if (!row.ok()) return row.status();
  int v = row.value() ? static_cast<int>(st->column_int64(0)) : 0;
  st->reset();
  return v;
}

Status Database::migrate(std::span<const Migration> steps) {
  int newest = 0;
  for (const Migration& m : steps) {
    if (m.version <= newest) {
      return InvalidArgument(fmt::format("sqlite: migration steps for {} are not strictly increasing at version {}",
                                         path_, m.version));
    }
    newest = m.version;
  }
  if (Status s = exec(kCreateVersionTable); !s.ok()) return s;

  for (const Migration& m : steps) {
    // The version is re-read inside the write transaction: another process
    // migrating the same file at the same time then sees our step as done.
    Result<Transaction> tx = Transaction::begin(*this, Transaction::Mode::kImmediate);
    if (!tx.ok()) return tx.status();
    Result<int> current = schema_version();
    if (!current.ok()) return current.status();
    if (current.value() > newest) {
      return InvalidArgument(fmt::format(
          "sqlite: {} has schema version {}, newer than this build of urbis knows ({}); "
          "run a newer urbis or restore a backup made by this version",
          path_, current.value(), newest));
    }
    if (m.version <= current.value()) continue;  // already applied; tx rolls back (nothing done)
    if (Status s = exec(m.sql); !s.ok()) {
      return {s.code(), fmt::format("migration to schema version {} of {} failed: {}", m.version, path_,
                                    s.message())};
    }
    Result<Statement> ins = prepare(
        "INSERT INTO schema_version(version, applied_unix_ms) "
        "VALUES(?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
    if (!ins.ok()) return ins.status();
    if (Status s = ins->bind(1, m.version); !s.ok()) return s;
    if (Status s = ins->run(); !s.ok()) return s;
    if (Status s = tx->commit(); !s.ok()) return s;
  }
  // With no steps pending the loop never checks; a newer file must still be refused.
  Result<int> final_version = schema_version();
  if (!final_version.ok()) return final_version.status();
  if (final_version.value() > newest) {
    return InvalidArgument(fmt::format(
        "sqlite: {} has schema version {}, newer than this build of urbis knows ({}); "
        "run a newer urbis or restore a backup made by this version",
        path_, final_version.value(), newest));
  }
  return {};
}

// ---------------------------------------------------------------- Transaction

Result<Transaction> Transaction::begin(Database& db, Mode mode) {
  Result<Statement*> st = db.cached(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!st.ok()) return st.status();
  if (Status s = (*st)->run(); !s.ok()) return s;
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)rollback();
}

Status Transaction::commit() {
  if (db_ == nullptr) return Internal("sqlite: commit of a finished transaction");
  Database* db = db_;
  Result<Statement*> st = db->cached("COMMIT");
  if (!st.ok()) return st.status();
  Status s = (*st)->run();
  // A failed COMMIT (e.g. SQLITE_FULL) leaves the transaction open: the
  // destructor / rollback() must still end it.
  if (s.ok()) db_ = nullptr;
  return s;
}

Status Transaction::rollback() {
  if (db_ == nullptr) return {};
  Database* db = std::exchange(db_, nullptr);
  // SQLite may already have rolled back by itself after an I/O or full-disk
  // error; a second ROLLBACK would only fail with "no transaction is active".
  if (!db->in_transaction()) return {};
  Result<Statement*> st = db->cached("ROLLBACK");
  if (!st.ok()) return st.status();
  return (*st)->run();
}

}  // namespace urbis::storage::sqlite
