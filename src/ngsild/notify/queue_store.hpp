// Private to the notifier: the persisted delivery queue (one SQLite file).
//
// Format (schema version 1), one row per delivery not yet confirmed:
//   notify_queue(seq INTEGER PRIMARY KEY, tenant TEXT, subscription_id TEXT,
//                endpoint TEXT, body BLOB, link TEXT, enqueued_ms INTEGER)
// seq grows with enqueue order across restarts, so ORDER BY seq is each
// subscription's delivery order. endpoint is JSON:
//   {"uri": "...", "accept": "...", "receiverInfo": [[k, v], ...], "notifierInfo": [[k, v], ...]}
// A row is written shortly after the delivery is first attempted (unless it
// succeeded first) and deleted after success, drop or forget().
//
// Writes go through one SqliteWriter (group commit) and never block the caller:
// when the writer's queue is full a write is skipped and counted, which costs
// durability for that delivery only (it is still sent from memory).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "ngsild/notify/notifier.hpp"

namespace urbis::storage::sqlite {
class SqliteWriter;
}

namespace urbis::ngsild::notify {

// Who got there first: the insert on the writer thread or the delivery's end
// (success, drop, forget) on the strand. See Notifier's design note.
enum PersistState : int { kNew = 0, kPersisted = 1, kSettled = 2 };
using PersistFlag = std::shared_ptr<std::atomic<int>>;

// A row to write, unless its delivery is settled by the time the writer runs.
struct PersistJob {
  uint64_t seq = 0;
  std::shared_ptr<const Delivery> d;
  PersistFlag flag;
  int64_t enqueued_ms = 0;
};

struct StoredDelivery {
  uint64_t seq = 0;
  Delivery d;
};

class QueueStore {
 public:
  // Opens (creating) and migrates the file, and reads the rows left in it.
  static Result<std::unique_ptr<QueueStore>> open(const std::string& path, std::vector<StoredDelivery>& pending);
  ~QueueStore();  // commits what is queued

  // Writes the rows (one work item) except those settled by then. False when
  // the writer's queue was full (nothing written).
  bool insert(std::vector<PersistJob> jobs);
  bool erase(std::vector<uint64_t> seqs);
  bool erase_subscription(const std::string& tenant, const std::string& subscription_id);
  // Blocks until everything submitted is committed; the first error since the last flush.
  Status flush();

 private:
  explicit QueueStore(std::unique_ptr<storage::sqlite::SqliteWriter> w);
  std::unique_ptr<storage::sqlite::SqliteWriter> writer_;
};

std::string encode_endpoint(const Endpoint& e);
Result<Endpoint> decode_endpoint(std::string_view json);

}  // namespace urbis::ngsild::notify
