// SqliteWriter: one thread that owns a database's write connection and
// commits submitted work in groups.
//
// Design note
// -----------
// SQLite allows one writer at a time and a commit costs far more than a small
// INSERT (in FULL mode, an fsync). So every write in the process goes through
// one queue to one thread, which runs whatever has accumulated inside ONE
// transaction ("group commit") and then tells each submitter the outcome:
//
//   callers --submit(work, done)--> [bounded queue] --> writer thread
//        BEGIN IMMEDIATE; work1(db); work2(db); ... workN(db); COMMIT; done1(s) ... doneN(s)
//
// Batch boundaries. The thread never idles waiting for a batch to fill: it
// takes everything queued (at most max_batch items), runs it, and, while the
// transaction is younger than max_batch_delay and under max_batch items, also
// runs whatever arrived meanwhile; then it commits. Under light load a batch is
// one item and latency is one commit; under heavy load batches grow by
// themselves while the previous commit is in progress.
//
// Failures. If a work item fails, the batch is rolled back and rerun once
// with a savepoint around each item, so only the failing items are undone and
// report their own error; the others commit. If BEGIN or COMMIT fails (disk
// full, I/O error), every item of the batch gets that error. Either way the
// writer records the error as its health() and keeps taking work: the next
// batch that commits changes with no failure makes health() ok again (a batch
// that changed nothing, such as a lone flush() marker, proves nothing about the
// disk and leaves health() as it was). Failed items are
// not retried by the writer (their callbacks were told). Consequently a work
// item may run twice (first pass and savepoint pass): it must only touch the
// database, never other state.
//
// Ordering. Items run in submission order (as seen by the queue's mutex), and
// completion callbacks are called in the same order, on the writer thread,
// after the commit. Callbacks must be quick and must not call submit() or
// flush() on this writer (with a full queue that would deadlock).
//
// Back-pressure. The queue holds at most queue_capacity items; submit() on a
// full queue BLOCKS the caller until the writer has taken a batch. This is the
// bound that keeps memory flat when the disk is slower than the producers;
// callers that must not block (an I/O thread) should size the queue for bursts
// or use try_submit() and shed load themselves.
//
// Checkpoints. In WAL mode every commit appends pages to the -wal file, and a
// checkpoint copies them back into the database so the WAL can start over.
// SQLite's automatic checkpoint runs inside the commit that crosses its
// threshold, on the committing thread: the writer then stalls for the whole
// copy and fsync (tens of milliseconds for a large WAL, the p99 of every write
// waiting behind it). With checkpoint_pages > 0 the writer instead hands the
// copy to a checkpoint thread with its own connection (PRAGMA wal_checkpoint
// PASSIVE: it never blocks the writer). The WAL can only start over when it
// has been copied entirely and no write came in between, which under steady
// load never happens by itself; so once the background pass is done the
// writer finishes the job after its next commit (a PASSIVE checkpoint of only
// the pages written since, a small copy), and the next transaction rewinds the
// WAL. If the background thread falls far behind (the WAL past 8 times the
// threshold), the writer checkpoints itself, as SQLite would, so the WAL stays
// bounded. When the WAL starts over, the file is cut back to the threshold
// (PRAGMA journal_size_limit). A checkpoint that fails (I/O error, full disk)
// is logged once, counted in stats().checkpoint_errors and retried after a
// second, not on every commit; the WAL hook never lets an exception reach
// SQLite.
//
// Shutdown. The destructor stops accepting work, lets the thread run and commit
// everything already queued, then joins it. Submitting concurrently with the
// destructor is a caller bug.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "common/status.hpp"
#include "storage/sqlite/db.hpp"

