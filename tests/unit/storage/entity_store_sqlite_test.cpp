// SqliteEntityStore specifics: the file layout, commits seen from another
// connection, I/O faults and a full disk (writes refused with the reason,
// reads keep working, nothing committed is damaged), and refusing files it
// cannot read.
#include "storage/sqlite/entity_store_sqlite.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "entity_store_test_util.hpp"

namespace urbis::storage::sqlite {
namespace {

using model::AppendMode;
using model::ChangeBus;
using model::ChangeEvent;
using model::WriteDone;
using model::WriteOutcome;
using testutil::entity;
using testutil::TempDir;

class SqliteEntityStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteEntityStore> open(EntityStoreOptions o = {}) {
    auto s = SqliteEntityStore::open(path_, bus_, std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  Result<WriteOutcome> create(SqliteEntityStore& s, const std::string& json) {
    return testutil::wait_write([&](WriteDone d) { s.create("", entity(json), std::move(d)); });
  }
  // Rows as another connection sees them: only what was committed.
  std::vector<std::string> committed_ids() {
    Result<Database> db = Database::open(path_);
    EXPECT_TRUE(db.ok());
    Result<Statement> st = db->prepare("SELECT id FROM entities ORDER BY tenant, id");
    EXPECT_TRUE(st.ok());
    std::vector<std::string> out;
    while (st->step().value()) out.push_back(st->column_text(0));
    return out;
  }

  TempDir dir_;
  std::string path_ = dir_.file(SqliteEntityStore::kFileName);
  ChangeBus bus_;
};

TEST_F(SqliteEntityStoreTest, EventsComeAfterTheRowIsCommitted) {
  auto s = open();
  std::vector<std::string> seen_in_file;
  ChangeBus::Token t = bus_.subscribe([&](const ChangeEvent& e) {
    auto ids = committed_ids();
    seen_in_file.push_back(std::find(ids.begin(), ids.end(), e.entity_id) != ids.end() ? "committed" : "missing");
  });
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:1", "type": "T"})").ok());
  ASSERT_TRUE(s->flush().ok());  // the event follows the completion callback
  bus_.unsubscribe(t);
  EXPECT_EQ(seen_in_file, std::vector<std::string>{"committed"});
}

TEST_F(SqliteEntityStoreTest, StoredRowHasColumnsAndTheDocument) {
  auto s = open();
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:1", "type": ["T", "U"], "v": {"type": "Property", "value": 21.5}})").ok());
  Result<Database> db = Database::open(path_);
  ASSERT_TRUE(db.ok());
  Result<Statement> st = db->prepare("SELECT tenant, types, doc FROM entities");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->step().value());
  EXPECT_EQ(st->column_text(0), "");
  EXPECT_EQ(st->column_text(1), R"(["T","U"])");
  EXPECT_NE(st->column_text(2).find(R"("v":{"type":"Property","value":21.5,"createdAt":")"), std::string::npos)
      << st->column_text(2);
  EXPECT_EQ(db->schema_version().value(), SqliteEntityStore::schema_version());
}

