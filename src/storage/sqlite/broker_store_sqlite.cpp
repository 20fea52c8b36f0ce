#include "storage/sqlite/broker_store_sqlite.hpp"

#include <fmt/format.h>

#include <initializer_list>
#include <unordered_map>
#include <utility>

#include "mqtt/codec/codec.hpp"

namespace urbis::storage::sqlite {

using urbis::mqtt::BrokerSnapshot;
using urbis::mqtt::Properties;
using urbis::mqtt::StoredMessage;
using urbis::mqtt::StoredQueuedMessage;
using urbis::mqtt::StoredSession;
using urbis::mqtt::StoredSubscription;

namespace {

// The schema, one forward step per version. Never edit a released step: add a
// new one (docs/formats/storage.md, "Migration policy").
//
// No foreign keys between the tables on purpose: INSERT OR REPLACE of a
// session would otherwise cascade-delete its subscriptions, and a
// subscription written before its session would fail the whole batch.
// erase_session deletes from all three tables in one work item instead.
// retained and queued keep rowids because their rows carry payloads (SQLite
// advises against WITHOUT ROWID for large rows).
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE retained("
     "  topic TEXT PRIMARY KEY NOT NULL,"
     "  payload BLOB NOT NULL,"
     "  qos INTEGER NOT NULL,"
     "  props BLOB,"
     "  expiry INTEGER NOT NULL);"
     "CREATE TABLE sessions("
     "  client_id TEXT PRIMARY KEY NOT NULL,"
     "  protocol_version INTEGER NOT NULL,"
     "  expiry_interval INTEGER NOT NULL,"
     "  disconnected_unix_ms INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE subscriptions("
     "  client_id TEXT NOT NULL,"
     "  filter TEXT NOT NULL,"
     "  qos INTEGER NOT NULL,"
     "  no_local INTEGER NOT NULL,"
     "  rap INTEGER NOT NULL,"
     "  retain_handling INTEGER NOT NULL,"
     "  sub_id INTEGER NOT NULL,"
     "  PRIMARY KEY(client_id, filter)) WITHOUT ROWID;"
     "CREATE TABLE queued("
     "  client_id TEXT NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  packet_id INTEGER NOT NULL,"
     "  pubrel_sent INTEGER NOT NULL,"
     "  topic TEXT NOT NULL,"
     "  payload BLOB NOT NULL,"
     "  qos INTEGER NOT NULL,"
     "  retain INTEGER NOT NULL,"
     "  props BLOB,"
     "  expiry INTEGER NOT NULL,"
     "  sub_ids BLOB,"
     "  PRIMARY KEY(client_id, seq));"},
};

constexpr std::string_view kPutRetained =
    "INSERT OR REPLACE INTO retained(topic, payload, qos, props, expiry) VALUES(?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kEraseRetained = "DELETE FROM retained WHERE topic = ?1";
constexpr std::string_view kPutSession =
    "INSERT OR REPLACE INTO sessions(client_id, protocol_version, expiry_interval, disconnected_unix_ms) "
    "VALUES(?1, ?2, ?3, ?4)";
constexpr std::string_view kEraseSession = "DELETE FROM sessions WHERE client_id = ?1";
constexpr std::string_view kEraseSessionSubs = "DELETE FROM subscriptions WHERE client_id = ?1";
constexpr std::string_view kEraseSessionQueue = "DELETE FROM queued WHERE client_id = ?1";
constexpr std::string_view kPutSubscription =
    "INSERT OR REPLACE INTO subscriptions(client_id, filter, qos, no_local, rap, retain_handling, sub_id) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr std::string_view kEraseSubscription = "DELETE FROM subscriptions WHERE client_id = ?1 AND filter = ?2";
constexpr std::string_view kPutQueued =
    "INSERT OR REPLACE INTO queued(client_id, seq, packet_id, pubrel_sent, topic, payload, qos, retain, props, "
    "expiry, sub_ids) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr std::string_view kEraseQueued = "DELETE FROM queued WHERE client_id = ?1 AND seq = ?2";

// The first failure among binder results (all binders have run; they are cheap).
Status first_error(std::initializer_list<Status> results) {
  for (const Status& s : results) {
    if (!s.ok()) return s;
  }
  return {};
}

// Properties are stored as an MQTT 5 property block; NULL when there are none.
Status bind_props(Statement& st, int index, const Properties& props) {
  if (props == Properties{}) return st.bind_null(index);
  std::string bytes;
  urbis::mqtt::encode_properties(props, bytes);
  return st.bind_blob(index, bytes);
}

Status read_props(const Statement& st, int col, Properties& out, std::string_view where) {
  out = Properties{};
  if (st.column_is_null(col)) return {};
  std::string bytes = st.column_blob(col);
  urbis::mqtt::DecodeError err;
  if (!urbis::mqtt::decode_properties(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), out, err)) {
    return {Code::kCorruption, fmt::format("broker.db: bad properties in {}: {}", where, err.message)};
  }
  return {};
}

