// One suite against the BrokerStore interface, run on every implementation:
// what the broker relies on must not depend on which store it was given.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "testutil/temp_dir.hpp"
#include "mqtt/broker/memory_broker_store.hpp"
#include "storage/sqlite/broker_store_sqlite.hpp"
#include "storage/sqlite/db.hpp"

namespace urbis::mqtt {
namespace {

// Files of this suite live under urbis-broker-XXXXXX.
class TempDir : public testutil::TempDir {
 public:
  TempDir() : testutil::TempDir("urbis-broker") {}
};

// How each implementation is made; `reopen` gives a fresh instance over the
// same durable state (persistent stores only).
struct MemoryFactory {
  static constexpr bool kPersistent = false;
  static std::unique_ptr<BrokerStore> open(const std::string&) { return std::make_unique<MemoryBrokerStore>(); }
};

struct SqliteFactory {
  static constexpr bool kPersistent = true;
  static std::unique_ptr<BrokerStore> open(const std::string& path) {
    auto r = storage::sqlite::SqliteBrokerStore::open(path);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : nullptr;
  }
};

template <typename Factory>
class BrokerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("broker.db");
    store_ = Factory::open(path_);
    ASSERT_NE(store_, nullptr);
  }

  // Everything submitted so far, as the broker would see it at start-up.
  BrokerSnapshot snapshot() {
    Status f = store_->flush();
    EXPECT_TRUE(f.ok()) << f.message();
    Result<BrokerSnapshot> snap = store_->load();
    EXPECT_TRUE(snap.ok()) << snap.status().message();
    return snap.ok() ? std::move(snap).value() : BrokerSnapshot{};
  }

  void reopen() {
    ASSERT_TRUE(store_->flush().ok());
    store_.reset();  // closes the file
    store_ = Factory::open(path_);
    ASSERT_NE(store_, nullptr);
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<BrokerStore> store_;
};

using Implementations = ::testing::Types<MemoryFactory, SqliteFactory>;

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryFactory> ? "Memory" : "Sqlite";
  }
};

TYPED_TEST_SUITE(BrokerStoreTest, Implementations, FactoryNames);

StoredMessage retained(const std::string& topic, const std::string& payload) {
  StoredMessage m;
  m.topic = topic;
  m.payload = payload;
  m.qos = 1;
  m.retain = true;
  return m;
}

Properties rich_props() {
  Properties p;
  p.payload_format_indicator = 1;
  p.message_expiry_interval = 3600;
  p.content_type = "application/json";
  p.response_topic = "reply/to/me";
  p.correlation_data = std::string("\x00\x01\xfe\xff", 4);
  p.user_properties = {{"site", "depot-7"}, {"site", "dup-allowed"}, {"", ""}};
  return p;
}

StoredSession session(const std::string& id, uint32_t expiry = 3600) {
  StoredSession s;
  s.client_id = id;
  s.protocol_version = 5;
  s.expiry_interval = expiry;
  s.disconnected_unix_ms = 1700000000123;
  return s;
}

StoredSubscription sub(const std::string& filter, uint8_t qos = 1) {
  StoredSubscription s;
  s.filter = filter;
  s.qos = qos;
  return s;
}

StoredQueuedMessage queued(uint64_t seq, const std::string& payload) {
  StoredQueuedMessage q;
  q.seq = seq;
  q.msg.topic = "city/air/" + std::to_string(seq);
  q.msg.payload = payload;
  q.msg.qos = 1;
  return q;
}

TYPED_TEST(BrokerStoreTest, EmptyStoreLoadsEmpty) {
  BrokerSnapshot s = this->snapshot();
  EXPECT_TRUE(s.retained.empty());
  EXPECT_TRUE(s.sessions.empty());
  EXPECT_TRUE(this->store_->health().ok());
}

TYPED_TEST(BrokerStoreTest, RetainedPutReplacesAndEraseRemoves) {
  this->store_->put_retained(retained("city/b", "1"));
  this->store_->put_retained(retained("city/a", std::string("\0bin\xff", 5)));
  this->store_->put_retained(retained("city/b", "2"));  // replaces
  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.retained.size(), 2u);
  EXPECT_EQ(s.retained[0], retained("city/a", std::string("\0bin\xff", 5)));
  EXPECT_EQ(s.retained[1].payload, "2");

  this->store_->erase_retained("city/a");
  this->store_->erase_retained("never/stored");  // harmless
  s = this->snapshot();
  ASSERT_EQ(s.retained.size(), 1u);
  EXPECT_EQ(s.retained[0].topic, "city/b");
}

