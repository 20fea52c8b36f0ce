// Device ingest: topic recognition, the entity a device's readings become, and
// the pipeline from payload to committed state, history, device activity and
// alerts (real SQLite entity store, in-memory history and device store).
#include "ingest/device_ingest.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <future>

#include "../storage/entity_store_test_util.hpp"
#include "devices/registry/device_store.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"
#include "tsdb/memory_time_series_store.hpp"

namespace urbis::ingest {
namespace {

namespace json = boost::json;
using devices::Device;

constexpr int64_t kNow = 1764000000000;  // 2025-11-24T16:00:00Z

class DeviceIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = storage::sqlite::SqliteEntityStore::open(":memory:", bus);
    ASSERT_TRUE(s.ok()) << s.status().message();
    entities = std::move(*s);
    ASSERT_TRUE(registry.load().ok());
    ASSERT_TRUE(profiles.load("").ok());
    writer = std::make_unique<MeasurementWriter>(history, *entities, clock, io.get_executor(), &bus);
    sink = std::make_unique<DeviceIngestSink>(registry, profiles, *writer, clock, &bus);
    bus.subscribe([this](const model::ChangeEvent& e) {
      if (e.kind == model::ChangeEvent::Kind::kDeviceAlert) {
        std::lock_guard lock(mu);
        alerts.push_back(e);
      }
    });
  }