// Subscription identifiers: 4 bytes each, big-endian; NULL when none.
std::string encode_sub_ids(const std::vector<uint32_t>& ids) {
  std::string out;
  out.reserve(ids.size() * 4);
  for (uint32_t id : ids) {
    out.push_back(static_cast<char>(id >> 24));
    out.push_back(static_cast<char>(id >> 16));
    out.push_back(static_cast<char>(id >> 8));
    out.push_back(static_cast<char>(id));
  }
  return out;
}

Status decode_sub_ids(std::string_view bytes, std::vector<uint32_t>& out, std::string_view where) {
  out.clear();
  if (bytes.size() % 4 != 0) {
    return {Code::kCorruption, fmt::format("broker.db: sub_ids of {} is {} bytes, not a multiple of 4", where,
                                           bytes.size())};
  }
  for (size_t i = 0; i < bytes.size(); i += 4) {
    auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + k])); };
    out.push_back(b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3));
  }
  return {};
}

// Runs one cached statement with `bind` applied; the shape of every put/erase.
template <typename Bind>
Status run_cached(Database& db, std::string_view sql, Bind&& bind) {
  Result<Statement*> st = db.cached(sql);
  if (!st.ok()) return st.status();
  if (Status s = bind(**st); !s.ok()) return s;
  return (*st)->run();
}

}  // namespace

int SqliteBrokerStore::schema_version() { return std::rbegin(kMigrations)->version; }

Result<std::unique_ptr<SqliteBrokerStore>> SqliteBrokerStore::open(const std::string& path,
                                                                    const BrokerStoreOptions& options) {
  DatabaseOptions dbo;
  dbo.synchronous = options.synchronous;
  Result<Database> db = Database::open(path, dbo);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(kMigrations); !s.ok()) return s;
  auto writer = std::make_unique<SqliteWriter>(std::move(db).value(), options.writer);
  return std::unique_ptr<SqliteBrokerStore>(new SqliteBrokerStore(path, std::move(writer)));
}

