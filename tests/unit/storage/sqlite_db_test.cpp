// The SQLite layer: statements, transactions, schema migrations.
#include "testutil/temp_dir.hpp"
#include "storage/sqlite/db.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace urbis::storage::sqlite {
namespace {

// Files of this suite live under urbis-db-XXXXXX.
class TempDir : public testutil::TempDir {
 public:
  TempDir() : testutil::TempDir("urbis-db") {}
};

Database open_ok(const std::string& path, const DatabaseOptions& o = {}) {
  Result<Database> db = Database::open(path, o);
  EXPECT_TRUE(db.ok()) << db.status().message();
  return std::move(db).value();
}

int64_t count(Database& db, const std::string& table) {
  Result<Statement> st = db.prepare("SELECT COUNT(*) FROM " + table);
  EXPECT_TRUE(st.ok()) << st.status().message();
  Result<bool> row = st->step();
  EXPECT_TRUE(row.ok() && row.value());
  return st->column_int64(0);
}

std::string pragma(Database& db, const std::string& name) {
  Result<Statement> st = db.prepare("PRAGMA " + name);
  EXPECT_TRUE(st.ok());
  Result<bool> row = st->step();
  EXPECT_TRUE(row.ok() && row.value());
  return st->column_text(0);
}

TEST(SqliteDb, OpensInWalModeWithRequestedSync) {
  TempDir dir;
  Database normal = open_ok(dir.file("a.db"));
  EXPECT_EQ(pragma(normal, "journal_mode"), "wal");
  EXPECT_EQ(pragma(normal, "synchronous"), "1");  // NORMAL
  EXPECT_EQ(pragma(normal, "foreign_keys"), "1");

  DatabaseOptions full;
  full.synchronous = Synchronous::kFull;
  Database f = open_ok(dir.file("b.db"), full);
  EXPECT_EQ(pragma(f, "synchronous"), "2");  // FULL
}

TEST(SqliteDb, MissingFileWithoutCreateFails) {
  TempDir dir;
  DatabaseOptions o;
  o.create = false;
  Result<Database> db = Database::open(dir.file("missing.db"), o);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("missing.db"), std::string::npos) << db.status().message();
}

TEST(SqliteDb, ErrorsNameTheSqlAndSqliteMessage) {
  Database db = open_ok(":memory:");
  Status s = db.exec("SELEC 1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("SELEC 1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s.message();

  Result<Statement> st = db.prepare("SELECT nope FROM nowhere");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("nowhere"), std::string::npos) << st.status().message();
}

TEST(SqliteDb, BindStepColumnRoundTripIncludingEmptyAndBinary) {
  Database db = open_ok(":memory:");
  ASSERT_TRUE(db.exec("CREATE TABLE t(i INTEGER, s TEXT, b BLOB, n)").ok());
  Result<Statement*> ins = db.cached("INSERT INTO t VALUES(?1, ?2, ?3, ?4)");
  ASSERT_TRUE(ins.ok());
  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE((*ins)->bind(1, INT64_MIN).ok());
  ASSERT_TRUE((*ins)->bind_text(2, "héllo").ok());
  ASSERT_TRUE((*ins)->bind_blob(3, binary).ok());
  ASSERT_TRUE((*ins)->bind_null(4).ok());
  ASSERT_TRUE((*ins)->run().ok());
  // Reused from the cache: comes back with cleared bindings.
  Result<Statement*> again = db.cached("INSERT INTO t VALUES(?1, ?2, ?3, ?4)");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *ins);
  ASSERT_TRUE((*again)->bind(1, 7).ok());
  ASSERT_TRUE((*again)->bind_text(2, "").ok());
  ASSERT_TRUE((*again)->bind_blob(3, "").ok());
  ASSERT_TRUE((*again)->run().ok());

  Result<Statement> sel = db.prepare("SELECT i, s, b, n, b IS NULL FROM t ORDER BY rowid");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_int64(0), INT64_MIN);
  EXPECT_EQ(sel->column_text(1), "héllo");
  EXPECT_EQ(sel->column_blob(2), binary);
  EXPECT_TRUE(sel->column_is_null(3));
  ASSERT_TRUE(sel->step().value());
  EXPECT_EQ(sel->column_int64(0), 7);
  EXPECT_EQ(sel->column_text(1), "");
  EXPECT_EQ(sel->column_int64(4), 0) << "an empty blob must not be stored as NULL";
  EXPECT_TRUE(sel->column_is_null(3)) << "unbound parameters are NULL after a cache reset";
  EXPECT_FALSE(sel->step().value());
}

