#include "storage/sqlite/writer.hpp"

#include <atomic>
#include <exception>
#include <future>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "common/thread_name.hpp"

namespace urbis::storage::sqlite {

namespace {

// A work item is user code: an exception escaping it must not kill the writer
// thread (and with it every later write), so it becomes that item's error.
Status run_item(const SqliteWriter::Work& work, Database& db) {
  try {
    return work(db);
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite writer: work item threw: ") + e.what());
  } catch (...) {
    return Internal("sqlite writer: work item threw a non-standard exception");
  }
}

Status end_check(Database& db, Status s) {
  // A work item that ran COMMIT or ROLLBACK itself has broken the batch.
  if (s.ok() && !db.in_transaction()) return Internal("sqlite writer: a work item ended the batch transaction");
  return s;
}

}  // namespace

// The background half of "Checkpoints" (writer.hpp). The writer thread only
// touches the atomics; the thread owns its connection.
struct SqliteWriter::Checkpointer {
  static constexpr int kMaxPasses = 4;
  static constexpr int kSmallTail = 256;  // pages
  Database db;
  std::mutex mu;
  std::condition_variable wake;  // requested or stopping
  std::condition_variable idle;  // a pass ended
  bool requested = false;        // guarded by mu
  bool running = false;          // guarded by mu
  bool stopping = false;         // guarded by mu
  std::atomic<bool> finished{false};  // a pass is done: the writer may finish the job
  std::atomic<uint64_t>& passes;  // the writer's counts
  std::atomic<uint64_t>& errors;
  bool failing = false;           // checkpoint thread only: log on a change of state
  std::thread thread;