namespace urbis::storage::sqlite {

struct WriterOptions {
  // Most items waiting in the queue; submit() blocks beyond this.
  size_t queue_capacity = 65536;
  // Most items run in one transaction.
  size_t max_batch = 4096;
  // How long an open transaction keeps absorbing newly arrived items before
  // committing. Caps the extra latency group commit adds; 0 = take only what
  // was queued when the batch started.
  std::chrono::microseconds max_batch_delay{2000};
  // WAL pages (of the database's page size) after which a checkpoint starts on
  // the background thread (see "Checkpoints"); 0 = SQLite's automatic
  // checkpoint on the writer thread. Ignored for in-memory databases.
  int checkpoint_pages = 4096;
};

// How long a failed checkpoint waits before the next attempt.
inline constexpr std::chrono::seconds kCheckpointRetry{1};

struct WriterStats {
  uint64_t batches_committed = 0;  // transactions committed
  uint64_t batches_failed = 0;     // transactions with at least one failed item
  uint64_t items_committed = 0;
  uint64_t items_failed = 0;
  uint64_t checkpoints_background = 0;  // passes of the checkpoint thread
  uint64_t checkpoints_inline = 0;      // checkpoints the writer ran itself (tail or fallback)
  uint64_t checkpoint_errors = 0;       // checkpoints that failed (I/O error, full disk); retried after 1 s
};

class SqliteWriter {
 public:
  using Work = std::function<Status(Database&)>;
  using Done = std::function<void(const Status&)>;

  // Takes ownership of the write connection and starts the thread.
  explicit SqliteWriter(Database db, WriterOptions options = {});
  ~SqliteWriter();
  SqliteWriter(const SqliteWriter&) = delete;
  SqliteWriter& operator=(const SqliteWriter&) = delete;

  // Queues `work`; `done` (optional) is called on the writer thread with the
  // status of the item after its transaction committed or failed.
  // Blocks while the queue is full (back-pressure, see the design note).
  void submit(Work work, Done done = {});
  // As submit(), but returns false at once (running nothing) when the queue is full.
  bool try_submit(Work work, Done done = {});

  // Blocks until every item submitted before the call has been committed (or
  // has failed). Returns the first error of any item that failed since the
  // previous flush() returned, else ok: a caller that only flushes learns about
  // every lost write.
  [[nodiscard]] Status flush();

  // Ok, or the error of the most recent batch that had a failure, until a later
  // batch commits changes with no failure.
  Status health() const;

  WriterStats stats() const;

 private:
  struct Item {
    Work work;
    Done done;
  };

  void run();
  // Runs `batch` in one transaction, falling back to per-item savepoints.
  void execute(std::deque<Item>& batch);
  // First pass: all items, no savepoints. Returns the first failure.
  Status run_plain(std::deque<Item>& batch, size_t& taken,
                   std::chrono::steady_clock::time_point deadline);
  // Records the outcome and calls the callbacks. `wrote`: the batch changed rows.
  void finish(std::deque<Item>& batch, const std::vector<Status>& results, const Status& batch_status,
              bool wrote = false);

  const WriterOptions options_;
  Database db_;  // touched only by the writer thread once it has started

  mutable std::mutex mu_;
  std::condition_variable not_empty_;  // queue_ gained an item, or stopping_
  std::condition_variable not_full_;   // queue_ lost items
  // Guarded by mu_:
  std::deque<Item> queue_;
  bool stopping_ = false;
  Status health_;
  Status failure_since_flush_;  // first item error since the last flush() returned
  WriterStats stats_;

  // The checkpoint thread and its connection (null until first needed; then
  // touched only by the writer thread, and by the destructor after it).
  struct Checkpointer;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::atomic<uint64_t> checkpoint_passes_{0};
  std::atomic<uint64_t> checkpoint_errors_{0};
  // Writer thread only: a checkpoint failed (log once per change of state),
  // and when the next attempt may be made.
  bool checkpoint_failing_ = false;
  std::chrono::steady_clock::time_point retry_at_{};
  // WAL hook (writer thread, after each commit): starts or finishes
  // checkpoints. Never throws (it runs inside SQLite).
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void after_commit(sqlite3* db, int wal_pages);
  void inline_checkpoint(sqlite3* db);

  std::thread thread_;  // last: started after every member above exists
};

}  // namespace urbis::storage::sqlite