TYPED_TEST(BrokerStoreTest, RetainedFieldsAndPropertiesRoundTrip) {
  StoredMessage m = retained("city/water/level", "");  // empty payload is legal
  m.qos = 2;
  m.expiry_unix_ms = 1800000000000;
  m.props = rich_props();
  this->store_->put_retained(m);
  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.retained.size(), 1u);
  EXPECT_EQ(s.retained[0], m);
}

TYPED_TEST(BrokerStoreTest, SessionPutReplacesMetadataOnly) {
  StoredSession a = session("sensor-a");
  this->store_->put_session(a);
  this->store_->put_subscription("sensor-a", sub("city/+/temp"));
  StoredSession changed = session("sensor-a", 0xFFFFFFFF);
  changed.protocol_version = 4;
  changed.disconnected_unix_ms = 0;
  changed.subscriptions = {sub("ignored/by/put_session")};
  this->store_->put_session(changed);

  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.sessions.size(), 1u);
  EXPECT_EQ(s.sessions[0].protocol_version, 4);
  EXPECT_EQ(s.sessions[0].expiry_interval, 0xFFFFFFFFu);
  EXPECT_EQ(s.sessions[0].disconnected_unix_ms, 0);
  ASSERT_EQ(s.sessions[0].subscriptions.size(), 1u) << "replacing a session keeps its subscriptions";
  EXPECT_EQ(s.sessions[0].subscriptions[0].filter, "city/+/temp");
}

TYPED_TEST(BrokerStoreTest, SubscriptionsKeyedByFilter) {
  this->store_->put_session(session("c1"));
  StoredSubscription full = sub("$share/g1/city/#", 2);
  full.no_local = true;
  full.retain_as_published = true;
  full.retain_handling = 2;
  full.subscription_id = 268435455;  // largest variable byte integer
  this->store_->put_subscription("c1", full);
  this->store_->put_subscription("c1", sub("a/b", 0));
  this->store_->put_subscription("c1", sub("a/b", 1));  // replaces
  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.sessions.size(), 1u);
  ASSERT_EQ(s.sessions[0].subscriptions.size(), 2u);
  EXPECT_EQ(s.sessions[0].subscriptions[0], full);  // "$" sorts before "a"
  EXPECT_EQ(s.sessions[0].subscriptions[1], sub("a/b", 1));

  this->store_->erase_subscription("c1", "$share/g1/city/#");
  s = this->snapshot();
  ASSERT_EQ(s.sessions[0].subscriptions.size(), 1u);
  EXPECT_EQ(s.sessions[0].subscriptions[0].filter, "a/b");
}

TYPED_TEST(BrokerStoreTest, QueuedMessagesKeepOrderAndUpdates) {
  this->store_->put_session(session("c1"));
  StoredQueuedMessage q2 = queued(2, "second");
  q2.subscription_ids = {7, 268435455};
  q2.msg.props = rich_props();
  q2.msg.expiry_unix_ms = 1800000000000;
  this->store_->put_queued("c1", q2);
  this->store_->put_queued("c1", queued(1, "first"));
  this->store_->put_queued("c1", queued(3, "third"));
  // The broker sent #2 and got PUBREC: it records packet id and PUBREL state.
  q2.packet_id = 65535;
  q2.pubrel_sent = true;
  q2.msg.qos = 2;
  this->store_->put_queued("c1", q2);
  this->store_->erase_queued("c1", 1);

  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.sessions.size(), 1u);
  ASSERT_EQ(s.sessions[0].queue.size(), 2u);
  EXPECT_EQ(s.sessions[0].queue[0], q2);
  EXPECT_EQ(s.sessions[0].queue[1], queued(3, "third"));
}

TYPED_TEST(BrokerStoreTest, EraseSessionRemovesItsSubscriptionsAndQueueOnly) {
  for (const char* id : {"a", "ab", "b"}) {
    this->store_->put_session(session(id));
    this->store_->put_subscription(id, sub("t/" + std::string(id)));
    this->store_->put_queued(id, queued(1, id));
  }
  this->store_->erase_session("a");
  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.sessions.size(), 2u);
  EXPECT_EQ(s.sessions[0].client_id, "ab");
  EXPECT_EQ(s.sessions[0].subscriptions.size(), 1u);
  EXPECT_EQ(s.sessions[0].queue.size(), 1u);
  EXPECT_EQ(s.sessions[1].client_id, "b");

  // A new session with the same id starts empty: nothing of the old one leaks back.
  this->store_->put_session(session("a"));
  s = this->snapshot();
  ASSERT_EQ(s.sessions.size(), 3u);
  EXPECT_EQ(s.sessions[0].client_id, "a");
  EXPECT_TRUE(s.sessions[0].subscriptions.empty());
  EXPECT_TRUE(s.sessions[0].queue.empty());
}

