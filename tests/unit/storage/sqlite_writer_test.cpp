// SqliteWriter: ordering, group commit, completion status, flush, failures.
#include "testutil/temp_dir.hpp"
#include "storage/sqlite/writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace urbis::storage::sqlite {
namespace {

// Files of this suite live under urbis-writer-XXXXXX.
class TempDir : public testutil::TempDir {
 public:
  TempDir() : testutil::TempDir("urbis-writer") {}
};

class SqliteWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("w.db");
    Result<Database> db = Database::open(path_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE(db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v INTEGER, b BLOB)").ok());
    db_ = std::make_unique<Database>(std::move(db).value());
  }

  std::unique_ptr<SqliteWriter> make_writer(WriterOptions o = {}) {
    return std::make_unique<SqliteWriter>(std::move(*db_), o);
  }

  // Rows of t as seen by an independent connection: only committed data.
  std::vector<int64_t> committed_values() {
    Result<Database> db = Database::open(path_);
    EXPECT_TRUE(db.ok());
    Result<Statement> st = db->prepare("SELECT v FROM t ORDER BY id");
    EXPECT_TRUE(st.ok());
    std::vector<int64_t> out;
    while (st->step().value()) out.push_back(st->column_int64(0));
    return out;
  }

  static SqliteWriter::Work insert(int64_t v) {
    return [v](Database& db) -> Status {
      Result<Statement*> st = db.cached("INSERT INTO t(v) VALUES(?1)");
      if (!st.ok()) return st.status();
      if (Status s = (*st)->bind(1, v); !s.ok()) return s;
      return (*st)->run();
    };
  }

  // Occupies the writer thread until release() so that later submissions
  // pile up in the queue and form one batch.
  // The item may run twice (the writer reruns a failed batch), hence the flag.
  struct Gate {
    std::promise<void> started, go;
    std::shared_future<void> go_f = go.get_future().share();
    std::atomic<bool> signalled{false};
    void submit_to(SqliteWriter& w) {
      w.submit([this](Database&) {
        if (!signalled.exchange(true)) started.set_value();
        go_f.wait();
        return Status();
      });
      started.get_future().wait();
    }
    void release() { go.set_value(); }
  };

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Database> db_;
};

// Counts real COMMITs on the writer's connection (installed from inside a work
// item, since the writer owns the connection).
int count_commit(void* counter) {
  static_cast<std::atomic<int>*>(counter)->fetch_add(1);
  return 0;  // 0 = let the commit proceed
}

TEST_F(SqliteWriterTest, AppliesAndCompletesInSubmissionOrder) {
  auto w = make_writer();
  std::mutex mu;
  std::vector<int> completed;
  for (int i = 0; i < 500; ++i) {
    w->submit(insert(i), [&, i](const Status& s) {
      EXPECT_TRUE(s.ok()) << s.message();
      std::lock_guard lock(mu);
      completed.push_back(i);
    });
  }
  ASSERT_TRUE(w->flush().ok());
  std::vector<int64_t> expected;
  for (int i = 0; i < 500; ++i) expected.push_back(i);
  EXPECT_EQ(committed_values(), expected);
  std::lock_guard lock(mu);
  EXPECT_EQ(std::vector<int64_t>(completed.begin(), completed.end()), expected);
}

TEST_F(SqliteWriterTest, FlushMakesEverythingSubmittedBeforeItVisible) {
  auto w = make_writer();
  for (int i = 0; i < 50; ++i) w->submit(insert(i));
  ASSERT_TRUE(w->flush().ok());
  EXPECT_EQ(committed_values().size(), 50u);
  EXPECT_TRUE(w->health().ok());
}

TEST_F(SqliteWriterTest, QueuedItemsShareOneTransaction) {
  WriterOptions o;
  o.max_batch_delay = std::chrono::microseconds(0);
  std::atomic<int> commits{0};  // outlives w, whose connection holds the hook
  auto w = make_writer(o);
  w->submit([&commits](Database& db) {
    sqlite3_commit_hook(db.handle(), count_commit, &commits);
    return Status();
  });
  ASSERT_TRUE(w->flush().ok());
  commits = 0;

  Gate gate;
  gate.submit_to(*w);
  for (int i = 0; i < 1000; ++i) w->submit(insert(i));
  gate.release();
  ASSERT_TRUE(w->flush().ok());
  EXPECT_EQ(committed_values().size(), 1000u);
  // The gate's batch, the 1000 inserts (plus maybe the flush marker), maybe the
  // marker alone: without group commit this would be 1000+ commits.
  EXPECT_LE(commits.load(), 3);
  EXPECT_GE(commits.load(), 1);
}