  Checkpointer(Database d, std::atomic<uint64_t>& pass_counter, std::atomic<uint64_t>& error_counter)
      : db(std::move(d)), passes(pass_counter), errors(error_counter), thread([this] { loop(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    wake.notify_all();
    thread.join();
  }
  void request() {
    {
      std::lock_guard lock(mu);
      if (requested || running) return;
      requested = true;
    }
    wake.notify_one();
  }
  // Back-pressure: the writer waits for the pass in progress, if any.
  void wait_idle() {
    std::unique_lock lock(mu);
    idle.wait(lock, [this] { return !requested && !running; });
  }
  void loop() {
    set_thread_name(db_thread_name("ckpt:", db.path()));
    for (;;) {
      {
        std::unique_lock lock(mu);
        wake.wait(lock, [this] { return requested || stopping; });
        if (stopping) return;
        requested = false;
        running = true;
      }
      // Each pass copies what the WAL held when it started; the writer keeps
      // appending meanwhile. Passes repeat while that remainder is large, so
      // the tail the writer copies (and fsyncs) itself stays small.
      int rc = SQLITE_OK;
      int before = -1;
      for (int pass = 0; pass < kMaxPasses; ++pass) {
        int log = 0, copied = 0;
        rc = sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        ++passes;
        if (rc != SQLITE_OK || (before >= 0 && log - before < kSmallTail)) break;
        before = log;
      }
      // Done: what the writer appended meanwhile is left for its tail pass.
      // SQLITE_BUSY: the writer's own checkpoint was running; the next
      // threshold crossing asks again.
      if (rc == SQLITE_OK) finished = true;
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        ++errors;
        if (!failing) ULOG_WARN("sqlite checkpoint of {}: {}", db.path(), sqlite3_errmsg(db.handle()));
        failing = true;
      } else if (rc == SQLITE_OK && failing) {
        ULOG_INFO("sqlite checkpoint of {}: succeeds again", db.path());
        failing = false;
      }
      {
        std::unique_lock lock(mu);
        running = false;
        idle.notify_all();
        // A failing disk: wait before the next pass rather than failing again
        // at the commit rate.
        if (failing) wake.wait_for(lock, kCheckpointRetry, [this] { return stopping; });
      }
    }
  }
};

SqliteWriter::SqliteWriter(Database db, WriterOptions options) : options_(options), db_(std::move(db)) {
  if (options_.checkpoint_pages > 0 && db_.path() != ":memory:" && !db_.path().empty()) {
    // Replaces SQLite's automatic checkpoint (itself a WAL hook). The thread
    // and its connection start when the WAL first reaches the threshold: a
    // store that is rarely written never pays for them.
    sqlite3_wal_hook(db_.handle(), &SqliteWriter::on_wal_commit, this);
    // When the WAL starts over, cut the file back to the threshold instead of
    // keeping its largest size (up to 8x it) on the disk.
    (void)db_.exec("PRAGMA journal_size_limit = " +
                   std::to_string(static_cast<int64_t>(options_.checkpoint_pages) * 4096));
  }
  thread_ = std::thread([this] { run(); });
}

SqliteWriter::~SqliteWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  not_empty_.notify_all();
  thread_.join();  // run() drains the queue before returning
  // The checkpoint connection closes first; closing the writer's (the last
  // connection) then checkpoints the rest and removes the WAL, as SQLite does.
  checkpointer_.reset();
}

int SqliteWriter::on_wal_commit(void* self, sqlite3* db, const char* /*schema*/, int wal_pages) {
  // Runs inside sqlite3_step(COMMIT): nothing may throw through SQLite's C
  // frames. Whatever fails here leaves the WAL to the next commit.
  try {
    static_cast<SqliteWriter*>(self)->after_commit(db, wal_pages);
  } catch (const std::exception& e) {
    ULOG_ERROR("sqlite writer: checkpoint scheduling failed: {}", e.what());
  } catch (...) {
    ULOG_ERROR("sqlite writer: checkpoint scheduling failed");
  }
  return SQLITE_OK;
}

void SqliteWriter::after_commit(sqlite3* db, int wal_pages) {
  const int threshold = options_.checkpoint_pages;
  const auto now = std::chrono::steady_clock::now();
  if (!checkpointer_) {
    if (wal_pages < threshold || now < retry_at_) return;
    DatabaseOptions o;
    o.create = false;
    Result<Database> second = Database::open(db_.path(), o);
    if (!second.ok()) {
      // Checkpoint here, as SQLite would have; try the thread again later.
      if (!checkpoint_failing_) {
        ULOG_WARN("sqlite writer for {}: no checkpoint connection ({}); checkpointing on the writer thread",
                  db_.path(), second.status().message());
      }
      checkpoint_failing_ = true;
      retry_at_ = now + kCheckpointRetry;
      inline_checkpoint(db);
      return;
    }
    checkpointer_ = std::make_unique<Checkpointer>(std::move(second).value(), checkpoint_passes_, checkpoint_errors_);
  }
  Checkpointer& c = *checkpointer_;
  bool inline_pass = false;
  if (now < retry_at_) {
    // A checkpoint failed a moment ago (I/O error, full disk): do not retry
    // on every commit.
  } else if (wal_pages >= threshold * 8) {
    // The checkpoint thread cannot keep up (slow disk): wait for its pass,
    // then copy the rest here, which bounds the WAL.
    c.wait_idle();
    inline_pass = true;
  } else if (c.finished.exchange(false)) {
    inline_pass = true;  // the tail: only pages written since the background pass
  } else if (wal_pages >= threshold) {
    c.request();
  }
  if (inline_pass) {
    c.finished = false;
    inline_checkpoint(db);
  }
}

void SqliteWriter::inline_checkpoint(sqlite3* db) {
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    if (!checkpoint_failing_) ULOG_WARN("sqlite checkpoint of {}: {}", db_.path(), sqlite3_errmsg(db));
    checkpoint_failing_ = true;
    retry_at_ = std::chrono::steady_clock::now() + kCheckpointRetry;
    ++checkpoint_errors_;
  } else if (rc == SQLITE_OK && checkpoint_failing_ && checkpointer_) {
    // Recovered (without the checkpoint thread, its connection is still missing).
    ULOG_INFO("sqlite checkpoint of {}: succeeds again", db_.path());
    checkpoint_failing_ = false;
  }
  std::lock_guard lock(mu_);
  ++stats_.checkpoints_inline;
}

void SqliteWriter::submit(Work work, Done done) {
  {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [this] { return queue_.size() < options_.queue_capacity; });
    queue_.push_back(Item{std::move(work), std::move(done)});
  }
  not_empty_.notify_one();
}

bool SqliteWriter::try_submit(Work work, Done done) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_capacity) return false;
    queue_.push_back(Item{std::move(work), std::move(done)});
  }
  not_empty_.notify_one();
  return true;
}

Status SqliteWriter::flush() {
  std::promise<void> committed;
  std::future<void> f = committed.get_future();
  // A no-op marker: callbacks run in submission order, so when the marker's
  // callback runs every earlier item has been committed or failed.
  submit([](Database&) { return Status(); }, [&committed](const Status&) { committed.set_value(); });
  f.wait();
  std::lock_guard lock(mu_);
  return std::exchange(failure_since_flush_, Status());
}

Status SqliteWriter::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

WriterStats SqliteWriter::stats() const {
  std::lock_guard lock(mu_);
  WriterStats s = stats_;
  s.checkpoints_background = checkpoint_passes_.load();
  s.checkpoint_errors = checkpoint_errors_.load();
  return s;
}