  devices::DeviceWithToken add(std::string id, std::string profile = "", std::string tenant = "city") {
    devices::DeviceSpec spec;
    spec.id = std::move(id);
    spec.tenant = std::move(tenant);
    spec.profile = std::move(profile);
    spec.location = devices::GeoPoint{7.68, 45.07, std::nullopt};
    std::promise<Result<devices::DeviceWithToken>> p;
    registry.create(spec, [&p](Result<devices::DeviceWithToken> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : devices::DeviceWithToken{};
  }

  // Runs one payload through the HTTP entry and waits for the answer.
  Status send(const std::string& id, std::optional<devices::Format> f, std::string_view payload,
              std::shared_ptr<DeviceIngestSink::Summary> summary = nullptr) {
    std::promise<Status> p;
    sink->ingest_payload(id, f, payload, "", summary, [&p](const Status& st) { p.set_value(st); });
    return p.get_future().get();
  }

  Status publish(const std::string& topic, std::string payload) {
    auto msg = std::make_shared<mqtt::Message>();
    msg->topic = topic;
    msg->payload = std::move(payload);
    std::promise<Status> p;
    sink->ingest(mqtt::ClientIdentity{"gw", std::nullopt, "127.0.0.1", "tcp", ""}, msg,
                 [&p](const Status& st) { p.set_value(st); });
    return p.get_future().get();
  }

  std::vector<tsdb::Point> points(const std::string& tenant, const std::string& eid, const std::string& attr) {
    tsdb::RangeQuery q;
    q.key = {tenant, eid, attr, ""};
    auto r = history.range(q);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<tsdb::Point>{};
  }

  testutil::ManualClock clock{kNow};
  model::ChangeBus bus;
  std::unique_ptr<storage::sqlite::SqliteEntityStore> entities;
  tsdb::MemoryTimeSeriesStore history;
  devices::MemoryDeviceStore device_store;
  devices::DeviceRegistry registry{device_store, clock, {.background_flush = false}};
  devices::ProfileSet profiles;
  boost::asio::io_context io;
  std::unique_ptr<MeasurementWriter> writer;
  std::unique_ptr<DeviceIngestSink> sink;
  std::mutex mu;
  std::vector<model::ChangeEvent> alerts;  // guarded by mu
};

TEST_F(DeviceIngestTest, WantsDeviceAndNetworkServerUplinkTopicsOnly) {
  for (const char* t : {"urbis/city/m1/up", "urbis/default/m1/up/lpp", "urbis/city/m1/up/senml-cbor",
                        "application/3b1c/device/0004a30b001c0530/event/up", "v3/parking@ttn/devices/spot-1/up"}) {
    EXPECT_TRUE(sink->wants(t)) << t;
  }
  for (const char* t : {"urbis/city/m1/down", "urbis/city/m1/up/", "urbis/city/m1/up/a/b", "urbis/city/up",
                        "urbis//m1/up", "urbis/ingest/default/Meter/m1", "application/3b1c/device/0004a30b001c0530/event/join",
                        "application/3b1c/device/xyz/event/up", "v3/parking@ttn/devices/spot-1/join", "other"}) {
    EXPECT_FALSE(sink->wants(t)) << t;
  }
}

TEST_F(DeviceIngestTest, ToDecodedAddsLocationAndRefDeviceToStateOnly) {
  Device d;
  d.tenant = "city";
  d.id = "aq-1";
  d.location = devices::GeoPoint{7.5, 45.0, 240.0};
  devices::Mapped m;
  m.entity_type = "AirQualityObserved";
  m.entity_id = "urn:ngsi-ld:AirQualityObserved:aq-1";
  m.attributes.push_back({"no2", json::value(41), "GQ", kNow - 1000});
  m.attributes.push_back({"o3", json::value(60.5), "", std::nullopt});
  Decoded out = to_decoded(d, m, kNow, "");
  ASSERT_EQ(out.measurements.size(), 2u);
  EXPECT_EQ(out.measurements[0].observed_at_ms, kNow - 1000);
  EXPECT_EQ(out.measurements[0].idempotency_key, "t" + std::to_string(kNow - 1000));
  EXPECT_EQ(out.measurements[1].observed_at_ms, kNow);
  EXPECT_EQ(out.measurements[1].idempotency_key, "");  // no own time, no key: a new reading each time
  EXPECT_EQ(out.state.find("no2")->unit_code, "GQ");
  EXPECT_EQ(json::serialize(out.state.find("location")->value),
            R"({"type":"Point","coordinates":[7.5E0,4.5E1,2.4E2]})");
  EXPECT_EQ(out.state.find("refDevice")->kind, model::AttributeKind::kRelationship);
  EXPECT_EQ(out.state.find("refDevice")->value.as_string(), "urn:ngsi-ld:Device:aq-1");
  // A message key is every point's key.
  out = to_decoded(d, m, kNow, "k1");
  EXPECT_EQ(out.measurements[1].idempotency_key, "k1");
}

TEST_F(DeviceIngestTest, ProfiledPayloadBecomesStateHistoryAndActivity) {
  add("aq-1", "air-quality");
  auto summary = std::make_shared<DeviceIngestSink::Summary>();
  ASSERT_TRUE(send("aq-1", std::nullopt, R"({"no2": 41, "observedAt": "2025-11-24T15:00:00Z"})", summary).ok());
  EXPECT_EQ(summary->entity_id, "urn:ngsi-ld:AirQualityObserved:aq-1");
  EXPECT_EQ(summary->attributes, 1u);
  auto e = entities->get("city", "urn:ngsi-ld:AirQualityObserved:aq-1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->types, std::vector<std::string>{"AirQualityObserved"});
  EXPECT_EQ(e->find("no2")->value.to_number<double>(), 41);
  EXPECT_TRUE(e->find("location"));
  auto p = points("city", "urn:ngsi-ld:AirQualityObserved:aq-1", "no2");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].t_ms, kNow - 3600 * 1000);
  // A second reading rewrites no2 but not the unchanged location and refDevice.
  const int64_t location_modified = e->find("location")->modified_at_ms;
  clock.advance(5000);
  ASSERT_TRUE(send("aq-1", std::nullopt, R"({"no2": 42})").ok());
  e = entities->get("city", "urn:ngsi-ld:AirQualityObserved:aq-1");
  EXPECT_EQ(e->find("no2")->value.to_number<double>(), 42);
  EXPECT_EQ(e->find("location")->modified_at_ms, location_modified);
  auto dev = registry.get("aq-1");
  EXPECT_EQ(dev->state, devices::DeviceState::kActive);
  EXPECT_EQ(dev->last_seen_ms, kNow + 5000);
  EXPECT_EQ(sink->stats().accepted, 2u);
}

TEST_F(DeviceIngestTest, RefusalsAreTypedAndKeptOnTheDevice) {
  add("m-1");
  EXPECT_EQ(send("nobody", std::nullopt, "{}").code(), Code::kNotFound);
  Status st = send("m-1", devices::Format::kCayenneLpp, std::string("\x01\x67", 2));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  auto dev = registry.get("m-1");
  EXPECT_EQ(dev->error_count, 1);
  EXPECT_EQ(dev->last_error, st.message());
  // The wrong tenant in the topic, an unknown format in the topic.
  EXPECT_EQ(publish("urbis/other/m-1/up", "{}").code(), Code::kPermissionDenied);
  EXPECT_EQ(publish("urbis/city/m-1/up/xml", "{}").code(), Code::kInvalidArgument);
  // A profile that does not exist.
  add("m-2", "no-such-profile");
  st = send("m-2", std::nullopt, R"({"v": 1})");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("no-such-profile"), std::string::npos);
  // A disabled device sends nothing.
  std::promise<Result<Device>> p;
  devices::DevicePatch patch;
  patch.state = devices::DeviceState::kDisabled;
  registry.update("m-1", patch, [&p](Result<Device> r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(p.get_future().get().ok());
  EXPECT_EQ(send("m-1", std::nullopt, R"({"v": 1})").code(), Code::kPermissionDenied);
  EXPECT_EQ(sink->stats().rejected, 6u);
  EXPECT_EQ(sink->stats().accepted, 0u);
}

TEST_F(DeviceIngestTest, UnprofiledLppOverMqttLandsOnADeviceEntity) {
  add("lpp-1");
  ASSERT_TRUE(publish("urbis/city/lpp-1/up/lpp", std::string("\x01\x67\x00\xD7\x02\x68\x64", 7)).ok());
  auto e = entities->get("city", "urn:ngsi-ld:Device:lpp-1");
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->find("temperature_1")) << model::entity_to_text(*e);
  ASSERT_TRUE(e->find("relative_humidity_2")) << model::entity_to_text(*e);
  EXPECT_DOUBLE_EQ(e->find("temperature_1")->value.to_number<double>(), 21.5);
  EXPECT_DOUBLE_EQ(e->find("relative_humidity_2")->value.to_number<double>(), 50);
}

std::string chirpstack(const std::string& eui, uint32_t fcnt, const std::string& time, const std::string& object) {
  return R"({"time":")" + time + R"(","deviceInfo":{"applicationId":"app-1","deviceName":"spot","devEui":")" + eui +
         R"("},"fCnt":)" + std::to_string(fcnt) + R"(,"fPort":1,"object":)" + object + "}";
}