TEST_F(SqliteEntityStoreTest, IoErrorRefusesWritesWithTheReasonAndReadsKeepWorking) {
  std::atomic<bool> failing{false};
  EntityStoreOptions o;
  o.fault_hook = [&](Database&, uint64_t) { return failing ? IoError("injected: disk I/O error") : Status::Ok(); };
  auto s = open(std::move(o));
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:1", "type": "T", "v": {"type": "Property", "value": 1}})").ok());
  ASSERT_TRUE(s->flush().ok());  // the create's event is out before we count
  std::atomic<int> events{0};
  ChangeBus::Token t = bus_.subscribe([&](const ChangeEvent&) { ++events; });

  failing = true;
  Result<WriteOutcome> r = create(*s, R"({"id": "urn:a:2", "type": "T"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIoError);
  EXPECT_NE(r.status().message().find("injected"), std::string::npos) << r.status().message();
  Result<WriteOutcome> m = testutil::wait_write([&](WriteDone d) {
    s->merge("", entity(R"({"id": "urn:a:1", "v": {"type": "Property", "value": 2}})", true), std::move(d));
  });
  EXPECT_FALSE(m.ok());
  EXPECT_FALSE(s->health().ok());
  // Reads keep working and show the last committed state.
  ASSERT_NE(s->get("", "urn:a:1"), nullptr);
  EXPECT_EQ(s->get("", "urn:a:1")->find("v")->value.to_number<double>(), 1);
  EXPECT_EQ(s->get("", "urn:a:2"), nullptr);
  EXPECT_EQ(events.load(), 0) << "a failed write publishes nothing";

  failing = false;
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:3", "type": "T"})").ok());
  // flush() waits for its event (which follows its completion) and reports
  // the failures since the previous flush; the one after it has none.
  EXPECT_FALSE(s->flush().ok());
  EXPECT_TRUE(s->flush().ok());
  EXPECT_TRUE(s->health().ok());
  EXPECT_EQ(events.load(), 1);
  bus_.unsubscribe(t);
  s.reset();
  EXPECT_EQ(committed_ids(), (std::vector<std::string>{"urn:a:1", "urn:a:3"}));
  auto again = open();
  EXPECT_EQ(again->get("", "urn:a:1")->find("v")->value.to_number<double>(), 1);
}

TEST_F(SqliteEntityStoreTest, FullDiskRefusesWritesAndRecovers) {
  std::atomic<int> cap{0};  // max_page_count to set on the next write; 0 = leave
  EntityStoreOptions o;
  o.fault_hook = [&](Database& db, uint64_t) -> Status {
    int c = cap.exchange(0);
    return c == 0 ? Status::Ok() : db.exec("PRAGMA max_page_count = " + std::to_string(c));
  };
  auto s = open(std::move(o));
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:1", "type": "T"})").ok());
  cap = 1;  // smaller than the file: nothing more fits
  const std::string big(100000, 'x');
  Result<WriteOutcome> r = create(*s, R"({"id": "urn:a:2", "type": "T", "blob": {"type": "Property", "value": ")" +
                                          big + R"("}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().message();
  EXPECT_EQ(s->get("", "urn:a:2"), nullptr);
  EXPECT_NE(s->get("", "urn:a:1"), nullptr);
  cap = 1073741823;  // space is back
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:2", "type": "T", "blob": {"type": "Property", "value": ")" + big +
                             R"("}})")
                  .ok());
  s.reset();
  EXPECT_EQ(committed_ids(), (std::vector<std::string>{"urn:a:1", "urn:a:2"}));
}

// Several writes to one entity in one group commit, one of them failing: the
// writer rolls the batch back and reruns it item by item; the writes after the
// failed one must build on the state without it (they read the entity back
// inside the transaction), and memory must match the file afterwards.
TEST_F(SqliteEntityStoreTest, AFailedWriteAmongWritesToTheSameEntityLeavesTheOthersIntact) {
  std::promise<void> queued;
  std::shared_future<void> queued_f = queued.get_future().share();
  EntityStoreOptions o;
  o.writer.max_batch_delay = std::chrono::milliseconds(200);  // let the batch absorb writes 3..6
  o.fault_hook = [&](Database&, uint64_t seq) -> Status {
    if (seq == 2) queued_f.wait();  // hold the writer until writes 3..6 are queued
    return seq == 4 ? IoError("injected failure of write 4") : Status::Ok();
  };
  auto s = open(std::move(o));
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:1", "type": "T"})").ok());  // write 1
  std::vector<std::future<Result<WriteOutcome>>> results;
  for (int i = 2; i <= 6; ++i) {
    auto p = std::make_shared<std::promise<Result<WriteOutcome>>>();
    results.push_back(p->get_future());
    s->merge("", entity(R"({"id": "urn:a:1", "a)" + std::to_string(i) + R"(": {"type": "Property", "value": )" +
                        std::to_string(i) + "}}", true),
             [p](Result<WriteOutcome> r) { p->set_value(std::move(r)); });
  }
  queued.set_value();
  for (int i = 2; i <= 6; ++i) {
    Result<WriteOutcome> r = results[i - 2].get();
    EXPECT_EQ(r.ok(), i != 4) << "write " << i << ": " << r.status().message();
  }
  auto e = s->get("", "urn:a:1");
  std::vector<std::string> names;
  for (const auto& [name, inst] : e->attributes) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"a2", "a3", "a5", "a6"}));
  s.reset();
  auto again = open();
  EXPECT_EQ(*again->get("", "urn:a:1"), *e) << "the file holds what memory held";
}

