// A data directory written by this version of Urbis (schema versions: broker
// 1, state 1, history 1) is kept in tests/fixtures/data-v1. Every later
// version must open it (migrating forward) and find the same content: this is
// how an upgrade proves it loses nothing. Regenerate only when the fixture's
// content itself changes, with URBIS_UPDATE_FIXTURES=1 — never to make a
// newer schema pass.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "model/change_events.hpp"
#include "model/entity_json.hpp"
#include "mqtt/codec/packet.hpp"
#include "storage/sqlite/broker_store_sqlite.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"
#include "storage/sqlite/time_series_sqlite.hpp"

namespace urbis::storage::sqlite {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(URBIS_SOURCE_DIR) / "tests/fixtures/data-v1";
constexpr int64_t kT0 = 1795594500000;  // 2026-11-25T08:15:00Z

const char* kEntity = R"({"id":"urn:ngsi-ld:AirQualityObserved:main-street","type":"AirQualityObserved",
  "NO2":{"type":"Property","value":41.5,"unitCode":"GQ","observedAt":"2026-11-25T08:15:00Z"},
  "location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[2.1734,41.3851]}},
  "refDevice":{"type":"Relationship","object":"urn:ngsi-ld:Device:aq-1"}})";

tsdb::SeriesKey series() { return {"", "urn:ngsi-ld:AirQualityObserved:main-street", "NO2", ""}; }

void write_fixture(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto b = SqliteBrokerStore::open((dir / "broker.db").string());
    ASSERT_TRUE(b.ok()) << b.status().message();
    mqtt::StoredMessage r;
    r.topic = "city/lights/7/state";
    r.payload = "on";
    r.qos = 1;
    r.retain = true;
    r.props.content_type = "text/plain";
    (*b)->put_retained(r);
    mqtt::StoredSession s;
    s.client_id = "dashboard-1";
    s.protocol_version = 5;
    s.expiry_interval = 3600;
    s.disconnected_unix_ms = kT0;
    (*b)->put_session(s);
    (*b)->put_subscription("dashboard-1", {"city/#", 1, false, false, 0, 7});
    mqtt::StoredQueuedMessage q;
    q.seq = 1;
    q.msg.topic = "city/alerts";
    q.msg.payload = "flood";
    q.msg.qos = 1;
    q.subscription_ids = {7};
    (*b)->put_queued("dashboard-1", q);
    ASSERT_TRUE((*b)->flush().ok());
  }
  {
    model::ChangeBus bus;
    auto e = SqliteEntityStore::open((dir / SqliteEntityStore::kFileName).string(), bus);
    ASSERT_TRUE(e.ok()) << e.status().message();
    auto ent = model::entity_from_text(kEntity);
    ASSERT_TRUE(ent.ok()) << ent.status().message();
    (*e)->create("", *ent, {});
    ASSERT_TRUE((*e)->flush().ok());
  }
  {
    auto h = SqliteTimeSeriesStore::open((dir / SqliteTimeSeriesStore::kFileName).string());
    ASSERT_TRUE(h.ok()) << h.status().message();
    std::vector<tsdb::Measurement> batch;
    // Enough points to seal compressed chunks, plus an open head.
    for (int i = 0; i < 3000; ++i) {
      batch.push_back({series(), kT0 + i * 15000, tsdb::Value::of(40 + (i % 17) * 0.25), "k" + std::to_string(i)});
    }
    batch.push_back({{"", "urn:ngsi-ld:AirQualityObserved:main-street", "status", ""}, kT0,
                     tsdb::Value::of_string("ok"), ""});
    (*h)->append(std::move(batch), {});
    ASSERT_TRUE((*h)->flush().ok());
  }
  // Keep only the database files (WAL checkpointed on close).
  for (auto& f : fs::directory_iterator(dir)) {
    auto ext = f.path().extension().string();
    if (ext != ".db") fs::remove(f.path());
  }
}