TEST(SqliteDb, TransactionRollsBackUnlessCommitted) {
  Database db = open_ok(":memory:");
  ASSERT_TRUE(db.exec("CREATE TABLE t(x)").ok());
  {
    Result<Transaction> tx = Transaction::begin(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.exec("INSERT INTO t VALUES(1)").ok());
    EXPECT_TRUE(db.in_transaction());
  }
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(count(db, "t"), 0);
  {
    Result<Transaction> tx = Transaction::begin(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.exec("INSERT INTO t VALUES(1)").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(count(db, "t"), 1);
}

const Migration kV1[] = {{1, "CREATE TABLE a(x INTEGER);"}};
const Migration kV2[] = {{1, "CREATE TABLE a(x INTEGER);"}, {2, "ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b(z);"}};

TEST(SqliteMigrations, FreshDatabaseGetsEveryStep) {
  TempDir dir;
  Database db = open_ok(dir.file("m.db"));
  EXPECT_EQ(db.schema_version().value(), 0);
  ASSERT_TRUE(db.migrate(kV2).ok());
  EXPECT_EQ(db.schema_version().value(), 2);
  EXPECT_TRUE(db.exec("INSERT INTO a(x, y) VALUES(1, 'one'); INSERT INTO b VALUES(2)").ok());
  EXPECT_EQ(count(db, "schema_version"), 2) << "one row per applied step";
}

TEST(SqliteMigrations, ReopenAppliesOnlyNewStepsAndKeepsData) {
  TempDir dir;
  {
    Database db = open_ok(dir.file("m.db"));
    ASSERT_TRUE(db.migrate(kV1).ok());
    ASSERT_TRUE(db.exec("INSERT INTO a(x) VALUES(41)").ok());
  }
  {
    Database db = open_ok(dir.file("m.db"));
    ASSERT_TRUE(db.migrate(kV1).ok()) << "same version: nothing to do";
    EXPECT_EQ(db.schema_version().value(), 1);
    Status up = db.migrate(kV2);
    ASSERT_TRUE(up.ok()) << up.message();
    EXPECT_EQ(db.schema_version().value(), 2);
    EXPECT_EQ(count(db, "a"), 1);
    EXPECT_TRUE(db.exec("UPDATE a SET y = 'kept' WHERE x = 41").ok());
  }
}

TEST(SqliteMigrations, NewerDatabaseIsRefusedUntouched) {
  TempDir dir;
  {
    Database db = open_ok(dir.file("m.db"));
    ASSERT_TRUE(db.migrate(kV2).ok());
  }
  Database db = open_ok(dir.file("m.db"));
  Status s = db.migrate(kV1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("newer"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("schema version 2"), std::string::npos) << s.message();
  EXPECT_EQ(db.schema_version().value(), 2);
}

TEST(SqliteMigrations, FailedStepLeavesPreviousVersionIntact) {
  TempDir dir;
  Database db = open_ok(dir.file("m.db"));
  const Migration broken[] = {{1, "CREATE TABLE a(x INTEGER);"},
                              {2, "CREATE TABLE c(x); CREATE TABLE a(duplicate);"}};
  Status s = db.migrate(broken);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.message();
  EXPECT_EQ(db.schema_version().value(), 1);
  EXPECT_FALSE(db.prepare("SELECT * FROM c").ok()) << "the half-applied step must be rolled back";
}

TEST(SqliteMigrations, UnorderedStepsAreRejected) {
  Database db = open_ok(":memory:");
  const Migration bad[] = {{2, "CREATE TABLE a(x);"}, {1, "CREATE TABLE b(x);"}};
  Status s = db.migrate(bad);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(db.schema_version().value(), 0);
}

}  // namespace
}  // namespace urbis::storage::sqlite