Result<BrokerSnapshot> SqliteBrokerStore::load() {
  DatabaseOptions ro;
  ro.create = false;
  ro.query_only = true;
  Result<Database> opened = Database::open(path_, ro);
  if (!opened.ok()) return opened.status();
  Database& db = opened.value();
  // One read transaction: the four tables come from the same commit.
  Result<Transaction> tx = Transaction::begin(db, Transaction::Mode::kDeferred);
  if (!tx.ok()) return tx.status();

  BrokerSnapshot snap;
  {
    Result<Statement> st = db.prepare("SELECT topic, payload, qos, props, expiry FROM retained ORDER BY topic");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = st->step();
      if (!row.ok()) return row.status();
      if (!row.value()) break;
      StoredMessage m;
      m.topic = st->column_text(0);
      m.payload = st->column_blob(1);
      m.qos = static_cast<uint8_t>(st->column_int64(2));
      m.retain = true;
      if (Status s = read_props(*st, 3, m.props, "retained '" + m.topic + "'"); !s.ok()) return s;
      m.expiry_unix_ms = st->column_int64(4);
      snap.retained.push_back(std::move(m));
    }
  }
  std::unordered_map<std::string, size_t> index;  // client_id -> position in snap.sessions
  {
    Result<Statement> st = db.prepare(
        "SELECT client_id, protocol_version, expiry_interval, disconnected_unix_ms FROM sessions "
        "ORDER BY client_id");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = st->step();
      if (!row.ok()) return row.status();
      if (!row.value()) break;
      StoredSession s;
      s.client_id = st->column_text(0);
      s.protocol_version = static_cast<uint8_t>(st->column_int64(1));
      s.expiry_interval = static_cast<uint32_t>(st->column_int64(2));
      s.disconnected_unix_ms = st->column_int64(3);
      index.emplace(s.client_id, snap.sessions.size());
      snap.sessions.push_back(std::move(s));
    }
  }
  {
    Result<Statement> st = db.prepare(
        "SELECT client_id, filter, qos, no_local, rap, retain_handling, sub_id FROM subscriptions "
        "ORDER BY client_id, filter");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = st->step();
      if (!row.ok()) return row.status();
      if (!row.value()) break;
      auto it = index.find(st->column_text(0));
      if (it == index.end()) continue;  // orphan: no session record
      StoredSubscription sub;
      sub.filter = st->column_text(1);
      sub.qos = static_cast<uint8_t>(st->column_int64(2));
      sub.no_local = st->column_int64(3) != 0;
      sub.retain_as_published = st->column_int64(4) != 0;
      sub.retain_handling = static_cast<uint8_t>(st->column_int64(5));
      sub.subscription_id = static_cast<uint32_t>(st->column_int64(6));
      snap.sessions[it->second].subscriptions.push_back(std::move(sub));
    }
  }
  {
    Result<Statement> st = db.prepare(
        "SELECT client_id, seq, packet_id, pubrel_sent, topic, payload, qos, retain, props, expiry, sub_ids "
        "FROM queued ORDER BY client_id, seq");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = st->step();
      if (!row.ok()) return row.status();
      if (!row.value()) break;
      std::string client_id = st->column_text(0);
      auto it = index.find(client_id);
      if (it == index.end()) continue;
      StoredQueuedMessage q;
      q.seq = static_cast<uint64_t>(st->column_int64(1));
      q.packet_id = static_cast<uint16_t>(st->column_int64(2));
      q.pubrel_sent = st->column_int64(3) != 0;
      q.msg.topic = st->column_text(4);
      q.msg.payload = st->column_blob(5);
      q.msg.qos = static_cast<uint8_t>(st->column_int64(6));
      q.msg.retain = st->column_int64(7) != 0;
      std::string where = fmt::format("queued ('{}', {})", client_id, q.seq);
      if (Status s = read_props(*st, 8, q.msg.props, where); !s.ok()) return s;
      q.msg.expiry_unix_ms = st->column_int64(9);
      if (Status s = decode_sub_ids(st->column_blob(10), q.subscription_ids, where); !s.ok()) return s;
      snap.sessions[it->second].queue.push_back(std::move(q));
    }
  }
  if (Status s = tx->commit(); !s.ok()) return s;
  return snap;
}

void SqliteBrokerStore::put_retained(const StoredMessage& msg) {
  writer_->submit([m = msg](Database& db) {
    return run_cached(db, kPutRetained, [&](Statement& st) {
      return first_error({st.bind_text(1, m.topic), st.bind_blob(2, m.payload), st.bind(3, m.qos),
                          bind_props(st, 4, m.props), st.bind(5, m.expiry_unix_ms)});
    });
  });
}

void SqliteBrokerStore::erase_retained(const std::string& topic) {
  writer_->submit([topic](Database& db) {
    return run_cached(db, kEraseRetained, [&](Statement& st) { return st.bind_text(1, topic); });
  });
}