TEST_F(SqliteWriterTest, BatchesAreCappedAtMaxBatch) {
  WriterOptions o;
  o.max_batch = 10;
  o.max_batch_delay = std::chrono::microseconds(0);
  Gate gate;  // outlives the writer, whose thread runs the gate's item
  auto w = make_writer(o);
  gate.submit_to(*w);
  for (int i = 0; i < 100; ++i) w->submit(insert(i));
  gate.release();
  ASSERT_TRUE(w->flush().ok());
  WriterStats st = w->stats();
  EXPECT_GE(st.batches_committed, 11u);  // gate + at least 100/10
  EXPECT_EQ(committed_values().size(), 100u);
}

TEST_F(SqliteWriterTest, FailingItemFailsAloneAndHealthRecovers) {
  Gate gate;  // outlives the writer, whose thread runs the gate's item
  auto w = make_writer();
  gate.submit_to(*w);
  std::vector<Status> seen(3);
  w->submit(insert(1), [&](const Status& s) { seen[0] = s; });
  w->submit(
      [](Database& db) -> Status {
        // Writes, then fails: its write must be undone, not committed.
        if (Status s = db.exec("INSERT INTO t(v) VALUES(666)"); !s.ok()) return s;
        return IoError("simulated failure");
      },
      [&](const Status& s) { seen[1] = s; });
  w->submit(insert(3), [&](const Status& s) { seen[2] = s; });
  gate.release();
  Status f = w->flush();
  EXPECT_FALSE(f.ok()) << "flush must report the lost write";
  EXPECT_NE(f.message().find("simulated failure"), std::string::npos) << f.message();
  EXPECT_TRUE(seen[0].ok()) << seen[0].message();
  EXPECT_EQ(seen[1].code(), Code::kIoError);
  EXPECT_TRUE(seen[2].ok()) << seen[2].message();
  EXPECT_EQ(committed_values(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(w->health().code(), Code::kIoError);
  EXPECT_EQ(w->stats().items_failed, 1u);

  EXPECT_TRUE(w->flush().ok()) << "the failure was reported once already";
  w->submit(insert(4));
  ASSERT_TRUE(w->flush().ok());
  EXPECT_TRUE(w->health().ok()) << "a later successful batch restores health";
}

TEST_F(SqliteWriterTest, WorkItemThatThrowsDoesNotKillTheWriter) {
  auto w = make_writer();
  Status seen;
  w->submit([](Database&) -> Status { throw std::runtime_error("boom"); }, [&](const Status& s) { seen = s; });
  EXPECT_FALSE(w->flush().ok());
  EXPECT_NE(seen.message().find("boom"), std::string::npos) << seen.message();
  w->submit(insert(1));
  EXPECT_TRUE(w->flush().ok());
  EXPECT_EQ(committed_values(), (std::vector<int64_t>{1}));
}

TEST_F(SqliteWriterTest, FullDiskFailsTheBatchAndRecoversWhenSpaceReturns) {
  auto w = make_writer();
  // Simulate a full disk: cap the file at its current size.
  w->submit([](Database& db) {
    return db.exec("INSERT INTO t(v) VALUES(0); PRAGMA max_page_count = 1;");
  });
  ASSERT_TRUE(w->flush().ok());

  std::vector<Status> seen(2);
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 2; ++i) {
    w->submit(
        [big, i](Database& db) -> Status {
          Result<Statement*> st = db.cached("INSERT INTO t(v, b) VALUES(?1, ?2)");
          if (!st.ok()) return st.status();
          if (Status s = (*st)->bind(1, 100 + i); !s.ok()) return s;
          if (Status s = (*st)->bind_blob(2, big); !s.ok()) return s;
          return (*st)->run();
        },
        [&seen, i](const Status& s) { seen[i] = s; });
  }
  Status f = w->flush();
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(seen[0].code(), Code::kResourceExhausted) << seen[0].message();
  EXPECT_EQ(seen[1].code(), Code::kResourceExhausted) << seen[1].message();
  EXPECT_NE(seen[0].message().find("INSERT INTO t"), std::string::npos) << seen[0].message();
  EXPECT_EQ(w->health().code(), Code::kResourceExhausted);
  EXPECT_EQ(committed_values(), (std::vector<int64_t>{0}));

  // Space comes back: the writer keeps going and reports healthy again.
  w->submit([](Database& db) { return db.exec("PRAGMA max_page_count = 1073741823"); });
  w->submit(insert(7));
  ASSERT_TRUE(w->flush().ok());
  EXPECT_TRUE(w->health().ok()) << w->health().message();
  EXPECT_EQ(committed_values(), (std::vector<int64_t>{0, 7}));
}

TEST_F(SqliteWriterTest, FullQueueRefusesTrySubmitAndBlocksSubmit) {
  WriterOptions o;
  o.queue_capacity = 2;
  Gate gate;  // outlives the writer, whose thread runs the gate's item
  auto w = make_writer(o);
  gate.submit_to(*w);
  EXPECT_TRUE(w->try_submit(insert(1)));
  EXPECT_TRUE(w->try_submit(insert(2)));
  EXPECT_FALSE(w->try_submit(insert(3))) << "queue is at capacity";

  std::atomic<bool> returned{false};
  std::thread producer([&] {
    w->submit(insert(4));
    returned = true;
  });
  // The producer can only finish after the writer drains the queue.
  gate.release();
  producer.join();
  EXPECT_TRUE(returned);
  ASSERT_TRUE(w->flush().ok());
  EXPECT_EQ(committed_values(), (std::vector<int64_t>{1, 2, 4}));
}

TEST_F(SqliteWriterTest, DestructorCommitsEverythingQueued) {
  {
    Gate gate;  // outlives the writer, whose thread runs the gate's item
    auto w = make_writer();
    gate.submit_to(*w);
    for (int i = 0; i < 200; ++i) w->submit(insert(i));
    gate.release();
  }  // no flush
  EXPECT_EQ(committed_values().size(), 200u);
}

TEST_F(SqliteWriterTest, ManyProducersLoseNothing) {
  auto w = make_writer();
  std::vector<std::thread> producers;
  std::atomic<int> ok_callbacks{0};
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < 250; ++i) {
        w->submit(insert(p * 1000 + i), [&](const Status& s) {
          if (s.ok()) ok_callbacks.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(w->flush().ok());
  EXPECT_EQ(ok_callbacks.load(), 1000);
  EXPECT_EQ(committed_values().size(), 1000u);
}

// Checkpoints run beside the writer and the WAL starts over under steady
// writes, so it stays near the threshold instead of growing without bound.
class SqliteWriterCheckpointTest : public SqliteWriterTest {
 protected:
  static SqliteWriter::Work insert_blob(int64_t v) {
    return [v](Database& db) -> Status {
      Result<Statement*> st = db.cached("INSERT INTO t(v, b) VALUES(?1, ?2)");
      if (!st.ok()) return st.status();
      if (Status s = (*st)->bind(1, v); !s.ok()) return s;
      if (Status s = (*st)->bind_blob(2, std::string(2000, 'x')); !s.ok()) return s;
      return (*st)->run();
    };
  }
  uintmax_t wal_bytes() const {
    std::error_code ec;
    uintmax_t n = std::filesystem::file_size(path_ + "-wal", ec);
    return ec ? 0 : n;
  }
};

TEST_F(SqliteWriterCheckpointTest, WalStaysBoundedUnderSteadyWrites) {
  WriterOptions o;
  o.checkpoint_pages = 16;
  auto w = make_writer(o);
  constexpr int kRows = 3000;  // ~6 MB of rows: an unchecked WAL would hold all of it
  for (int i = 0; i < kRows; ++i) {
    w->submit(insert_blob(i));
    if (i % 10 == 9) ASSERT_TRUE(w->flush().ok());
  }
  ASSERT_TRUE(w->flush().ok());
  const WriterStats st = w->stats();
  EXPECT_GT(st.checkpoints_inline, 0u);
  // The hard bound is 8 x 16 pages plus one batch; allow the batch generously.
  EXPECT_LT(wal_bytes(), uintmax_t{(8 * 16 + 64) * 4200}) << "background passes " << st.checkpoints_background;
  std::vector<int64_t> rows = committed_values();
  ASSERT_EQ(rows.size(), size_t{kRows});
  for (int i = 0; i < kRows; ++i) ASSERT_EQ(rows[i], i);
}

TEST_F(SqliteWriterCheckpointTest, BackgroundPassesRunAndNothingIsLostAcrossReopen) {
  WriterOptions o;
  o.checkpoint_pages = 32;
  {
    auto w = make_writer(o);
    for (int i = 0; i < 2000; ++i) {
      w->submit(insert_blob(i));
      if (i % 50 == 49) {
        ASSERT_TRUE(w->flush().ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // room for the checkpoint thread
      }
    }
    ASSERT_TRUE(w->flush().ok());
    EXPECT_GT(w->stats().checkpoints_background, 0u);
  }
  // The writer is gone: the last connection closed, checkpointed and removed the WAL.
  EXPECT_EQ(wal_bytes(), 0u);
  EXPECT_EQ(committed_values().size(), 2000u);
}

TEST_F(SqliteWriterCheckpointTest, ZeroKeepsSqlitesOwnCheckpoint) {
  WriterOptions o;
  o.checkpoint_pages = 0;
  auto w = make_writer(o);
  for (int i = 0; i < 1000; ++i) w->submit(insert_blob(i));
  ASSERT_TRUE(w->flush().ok());
  EXPECT_EQ(w->stats().checkpoints_background, 0u);
  EXPECT_EQ(w->stats().checkpoints_inline, 0u);
  EXPECT_EQ(committed_values().size(), 1000u);
}

}  // namespace
}  // namespace urbis::storage::sqlite