TYPED_TEST(BrokerStoreTest, RowsWithoutSessionAreNotLoaded) {
  this->store_->put_subscription("ghost", sub("x"));
  this->store_->put_queued("ghost", queued(1, "x"));
  BrokerSnapshot s = this->snapshot();
  EXPECT_TRUE(s.sessions.empty());
}

TYPED_TEST(BrokerStoreTest, EverythingSurvivesReopen) {
  if constexpr (!TypeParam::kPersistent) {
    GTEST_SKIP() << "in-memory store";
  } else {
    StoredMessage r = retained("city/light/1", "on");
    r.props = rich_props();
    this->store_->put_retained(r);
    StoredSession sess = session("edge-42");
    this->store_->put_session(sess);
    this->store_->put_subscription("edge-42", sub("city/#", 2));
    StoredQueuedMessage q = queued(9, "pending");
    q.subscription_ids = {3};
    this->store_->put_queued("edge-42", q);
    this->reopen();

    BrokerSnapshot s = this->snapshot();
    ASSERT_EQ(s.retained.size(), 1u);
    EXPECT_EQ(s.retained[0], r);
    ASSERT_EQ(s.sessions.size(), 1u);
    sess.subscriptions = {sub("city/#", 2)};
    sess.queue = {q};
    EXPECT_EQ(s.sessions[0], sess);
  }
}

TYPED_TEST(BrokerStoreTest, ManyChangesAreAllKept) {
  this->store_->put_session(session("bulk"));
  for (uint64_t i = 1; i <= 2000; ++i) this->store_->put_queued("bulk", queued(i, std::to_string(i)));
  for (uint64_t i = 1; i <= 2000; i += 2) this->store_->erase_queued("bulk", i);
  BrokerSnapshot s = this->snapshot();
  ASSERT_EQ(s.sessions.size(), 1u);
  ASSERT_EQ(s.sessions[0].queue.size(), 1000u);
  EXPECT_EQ(s.sessions[0].queue.front().seq, 2u);
  EXPECT_EQ(s.sessions[0].queue.back().seq, 2000u);
}

// ---------------------------------------------------------------- per-implementation

TEST(MemoryBrokerStore, InjectedWriteFailureIsReportedAndRecovers) {
  MemoryBrokerStore store;
  store.set_fail_writes(true);
  store.put_retained(retained("t", "lost"));
  EXPECT_EQ(store.health().code(), Code::kIoError);
  EXPECT_FALSE(store.flush().ok());
  EXPECT_TRUE(store.load()->retained.empty()) << "a failed write is lost, as on a full disk";

  store.set_fail_writes(false);
  store.put_retained(retained("t", "kept"));
  EXPECT_TRUE(store.health().ok());
  EXPECT_TRUE(store.flush().ok());
  ASSERT_EQ(store.load()->retained.size(), 1u);
}

TEST(SqliteBrokerStore, RefusesDatabaseFromNewerVersion) {
  TempDir dir;
  const std::string path = dir.file("broker.db");
  {
    auto store = storage::sqlite::SqliteBrokerStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
  }
  {
    auto db = storage::sqlite::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("INSERT INTO schema_version(version, applied_unix_ms) VALUES(999, 0)").ok());
  }
  auto store = storage::sqlite::SqliteBrokerStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("999"), std::string::npos) << store.status().message();
}

TEST(SqliteBrokerStore, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.file("broker.db");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not an sqlite database, just some text long enough to have a header...", f);
    std::fclose(f);
  }
  auto store = storage::sqlite::SqliteBrokerStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kCorruption) << store.status().message();
}

TEST(SqliteBrokerStore, CorruptPropertiesAreReportedNotCrashed) {
  TempDir dir;
  const std::string path = dir.file("broker.db");
  auto store = storage::sqlite::SqliteBrokerStore::open(path);
  ASSERT_TRUE(store.ok());
  (*store)->put_retained(retained("t", "x"));
  ASSERT_TRUE((*store)->flush().ok());
  {
    auto db = storage::sqlite::Database::open(path);
    ASSERT_TRUE(db.ok());
    // Property block claiming 5 bytes but holding one unknown id.
    ASSERT_TRUE(db->exec("UPDATE retained SET props = x'05ff'").ok());
  }
  Result<BrokerSnapshot> snap = (*store)->load();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), Code::kCorruption);
  EXPECT_NE(snap.status().message().find("retained 't'"), std::string::npos) << snap.status().message();
}

}  // namespace
}  // namespace urbis::mqtt