TEST_F(SqliteEntityStoreTest, DeleteAndRecreateInOneTransactionSeeEachOther) {
  std::promise<void> queued;
  std::shared_future<void> queued_f = queued.get_future().share();
  EntityStoreOptions o;
  o.writer.max_batch_delay = std::chrono::milliseconds(200);  // one transaction for writes 3..6
  o.fault_hook = [&](Database&, uint64_t seq) -> Status {
    if (seq == 2) queued_f.wait();
    return Status::Ok();
  };
  auto s = open(std::move(o));
  ASSERT_TRUE(create(*s, R"({"id": "urn:a:1", "type": "T", "old": {"type": "Property", "value": 1}})").ok());
  auto done = [](std::shared_ptr<std::promise<Result<WriteOutcome>>> p) {
    return [p](Result<WriteOutcome> r) { p->set_value(std::move(r)); };
  };
  std::vector<std::shared_ptr<std::promise<Result<WriteOutcome>>>> ps;
  for (int i = 0; i < 5; ++i) ps.push_back(std::make_shared<std::promise<Result<WriteOutcome>>>());
  s->merge("", entity(R"({"id": "urn:a:1", "a2": {"type": "Property", "value": 2}})", true), done(ps[0]));  // 2
  s->delete_entity("", "urn:a:1", done(ps[1]));                                                            // 3
  s->merge("", entity(R"({"id": "urn:a:1", "a4": {"type": "Property", "value": 4}})", true), done(ps[2]));  // 4: gone
  s->create("", entity(R"({"id": "urn:a:1", "type": "U"})"), done(ps[3]));                                  // 5
  s->merge("", entity(R"({"id": "urn:a:1", "a6": {"type": "Property", "value": 6}})", true), done(ps[4]));  // 6
  queued.set_value();
  std::vector<Result<WriteOutcome>> r;
  for (auto& p : ps) r.push_back(p->get_future().get());
  EXPECT_TRUE(r[0].ok());
  EXPECT_TRUE(r[1].ok());
  EXPECT_EQ(r[2].status().code(), Code::kNotFound) << "write 4 saw the delete of write 3";
  EXPECT_TRUE(r[3].ok()) << r[3].status().message() << " (write 5 saw the delete, so the create is allowed)";
  ASSERT_TRUE(r[4].ok());
  auto e = s->get("", "urn:a:1");
  ASSERT_NE(e, nullptr);
  std::vector<std::string> names;
  for (const auto& [name, inst] : e->attributes) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"a6"}));
  EXPECT_EQ(e->types, (std::vector<std::string>{"U"}));
  s.reset();
  auto again = open();
  EXPECT_EQ(*again->get("", "urn:a:1"), *e) << "the file holds what memory held";
}

TEST_F(SqliteEntityStoreTest, RefusesACorruptDocumentNamingIt) {
  open().reset();  // creates the schema
  {
    Result<Database> db = Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("INSERT INTO entities VALUES('t1', 'urn:bad:1', '[]', 0, 0, '{\"id\": 5}')").ok());
  }
  auto s = SqliteEntityStore::open(path_, bus_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("urn:bad:1"), std::string::npos) << s.status().message();
}

TEST_F(SqliteEntityStoreTest, RefusesAFileFromANewerVersion) {
  open().reset();
  {
    Result<Database> db = Database::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("INSERT INTO schema_version VALUES(99, 0)").ok());
  }
  auto s = SqliteEntityStore::open(path_, bus_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << s.status().message();
}

}  // namespace
}  // namespace urbis::storage::sqlite