TEST_F(DeviceIngestTest, LorawanUplinksAreIdempotentAndReplaysRaiseAnAlert) {
  const std::string eui = "0004a30b001c0530";
  add(eui, "", "");
  std::vector<std::pair<std::string, std::string>> routes;
  sink->set_lorawan_route_observer([&](const std::string& d, const std::string& app) { routes.emplace_back(d, app); });
  const std::string topic = "application/app-1/device/" + eui + "/event/up";
  ASSERT_TRUE(publish(topic, chirpstack(eui, 100, "2025-11-24T15:00:00Z", R"({"occupied":true})")).ok());
  ASSERT_TRUE(publish(topic, chirpstack(eui, 100, "2025-11-24T15:00:00Z", R"({"occupied":true})")).ok());  // again
  ASSERT_TRUE(publish(topic, chirpstack(eui, 101, "2025-11-24T15:01:00Z", R"({"occupied":false})")).ok());
  EXPECT_EQ(points("", "urn:ngsi-ld:Device:" + eui, "occupied").size(), 2u);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(alerts.empty());
  }
  ASSERT_TRUE(publish(topic, chirpstack(eui, 50, "2025-11-24T15:02:00Z", R"({"occupied":true})")).ok());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].entity_id, "urn:ngsi-ld:Device:" + eui);
    EXPECT_EQ(alerts[0].attributes, std::vector<std::string>{"frameCounterReplay"});
  }
  EXPECT_EQ(sink->stats().lorawan_alerts, 1u);
  // Stored all the same, and flagged: the security module decides.
  EXPECT_EQ(points("", "urn:ngsi-ld:Device:" + eui, "occupied").size(), 3u);
  ASSERT_FALSE(routes.empty());
  EXPECT_EQ(routes.back(), std::make_pair(eui, std::string("app-1")));
  // An uplink without a payload is a heartbeat: the device is alive, nothing is written.
  ASSERT_TRUE(publish(topic, R"({"time":"2025-11-24T15:03:00Z","deviceInfo":{"devEui":")" + eui +
                                 R"("},"fCnt":102,"fPort":1})")
                  .ok());
  EXPECT_EQ(sink->stats().empty, 1u);
  // A DevEUI registered in upper case is the same device.
  add("AABBCCDDEEFF0011", "", "");
  EXPECT_TRUE(publish("application/app-1/device/aabbccddeeff0011/event/up",
                      chirpstack("aabbccddeeff0011", 1, "2025-11-24T15:00:00Z", R"({"occupied":true})"))
                  .ok());
  EXPECT_EQ(points("", "urn:ngsi-ld:Device:AABBCCDDEEFF0011", "occupied").size(), 1u);
  // A DevEUI nobody registered.
  EXPECT_EQ(publish("application/app-1/device/ffffffffffffffff/event/up",
                    chirpstack("ffffffffffffffff", 1, "2025-11-24T15:00:00Z", "{}"))
                .code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace urbis::ingest
