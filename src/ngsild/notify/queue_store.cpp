#include "ngsild/notify/queue_store.hpp"

#include <boost/json.hpp>

#include <utility>

#include "common/log.hpp"
#include "storage/sqlite/db.hpp"
#include "storage/sqlite/writer.hpp"

namespace urbis::ngsild::notify {

using storage::sqlite::Database;
using storage::sqlite::Migration;
using storage::sqlite::SqliteWriter;
using storage::sqlite::Statement;

namespace {

// Never edit a released step: add a new one.
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE notify_queue("
     "  seq INTEGER PRIMARY KEY,"
     "  tenant TEXT NOT NULL,"
     "  subscription_id TEXT NOT NULL,"
     "  endpoint TEXT NOT NULL,"
     "  body BLOB NOT NULL,"
     "  link TEXT NOT NULL,"
     "  enqueued_ms INTEGER NOT NULL);"
     "CREATE INDEX notify_queue_subscription ON notify_queue(tenant, subscription_id);"},
};

constexpr std::string_view kInsert =
    "INSERT OR REPLACE INTO notify_queue(seq, tenant, subscription_id, endpoint, body, link, enqueued_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr std::string_view kErase = "DELETE FROM notify_queue WHERE seq = ?1";
constexpr std::string_view kEraseSubscription =
    "DELETE FROM notify_queue WHERE tenant = ?1 AND subscription_id = ?2";

boost::json::array pairs_to_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  boost::json::array a;
  for (const auto& [k, v] : pairs) a.push_back(boost::json::array{boost::json::string(k), boost::json::string(v)});
  return a;
}

Status pairs_from_json(const boost::json::value* v, std::vector<std::pair<std::string, std::string>>& out,
                       std::string_view field) {
  if (v == nullptr) return Status::Ok();
  const auto* a = v->if_array();
  if (a == nullptr) return Status(Code::kCorruption, "notify_queue endpoint: " + std::string(field) + " is not an array");
  for (const auto& e : *a) {
    const auto* pair = e.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string()) {
      return Status(Code::kCorruption, "notify_queue endpoint: bad pair in " + std::string(field));
    }
    out.emplace_back(std::string((*pair)[0].get_string()), std::string((*pair)[1].get_string()));
  }
  return Status::Ok();
}

}  // namespace

std::string encode_endpoint(const Endpoint& e) {
  boost::json::object o;
  o["uri"] = e.uri;
  o["accept"] = e.accept;
  o["receiverInfo"] = pairs_to_json(e.receiver_info);
  o["notifierInfo"] = pairs_to_json(e.notifier_info);
  return boost::json::serialize(o);
}

Result<Endpoint> decode_endpoint(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return Status(Code::kCorruption, "notify_queue endpoint: not a JSON object");
  const auto& o = v.get_object();
  Endpoint e;
  const auto* uri = o.if_contains("uri");
  if (uri == nullptr || !uri->is_string()) return Status(Code::kCorruption, "notify_queue endpoint: no uri");
  e.uri = std::string(uri->get_string());
  if (const auto* a = o.if_contains("accept"); a != nullptr && a->is_string()) e.accept = std::string(a->get_string());
  if (Status s = pairs_from_json(o.if_contains("receiverInfo"), e.receiver_info, "receiverInfo"); !s.ok()) return s;
  if (Status s = pairs_from_json(o.if_contains("notifierInfo"), e.notifier_info, "notifierInfo"); !s.ok()) return s;
  return e;
}

QueueStore::QueueStore(std::unique_ptr<SqliteWriter> w) : writer_(std::move(w)) {}
QueueStore::~QueueStore() = default;

Result<std::unique_ptr<QueueStore>> QueueStore::open(const std::string& path, std::vector<StoredDelivery>& pending) {
  Result<Database> db = Database::open(path);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(kMigrations); !s.ok()) return s;
  {
    Result<Statement> st =
        db->prepare("SELECT seq, tenant, subscription_id, endpoint, body, link FROM notify_queue ORDER BY seq");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = st->step();
      if (!row.ok()) return row.status();
      if (!row.value()) break;
      StoredDelivery sd;
      sd.seq = static_cast<uint64_t>(st->column_int64(0));
      sd.d.tenant = st->column_text(1);
      sd.d.subscription_id = st->column_text(2);
      Result<Endpoint> e = decode_endpoint(st->column_text(3));
      if (!e.ok()) {
        // One damaged row must not block the others; it is reported and skipped.
        ULOG_ERROR("notifier: queued delivery {} skipped: {}", sd.seq, e.status().message());
        continue;
      }
      sd.d.endpoint = std::move(e).value();
      sd.d.body = st->column_blob(4);
      sd.d.link_header = st->column_text(5);
      pending.push_back(std::move(sd));
    }
  }
  storage::sqlite::WriterOptions wo;
  wo.max_batch_delay = std::chrono::microseconds(1000);
  auto writer = std::make_unique<SqliteWriter>(std::move(db).value(), wo);
  return std::unique_ptr<QueueStore>(new QueueStore(std::move(writer)));
}

bool QueueStore::insert(std::vector<PersistJob> jobs) {
  return writer_->try_submit([jobs = std::move(jobs)](Database& db) -> Status {
    Result<Statement*> st = db.cached(kInsert);
    if (!st.ok()) return st.status();
    Statement& s = *st.value();
    for (const PersistJob& j : jobs) {
      int expected = kNew;
      // Settled first: sent (or dropped) before we got here, nothing to keep.
      // Already kPersisted: this is the writer's savepoint re-run; write again.
      if (!j.flag->compare_exchange_strong(expected, kPersisted) && expected == kSettled) continue;
      const Delivery& dv = *j.d;
      Status b;
      if (!(b = s.bind(1, static_cast<int64_t>(j.seq))).ok()) return b;
      if (!(b = s.bind_text(2, dv.tenant)).ok()) return b;
      if (!(b = s.bind_text(3, dv.subscription_id)).ok()) return b;
      if (!(b = s.bind_text(4, encode_endpoint(dv.endpoint))).ok()) return b;
      if (!(b = s.bind_blob(5, dv.body)).ok()) return b;
      if (!(b = s.bind_text(6, dv.link_header)).ok()) return b;
      if (!(b = s.bind(7, j.enqueued_ms)).ok()) return b;
      if (!(b = s.run()).ok()) return b;
    }
    return Status::Ok();
  });
}

bool QueueStore::erase(std::vector<uint64_t> seqs) {
  return writer_->try_submit([seqs = std::move(seqs)](Database& db) -> Status {
    Result<Statement*> st = db.cached(kErase);
    if (!st.ok()) return st.status();
    for (uint64_t seq : seqs) {
      if (Status s = st.value()->bind(1, static_cast<int64_t>(seq)); !s.ok()) return s;
      if (Status s = st.value()->run(); !s.ok()) return s;
    }
    return Status::Ok();
  });
}

bool QueueStore::erase_subscription(const std::string& tenant, const std::string& subscription_id) {
  return writer_->try_submit([tenant, subscription_id](Database& db) -> Status {
    Result<Statement*> st = db.cached(kEraseSubscription);
    if (!st.ok()) return st.status();
    if (Status s = st.value()->bind_text(1, tenant); !s.ok()) return s;
    if (Status s = st.value()->bind_text(2, subscription_id); !s.ok()) return s;
    return st.value()->run();
  });
}

Status QueueStore::flush() { return writer_->flush(); }

}  // namespace urbis::ngsild::notify