TEST(GoldenDataDir, Version1OpensWithEverythingInIt) {
  if (std::getenv("URBIS_UPDATE_FIXTURES")) write_fixture(kFixture);
  ASSERT_TRUE(fs::exists(kFixture / "broker.db")) << "missing fixture " << kFixture;
  // Work on a copy: opening may migrate the files forward.
  fs::path dir = fs::temp_directory_path() / ("urbis-golden-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(kFixture, dir, fs::copy_options::recursive);

  {
    auto b = SqliteBrokerStore::open((dir / "broker.db").string());
    ASSERT_TRUE(b.ok()) << b.status().message();
    auto snap = (*b)->load();
    ASSERT_TRUE(snap.ok()) << snap.status().message();
    ASSERT_EQ(snap->retained.size(), 1u);
    EXPECT_EQ(snap->retained[0].topic, "city/lights/7/state");
    EXPECT_EQ(snap->retained[0].payload, "on");
    EXPECT_EQ(snap->retained[0].props.content_type, "text/plain");
    ASSERT_EQ(snap->sessions.size(), 1u);
    const auto& s = snap->sessions[0];
    EXPECT_EQ(s.client_id, "dashboard-1");
    EXPECT_EQ(s.expiry_interval, 3600u);
    ASSERT_EQ(s.subscriptions.size(), 1u);
    EXPECT_EQ(s.subscriptions[0].filter, "city/#");
    EXPECT_EQ(s.subscriptions[0].subscription_id, 7u);
    ASSERT_EQ(s.queue.size(), 1u);
    EXPECT_EQ(s.queue[0].msg.payload, "flood");
    EXPECT_EQ(s.queue[0].subscription_ids, std::vector<uint32_t>{7});
  }
  {
    model::ChangeBus bus;
    auto e = SqliteEntityStore::open((dir / SqliteEntityStore::kFileName).string(), bus);
    ASSERT_TRUE(e.ok()) << e.status().message();
    auto got = (*e)->get("", "urn:ngsi-ld:AirQualityObserved:main-street");
    ASSERT_NE(got, nullptr);
    const auto* no2 = got->find("NO2");
    ASSERT_NE(no2, nullptr);
    EXPECT_EQ(no2->value.as_double(), 41.5);
    EXPECT_EQ(no2->unit_code, "GQ");
    EXPECT_EQ(no2->observed_at_ms, kT0);
    ASSERT_NE(got->find("location"), nullptr);
    ASSERT_NE(got->find("refDevice"), nullptr);
  }
  {
    auto h = SqliteTimeSeriesStore::open((dir / SqliteTimeSeriesStore::kFileName).string());
    ASSERT_TRUE(h.ok()) << h.status().message();
    tsdb::RangeQuery q;
    q.key = series();
    auto pts = (*h)->range(q);
    ASSERT_TRUE(pts.ok()) << pts.status().message();
    ASSERT_EQ(pts->size(), 3000u);
    for (int i = 0; i < 3000; ++i) {
      ASSERT_EQ((*pts)[i].t_ms, kT0 + i * 15000) << i;
      ASSERT_EQ((*pts)[i].value, tsdb::Value::of(40 + (i % 17) * 0.25)) << i;
    }
    // Idempotency keys survive too: the same key is not stored again.
    (*h)->append({{series(), kT0 + 5, tsdb::Value::of(1), "k5"}}, {});
    ASSERT_TRUE((*h)->flush().ok());
    auto again = (*h)->range(q);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->size(), 3000u);
    tsdb::RangeQuery s;
    s.key = {"", "urn:ngsi-ld:AirQualityObserved:main-street", "status", ""};
    auto status = (*h)->range(s);
    ASSERT_TRUE(status.ok());
    ASSERT_EQ(status->size(), 1u);
    EXPECT_EQ((*status)[0].value, tsdb::Value::of_string("ok"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace urbis::storage::sqlite