void SqliteBrokerStore::put_session(const StoredSession& session) {
  // Metadata only: copying the subscriptions and queue along would be waste.
  writer_->submit([id = session.client_id, pv = session.protocol_version, ei = session.expiry_interval,
                   dc = session.disconnected_unix_ms](Database& db) {
    return run_cached(db, kPutSession, [&](Statement& st) {
      return first_error({st.bind_text(1, id), st.bind(2, pv), st.bind(3, static_cast<int64_t>(ei)),
                          st.bind(4, dc)});
    });
  });
}

void SqliteBrokerStore::erase_session(const std::string& client_id) {
  // One work item, so the three deletes commit (or fail) together.
  writer_->submit([client_id](Database& db) {
    for (std::string_view sql : {kEraseSessionSubs, kEraseSessionQueue, kEraseSession}) {
      Status s = run_cached(db, sql, [&](Statement& st) { return st.bind_text(1, client_id); });
      if (!s.ok()) return s;
    }
    return Status();
  });
}

void SqliteBrokerStore::put_subscription(const std::string& client_id, const StoredSubscription& sub) {
  writer_->submit([client_id, sub](Database& db) {
    return run_cached(db, kPutSubscription, [&](Statement& st) {
      return first_error({st.bind_text(1, client_id), st.bind_text(2, sub.filter), st.bind(3, sub.qos),
                          st.bind(4, sub.no_local ? 1 : 0), st.bind(5, sub.retain_as_published ? 1 : 0),
                          st.bind(6, sub.retain_handling), st.bind(7, static_cast<int64_t>(sub.subscription_id))});
    });
  });
}

void SqliteBrokerStore::erase_subscription(const std::string& client_id, const std::string& filter) {
  writer_->submit([client_id, filter](Database& db) {
    return run_cached(db, kEraseSubscription,
                      [&](Statement& st) { return first_error({st.bind_text(1, client_id), st.bind_text(2, filter)}); });
  });
}

void SqliteBrokerStore::put_queued(const std::string& client_id, const StoredQueuedMessage& m) {
  writer_->submit([client_id, m](Database& db) {
    return run_cached(db, kPutQueued, [&](Statement& st) {
      Status ids = m.subscription_ids.empty() ? st.bind_null(11) : st.bind_blob(11, encode_sub_ids(m.subscription_ids));
      return first_error({st.bind_text(1, client_id), st.bind(2, static_cast<int64_t>(m.seq)),
                          st.bind(3, m.packet_id), st.bind(4, m.pubrel_sent ? 1 : 0), st.bind_text(5, m.msg.topic),
                          st.bind_blob(6, m.msg.payload), st.bind(7, m.msg.qos), st.bind(8, m.msg.retain ? 1 : 0),
                          bind_props(st, 9, m.msg.props), st.bind(10, m.msg.expiry_unix_ms), ids});
    });
  });
}

void SqliteBrokerStore::erase_queued(const std::string& client_id, uint64_t seq) {
  writer_->submit([client_id, seq](Database& db) {
    return run_cached(db, kEraseQueued, [&](Statement& st) {
      return first_error({st.bind_text(1, client_id), st.bind(2, static_cast<int64_t>(seq))});
    });
  });
}

Status SqliteBrokerStore::flush() { return writer_->flush(); }

Status SqliteBrokerStore::health() const { return writer_->health(); }

void SqliteBrokerStore::when_durable(std::function<void(const Status&)> done) {
  // An empty work item: the writer runs items in order and reports after the
  // commit of its batch, so every earlier change is committed by then. A
  // failed earlier batch leaves the writer unhealthy, which is reported too.
  writer_->submit([](Database&) { return Status::Ok(); },
                  [this, done = std::move(done)](const Status& st) {
                    if (!st.ok()) {
                      done(st);
                      return;
                    }
                    done(writer_->health());
                  });
}

}  // namespace urbis::storage::sqlite