void SqliteWriter::run() {
  set_thread_name(db_thread_name("sql:", db_.path()));
  for (;;) {
    std::deque<Item> batch;
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping_ and drained
      size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    not_full_.notify_all();
    execute(batch);
  }
}

Status SqliteWriter::run_plain(std::deque<Item>& batch, size_t& taken,
                               std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    for (; taken < batch.size(); ++taken) {
      Status s = end_check(db_, run_item(batch[taken].work, db_));
      if (!s.ok()) return s;
    }
    // Absorb what arrived while we were running, within the batch limits.
    if (batch.size() >= options_.max_batch || std::chrono::steady_clock::now() >= deadline) return {};
    size_t before = batch.size();
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.size() == before) return {};
    not_full_.notify_all();
  }
}

void SqliteWriter::execute(std::deque<Item>& batch) {
  const auto deadline = std::chrono::steady_clock::now() + options_.max_batch_delay;
  const int64_t changes_before = sqlite3_total_changes64(db_.handle());
  auto wrote = [&] { return sqlite3_total_changes64(db_.handle()) != changes_before; };
  std::vector<Status> results;

  Result<Transaction> tx = Transaction::begin(db_);
  if (!tx.ok()) {
    results.assign(batch.size(), tx.status());
    finish(batch, results, tx.status());
    return;
  }
  size_t taken = 0;
  Status first = run_plain(batch, taken, deadline);
  if (first.ok()) {
    Status c = tx->commit();
    results.assign(batch.size(), c);
    finish(batch, results, c, c.ok() && wrote());
    return;
  }

  // Slow path: undo everything, then rerun every item inside its own
  // savepoint so that only the failing ones are lost.
  (void)tx->rollback();
  results.assign(batch.size(), Status());
  Result<Transaction> tx2 = Transaction::begin(db_);
  if (!tx2.ok()) {
    results.assign(batch.size(), tx2.status());
    finish(batch, results, tx2.status());
    return;
  }
  Result<Statement*> sp = db_.cached("SAVEPOINT urbis_item");
  Result<Statement*> undo = db_.cached("ROLLBACK TO urbis_item");
  Result<Statement*> release = db_.cached("RELEASE urbis_item");
  for (const auto* r : {&sp, &undo, &release}) {
    if (!r->ok()) {
      results.assign(batch.size(), r->status());
      finish(batch, results, r->status());
      return;
    }
  }
  Status batch_status;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (Status s = (*sp)->run(); !s.ok()) {
      batch_status = s;
      break;
    }
    Status s = run_item(batch[i].work, db_);
    if (!db_.in_transaction()) {
      // SQLite rolled the whole transaction back (full disk, I/O error) or
      // the item ended it: nothing of this batch survives.
      batch_status = s.ok() ? Internal("sqlite writer: a work item ended the batch transaction") : s;
      break;
    }
    if (!s.ok()) {
      results[i] = s;
      if (Status u = (*undo)->run(); !u.ok()) {
        batch_status = u;
        break;
      }
    }
    if (Status r = (*release)->run(); !r.ok()) {
      batch_status = r;
      break;
    }
  }
  if (batch_status.ok()) batch_status = tx2->commit();
  if (!batch_status.ok()) {
    (void)tx2->rollback();
    for (Status& r : results) {
      if (r.ok()) r = batch_status;
    }
  }
  finish(batch, results, batch_status, batch_status.ok() && wrote());
}

void SqliteWriter::finish(std::deque<Item>& batch, const std::vector<Status>& results, const Status& batch_status,
                          bool wrote) {
  const Status* first_error = nullptr;
  uint64_t failed = 0;
  for (const Status& r : results) {
    if (!r.ok()) {
      ++failed;
      if (first_error == nullptr) first_error = &r;
    }
  }
  // Shared state first, callbacks after: flush()'s marker callback must find
  // the failures of every earlier item already recorded.
  {
    std::lock_guard lock(mu_);
    if (batch_status.ok()) ++stats_.batches_committed;
    if (failed > 0) ++stats_.batches_failed;
    stats_.items_committed += results.size() - failed;
    stats_.items_failed += failed;
    if (first_error != nullptr) {
      if (health_.ok()) ULOG_WARN("sqlite writer for {}: writes failing: {}", db_.path(), first_error->message());
      health_ = *first_error;
      if (failure_since_flush_.ok()) failure_since_flush_ = *first_error;
    } else if (!health_.ok() && wrote) {
      ULOG_INFO("sqlite writer for {}: writes succeed again", db_.path());
      health_ = Status();
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].done) continue;
    try {
      batch[i].done(results[i]);
    } catch (...) {
      ULOG_ERROR("sqlite writer for {}: a completion callback threw; ignored", db_.path());
    }
  }
}

}  // namespace urbis::storage::sqlite
