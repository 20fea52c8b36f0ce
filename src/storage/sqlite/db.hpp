// A small RAII layer over the SQLite C API, shared by every SQLite-backed store
// (broker state now; entity state and time series later).
//
// Three types:
//   Database    - one connection, opened in WAL mode with the pragmas we rely on;
//                 owns a cache of prepared statements keyed by SQL text.
//   Statement   - a prepared statement with bind/step/column helpers.
//   Transaction - BEGIN on construction, ROLLBACK on destruction unless committed.
// Plus versioned forward migrations (migrate()), recorded in a `schema_version`
// table in the same database.
//
// Every failure is a Status whose message names the SQL that failed and
// SQLite's own message, so a log line is enough to find the cause.
//
// Thread-safety: none of these types is thread-safe. A Database and its
// statements must be used by one thread at a time (the connection is opened
// with SQLITE_OPEN_NOMUTEX). SqliteWriter (writer.hpp) gives one thread
// ownership of the write connection; readers open their own connection.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.hpp"

namespace urbis::storage::sqlite {

// How hard a commit pushes data to the disk (PRAGMA synchronous).
enum class Synchronous {
  // In WAL mode: a commit survives a process crash (kill -9) but the last
  // commits before a power loss / kernel crash may be lost. The database is
  // never corrupted either way. Much faster: the WAL is fsynced at checkpoints
  // only.
  kNormal,
  // Every commit fsyncs the WAL: survives power loss, costs one fsync per
  // (group) commit.
  kFull,
};

struct DatabaseOptions {
  // Durability of commits; see Synchronous. Default favours throughput while
  // keeping the promise "kill -9 loses no acknowledged data".
  Synchronous synchronous = Synchronous::kNormal;
  // How long a statement waits for a lock held by another connection (e.g. a
  // reader during a checkpoint) before failing with a kUnavailable status.
  std::chrono::milliseconds busy_timeout{5000};
  // Create the file when missing. When false, opening a missing file fails.
  bool create = true;
  // Refuse writes on this connection (PRAGMA query_only); for readers.
  bool query_only = false;
};

// Maps an SQLite result code (primary or extended) to our error Code.
Code code_from_sqlite(int rc);

class Database;

// A prepared statement. Move-only; finalised on destruction.
// Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binders. Text and blobs are copied by SQLite (SQLITE_TRANSIENT), so the
  // argument need not outlive the call. bind_blob of an empty span binds a
  // zero-length blob, not NULL.
  Status bind(int index, int64_t value);
  Status bind_text(int index, std::string_view value);
  Status bind_blob(int index, std::string_view bytes);
  Status bind_null(int index);

  // Advances the statement. Returns true when a row is available, false when
  // the statement has finished (it is then reset, releasing its read lock, and
  // may be stepped again from the start with the same bindings).
  Result<bool> step();
  // Steps a statement that returns no rows to completion; resets it afterwards.
  Status run();
  // Resets the statement and clears its bindings, ready for reuse.
  void reset();

  // Column readers; REQUIRES: the last step() returned true.
  int64_t column_int64(int col) const;
  bool column_is_null(int col) const;
  std::string column_text(int col) const;  // NULL reads as ""
  std::string column_blob(int col) const;  // NULL reads as ""

  const std::string& sql() const { return sql_; }
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql) : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  Status error(int rc, std::string_view what) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// One forward migration step: applied when the database's version is below
// `version`. Steps must be listed in strictly increasing version order.
struct Migration {
  int version;
  std::string_view sql;  // may hold several statements
};

class Database {
 public:
  // Opens (or creates) the database at `path` and applies the pragmas:
  // journal_mode=WAL, synchronous, busy_timeout, foreign_keys=ON.
  // ":memory:" works for tests (journal mode then stays "memory").
  static Result<Database> open(const std::string& path, const DatabaseOptions& options = {});

  Database(Database&& o) noexcept;
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows (DDL, pragmas, BEGIN...).
  Status exec(std::string_view sql);

  // A statement prepared once per connection and reused: the returned
  // reference stays valid for the life of this Database. It comes back reset
  // with its bindings cleared. Use for every statement run repeatedly; the
  // cache is keyed by the SQL text.
  Result<Statement*> cached(std::string_view sql);

  // A one-off statement owned by the caller.
  Result<Statement> prepare(std::string_view sql);

  // Brings the schema to the newest version in `steps`. Each pending step runs
  // in its own IMMEDIATE transaction together with the row recording it in
  // `schema_version`, so a crash mid-migration leaves the previous version
  // intact. Fails with kInvalidArgument, changing nothing, when the steps are
  // not strictly increasing or when the database's version is greater than the
  // newest step (a file written by a newer Urbis: never guess at its layout).
  Status migrate(std::span<const Migration> steps);

  // The schema version recorded in the database; 0 when none was ever applied.
  Result<int> schema_version();

  // True while a transaction is open on this connection.
  bool in_transaction() const;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // An error Status for `rc` naming `sql` and this connection's message.
  Status error(int rc, std::string_view sql) const;

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void close();

  sqlite3* db_ = nullptr;
  std::string path_;
  // Keyed by SQL text; unique_ptr keeps Statement addresses stable on rehash.
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN ... COMMIT scope. Rolls back on destruction unless commit() succeeded.
// A failed statement inside a transaction may already have made SQLite roll
// it back (SQLITE_FULL, SQLITE_IOERR...); the destructor copes with that.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  // IMMEDIATE takes the write lock at once, so a writer never fails halfway
  // through with SQLITE_BUSY on lock upgrade.
  static Result<Transaction> begin(Database& db, Mode mode = Mode::kImmediate);

  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  Status commit();
  // Explicit rollback; the destructor does this too, ignoring the result.
  Status rollback();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed or rolled back
};

}  // namespace urbis::storage::sqlite
