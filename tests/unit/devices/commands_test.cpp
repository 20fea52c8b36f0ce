// Downlink commands: body parsing (errors name the member), the wire forms
// (MQTT payload, ChirpStack v4 enqueue), the stored document, the SQLite
// store, and the service's state machine (queued -> sent | expired | failed,
// retries on subscribe and on a learned route, per-device order and bounds,
// cancel, restart) against a fake publisher and a fake clock.
#include "devices/commands/service.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <future>

#include "devices/decoders/encoding.hpp"
#include "storage/sqlite/command_store_sqlite.hpp"
#include "testutil/temp_dir.hpp"

namespace urbis::devices {
namespace {

namespace json = boost::json;

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return steady; }
  int64_t unix_ms() const override { return unix; }
  void advance(std::chrono::milliseconds d) {
    steady += d;
    unix += d.count();
  }
  std::chrono::steady_clock::time_point steady{};
  int64_t unix = 1'800'000'000'000;
};

// Records what was published; `takers` says how many sessions take a topic.
class FakePublisher final : public DownlinkPublisher {
 public:
  struct Call {
    std::string topic;
    std::string payload;
    int64_t expiry;
    bool exact_only;
  };
  size_t publish(const std::string& topic, std::string payload, int64_t expiry, bool exact_only) override {
    calls.push_back({topic, std::move(payload), expiry, exact_only});
    auto it = takers.find(topic);
    return it == takers.end() ? 0 : it->second;
  }
  std::vector<Call> calls;
  std::map<std::string, size_t> takers;
};

Result<CommandRequest> parse(std::string_view text) { return parse_command_request(json::parse(text)); }

std::string field(const Status& st) { return st.message().substr(0, st.message().find(':')); }

TEST(CommandParse, AcceptsPayloadOrData) {
  auto r = parse(R"({"payload":{"valve":"open","level":21.5},"fPort":10,"confirmed":true,"ttl":60})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(json::serialize(*r->payload), R"({"valve":"open","level":2.15E1})");
  EXPECT_EQ(*r->fport, 10u);
  EXPECT_TRUE(r->confirmed);
  EXPECT_EQ(*r->ttl_s, 60);
  r = parse(R"({"data":"AQID","devEui":"00AABBCCDDEEFF11","applicationId":"a1b2-c3"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r->data, std::string("\x01\x02\x03"));
  EXPECT_EQ(*r->dev_eui, "00aabbccddeeff11");
  EXPECT_EQ(*r->application_id, "a1b2-c3");
}

TEST(CommandParse, ErrorsNameTheMember) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "payload"},
      {R"({"payload":1,"data":"AA=="})", "data"},
      {R"({"data":"not base64!"})", "data"},
      {R"({"data":5})", "data"},
      {R"({"payload":1,"fPort":0})", "fPort"},
      {R"({"payload":1,"fPort":224})", "fPort"},
      {R"({"payload":1,"fPort":"1"})", "fPort"},
      {R"({"payload":1,"confirmed":"yes"})", "confirmed"},
      {R"({"payload":1,"ttl":0})", "ttl"},
      {R"({"payload":1,"ttl":1.5})", "ttl"},
      {R"({"payload":1,"colour":"red"})", "colour"},
      {R"({"payload":1,"devEui":"0011"})", "devEui"},
      {R"({"payload":1,"applicationId":"a/b"})", "applicationId"},
      {R"({"payload":1,"applicationId":""})", "applicationId"},
      {R"([1])", "body"},
  };
  for (const auto& [body, member] : cases) {
    auto r = parse(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << body;
    EXPECT_EQ(field(r.status()), member) << body << " -> " << r.status().message();
  }
  std::string big = R"({"payload":")" + std::string(70000, 'x') + R"("})";
  auto r = parse(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(field(r.status()), "payload");
}

TEST(CommandWire, Base64RoundTripsRfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(base64_encode(plain), enc);
    EXPECT_EQ(base64_decode(enc).value_or("?"), plain);
  }
  std::string bytes("\xff\x00\xfe\x80", 4);
  EXPECT_EQ(base64_decode(base64_encode(bytes)).value_or(""), bytes);
}

TEST(CommandWire, ChirpStackEnqueueMessage) {
  Command c;
  c.id = "6f1c0e2a-0000-4000-8000-000000000001";
  c.dev_eui = "0011223344556677";
  c.fport = 10;
  c.confirmed = true;
  c.data = std::string("\x01\x02\x03", 3);
  EXPECT_EQ(chirpstack_enqueue_json(c),
            R"({"id":"6f1c0e2a-0000-4000-8000-000000000001","devEui":"0011223344556677","confirmed":true,)"
            R"("fPort":10,"data":"AQID"})");
  c.data.reset();
  c.payload = json::parse(R"({"on":true})");
  EXPECT_NE(chirpstack_enqueue_json(c).find(R"("object":{"on":true})"), std::string::npos);
  EXPECT_EQ(chirpstack_down_topic("app-1", c.dev_eui), "application/app-1/device/0011223344556677/command/down");
}

TEST(CommandWire, MqttPayloadIsJsonTextOrRawBytes) {
  Command c;
  c.payload = json::parse(R"({"level":21.5})");
  EXPECT_EQ(mqtt_payload(c), R"({"level":21.5})");  // never 2.15E1
  c.payload.reset();
  c.data = std::string("\x00\x01", 2);
  EXPECT_EQ(mqtt_payload(c), std::string("\x00\x01", 2));
}

TEST(CommandWire, StoredDocumentRoundTrips) {
  Command c;
  c.id = random_uuid();
  c.tenant = "city";
  c.device_id = "dev-1";
  c.created_ms = 1;
  c.expires_ms = 2;
  c.data = std::string("\x00\xff", 2);
  c.fport = 7;
  c.confirmed = true;
  c.transport = CommandTransport::kLorawan;
  c.application_id = "app";
  c.dev_eui = "0011223344556677";
  c.status = CommandStatus::kSent;
  c.status_ms = 3;
  c.error = "e";
  c.attempts = 4;
  c.topic = "t";
  auto back = command_from_stored(command_to_stored(c));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(command_to_stored(*back), command_to_stored(c));
  EXPECT_EQ(*back->data, *c.data);
  for (const char* bad : {"", "[]", R"({"v":2})", R"({"v":1,"id":"x"})"}) {
    auto r = command_from_stored(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << bad;
  }
  EXPECT_EQ(c.id.size(), 36u);
  EXPECT_EQ(c.id[14], '4');
  EXPECT_NE(random_uuid(), c.id);
}

// ------------------------------------------------------------------ service

struct Fixture {
  explicit Fixture(CommandStore& s, CommandOptions o = {}) : store(s) {
    o.background = false;
    o.retry_interval = std::chrono::milliseconds(10000);
    registry = std::make_unique<DeviceRegistry>(device_store, clock, RegistryOptions{.background_flush = false});
    service = std::make_unique<CommandService>(*registry, store, publisher, clock, o);
  }
  Device add(const std::string& id, std::vector<std::string> tags = {}) {
    DeviceSpec spec;
    spec.id = id;
    spec.tenant = "city";
    spec.tags = std::move(tags);
    std::promise<Result<DeviceWithToken>> p;
    registry->create(spec, [&p](Result<DeviceWithToken> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r->device;
  }
  Result<Command> submit(const std::string& device, std::string_view body) {
    auto req = parse(body);
    if (!req.ok()) return req.status();
    std::promise<Result<Command>> p;
    service->submit(device, std::move(*req), [&p](Result<Command> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  Status cancel(const std::string& device, const std::string& id) {
    std::promise<Status> p;
    service->cancel(device, id, [&p](const Status& st) { p.set_value(st); });
    return p.get_future().get();
  }
  CommandStatus status(const std::string& device, const std::string& id) {
    auto c = service->get(device, id);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? c->status : CommandStatus::kFailed;
  }

  FakeClock clock;
  MemoryDeviceStore device_store;
  std::unique_ptr<DeviceRegistry> registry;
  CommandStore& store;
  FakePublisher publisher;
  std::unique_ptr<CommandService> service;
};

TEST(CommandService, MqttCommandWaitsForTheDeviceThenIsSent) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("valve-1");
  auto c = f.submit("valve-1", R"({"payload":{"valve":"open"}})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->status, CommandStatus::kQueued);
  EXPECT_EQ(c->transport, CommandTransport::kMqtt);
  f.service->tick();
  ASSERT_EQ(f.publisher.calls.size(), 1u);
  EXPECT_EQ(f.publisher.calls[0].topic, "urbis/city/valve-1/down");
  EXPECT_EQ(f.publisher.calls[0].payload, R"({"valve":"open"})");
  EXPECT_TRUE(f.publisher.calls[0].exact_only);
  EXPECT_EQ(f.publisher.calls[0].expiry, c->expires_ms);
  auto got = f.service->get("valve-1", c->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, CommandStatus::kQueued);
  EXPECT_NE(got->error.find("subscribe to urbis/city/valve-1/down"), std::string::npos) << got->error;
  EXPECT_EQ(got->attempts, 1u);
  // Not due yet: nothing is offered again before the retry interval.
  f.service->tick();
  EXPECT_EQ(f.publisher.calls.size(), 1u);
  // Another device's subscription changes nothing; the device's own makes it due.
  f.service->on_subscribed("urbis/city/other/down");
  f.service->tick();
  EXPECT_EQ(f.publisher.calls.size(), 1u);
  f.publisher.takers["urbis/city/valve-1/down"] = 1;
  f.service->on_subscribed("urbis/city/valve-1/down");
  f.service->tick();
  ASSERT_EQ(f.publisher.calls.size(), 2u);
  got = f.service->get("valve-1", c->id);
  EXPECT_EQ(got->status, CommandStatus::kSent);
  EXPECT_EQ(got->error, "");
  EXPECT_EQ(got->attempts, 2u);
  EXPECT_EQ(f.service->queued(), 0u);
  // The final status reached the store.
  auto row = store.get(c->id);
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*row)->status, CommandStatus::kSent);
  // A sent command is not offered again.
  f.clock.advance(std::chrono::minutes(5));
  f.service->tick();
  EXPECT_EQ(f.publisher.calls.size(), 2u);
}

TEST(CommandService, RetriesAfterTheIntervalWithoutATrigger) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  auto c = f.submit("d", R"({"data":"AQ=="})");
  f.service->tick();
  f.publisher.takers["urbis/city/d/down"] = 1;
  f.clock.advance(std::chrono::seconds(11));
  f.service->tick();
  EXPECT_EQ(f.status("d", c->id), CommandStatus::kSent);
  EXPECT_EQ(f.publisher.calls.back().payload, std::string("\x01", 1));
}

TEST(CommandService, OneDeviceCommandsLeaveInOrder) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  auto a = f.submit("d", R"({"payload":"first"})");
  auto b = f.submit("d", R"({"payload":"second"})");
  f.service->tick();
  // The second is not offered while the first waits.
  ASSERT_EQ(f.publisher.calls.size(), 1u);
  EXPECT_EQ(f.publisher.calls[0].payload, R"("first")");
  f.publisher.takers["urbis/city/d/down"] = 1;
  f.service->on_subscribed("urbis/city/d/down");
  f.service->tick();
  ASSERT_EQ(f.publisher.calls.size(), 3u);
  EXPECT_EQ(f.publisher.calls[1].payload, R"("first")");
  EXPECT_EQ(f.publisher.calls[2].payload, R"("second")");
  EXPECT_EQ(f.status("d", b->id), CommandStatus::kSent);
  // Newest first.
  auto page = f.service->list("d", 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 2u);
  EXPECT_EQ(page->items[0].id, b->id);
  EXPECT_EQ(page->items[1].id, a->id);
}

TEST(CommandService, UnsentCommandExpiresAfterItsTtl) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  auto c = f.submit("d", R"({"payload":1,"ttl":5})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->expires_ms, c->created_ms + 5000);
  f.service->tick();
  f.clock.advance(std::chrono::seconds(6));
  f.publisher.takers["urbis/city/d/down"] = 1;  // too late
  f.service->tick();
  EXPECT_EQ(f.status("d", c->id), CommandStatus::kExpired);
  EXPECT_EQ(f.publisher.calls.size(), 1u);
  auto got = f.service->get("d", c->id);
  EXPECT_EQ(got->status_ms, f.clock.unix);
}

TEST(CommandService, BoundsPerDevice) {
  MemoryCommandStore store;
  CommandOptions o;
  o.max_pending_per_device = 2;
  Fixture f(store, o);
  f.add("d");
  f.add("e");
  ASSERT_TRUE(f.submit("d", R"({"payload":1})").ok());
  ASSERT_TRUE(f.submit("d", R"({"payload":2})").ok());
  auto third = f.submit("d", R"({"payload":3})");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(field(third.status()), "commands");
  // Other devices are not affected; once one is sent there is room again.
  EXPECT_TRUE(f.submit("e", R"({"payload":1})").ok());
  f.publisher.takers["urbis/city/d/down"] = 1;
  f.service->tick();
  EXPECT_TRUE(f.submit("d", R"({"payload":4})").ok());
}

TEST(CommandService, UnknownDeviceAndCommand) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  f.add("e");
  auto r = f.submit("ghost", R"({"payload":1})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  auto c = f.submit("d", R"({"payload":1})");
  EXPECT_EQ(f.service->get("d", "nope").status().code(), Code::kNotFound);
  // A command is only found under its own device.
  EXPECT_EQ(f.service->get("e", c->id).status().code(), Code::kNotFound);
  EXPECT_EQ(f.cancel("e", c->id).code(), Code::kNotFound);
}

TEST(CommandService, CancelOnlyWhileQueued) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  auto a = f.submit("d", R"({"payload":1})");
  ASSERT_TRUE(f.cancel("d", a->id).ok());
  EXPECT_EQ(f.service->get("d", a->id).status().code(), Code::kNotFound);
  EXPECT_EQ(f.service->list("d", 0, 10)->total, 0u);
  f.service->tick();
  EXPECT_TRUE(f.publisher.calls.empty());
  f.publisher.takers["urbis/city/d/down"] = 1;
  auto b = f.submit("d", R"({"payload":2})");
  f.service->tick();
  Status st = f.cancel("d", b->id);
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_EQ(field(st), "status");
}

TEST(CommandService, DeletedDeviceFailsItsCommands) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  auto c = f.submit("d", R"({"payload":1})");
  std::promise<Status> p;
  f.registry->remove("d", [&p](const Status& st) { p.set_value(st); });
  ASSERT_TRUE(p.get_future().get().ok());
  f.service->tick();
  auto row = store.get(c->id);
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*row)->status, CommandStatus::kFailed);
  EXPECT_NE((*row)->error.find("no longer exists"), std::string::npos);
}

TEST(CommandService, FailedCommitQueuesNothing) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("d");
  store.fail_next(IoError("disk full"));
  auto c = f.submit("d", R"({"payload":1})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kIoError);
  EXPECT_EQ(f.service->queued(), 0u);
  f.service->tick();
  EXPECT_TRUE(f.publisher.calls.empty());
}

TEST(CommandService, LorawanWaitsForTheApplicationThenEnqueuesOnChirpStack) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("0011223344AABBCC", {"lorawan"});
  auto c = f.submit("0011223344AABBCC", R"({"data":"AQID","fPort":10,"confirmed":true})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->transport, CommandTransport::kLorawan);
  EXPECT_EQ(c->dev_eui, "0011223344aabbcc");
  f.service->tick();
  EXPECT_TRUE(f.publisher.calls.empty());
  auto got = f.service->get("0011223344AABBCC", c->id);
  EXPECT_NE(got->error.find("applicationId"), std::string::npos) << got->error;
  const std::string topic = "application/app-7/device/0011223344aabbcc/command/down";
  f.publisher.takers[topic] = 1;
  f.service->note_lorawan_route("0011223344AABBCC", "app-7");
  f.service->tick();
  ASSERT_EQ(f.publisher.calls.size(), 1u);
  EXPECT_EQ(f.publisher.calls[0].topic, topic);
  EXPECT_FALSE(f.publisher.calls[0].exact_only);
  auto body = json::parse(f.publisher.calls[0].payload).as_object();
  EXPECT_EQ(body.at("devEui"), "0011223344aabbcc");
  EXPECT_EQ(body.at("fPort"), 10);
  EXPECT_EQ(body.at("confirmed"), true);
  EXPECT_EQ(body.at("data"), "AQID");
  EXPECT_EQ(body.at("id"), json::value(c->id));
  got = f.service->get("0011223344AABBCC", c->id);
  EXPECT_EQ(got->status, CommandStatus::kSent);
  EXPECT_EQ(got->application_id, "app-7");
  // A learned route makes later devices' commands LoRaWAN without the tag.
  f.add("8899AABBCCDDEEFF");
  f.service->note_lorawan_route("8899AABBCCDDEEFF", "app-7");
  auto d = f.submit("8899AABBCCDDEEFF", R"({"payload":{"on":true}})");
  EXPECT_EQ(d->transport, CommandTransport::kLorawan);
}

TEST(CommandService, LorawanNeedsADevEui) {
  MemoryCommandStore store;
  Fixture f(store);
  f.add("street-lamp-1", {"lorawan"});
  auto c = f.submit("street-lamp-1", R"({"payload":1})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(field(c.status()), "devEui");
  c = f.submit("street-lamp-1", R"({"payload":1,"devEui":"0102030405060708","applicationId":"app"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  f.publisher.takers["application/app/device/0102030405060708/command/down"] = 2;
  f.service->tick();
  EXPECT_EQ(f.status("street-lamp-1", c->id), CommandStatus::kSent);
  // A wildcard subscription (how ChirpStack subscribes) matches the waiting topic.
  auto d = f.submit("street-lamp-1", R"({"payload":2,"devEui":"0102030405060709","applicationId":"app"})");
  f.service->tick();
  EXPECT_EQ(f.status("street-lamp-1", d->id), CommandStatus::kQueued);
  f.publisher.takers["application/app/device/0102030405060709/command/down"] = 1;
  f.service->on_subscribed("application/+/device/+/command/down");
  f.service->tick();
  EXPECT_EQ(f.status("street-lamp-1", d->id), CommandStatus::kSent);
}

TEST(CommandService, QueueAndHistorySurviveARestart) {
  testutil::TempDir dir;
  const std::string path = dir.file("commands.db");
  std::string queued_id, sent_id;
  FakeClock clock;
  MemoryDeviceStore devices_store;
  DeviceRegistry registry(devices_store, clock, RegistryOptions{.background_flush = false});
  {
    DeviceSpec spec;
    spec.id = "d";
    spec.tenant = "city";
    std::promise<Result<DeviceWithToken>> p;
    registry.create(spec, [&p](Result<DeviceWithToken> r) { p.set_value(std::move(r)); });
    ASSERT_TRUE(p.get_future().get().ok());
  }
  CommandOptions o;
  o.background = false;
  {
    auto store = storage::sqlite::SqliteCommandStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    FakePublisher pub;
    CommandService svc(registry, **store, pub, clock, o);
    ASSERT_TRUE(svc.load().ok());
    auto submit = [&](std::string_view body) {
      std::promise<Result<Command>> p;
      svc.submit("d", parse(body).value(), [&p](Result<Command> r) { p.set_value(std::move(r)); });
      return p.get_future().get();
    };
    auto a = submit(R"({"payload":"a"})");
    ASSERT_TRUE(a.ok()) << a.status().message();
    pub.takers["urbis/city/d/down"] = 1;
    svc.tick();
    pub.takers.clear();
    auto b = submit(R"({"data":"AAE="})");
    ASSERT_TRUE(b.ok());
    svc.tick();
    ASSERT_TRUE(svc.flush().ok());
    sent_id = a->id;
    queued_id = b->id;
    svc.note_lorawan_route("other", "app-x");
    ASSERT_TRUE(svc.flush().ok());
  }
  auto store = storage::sqlite::SqliteCommandStore::open(path);
  ASSERT_TRUE(store.ok());
  FakePublisher pub;
  CommandService svc(registry, **store, pub, clock, o);
  ASSERT_TRUE(svc.load().ok());
  EXPECT_EQ(svc.queued(), 1u);
  auto page = svc.list("d", 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 2u);
  EXPECT_EQ(page->items[0].id, queued_id);
  EXPECT_EQ(page->items[0].status, CommandStatus::kQueued);
  EXPECT_EQ(*page->items[0].data, std::string("\x00\x01", 2));
  EXPECT_EQ(page->items[1].id, sent_id);
  EXPECT_EQ(page->items[1].status, CommandStatus::kSent);
  auto routes = (*store)->load_routes();
  ASSERT_TRUE(routes.ok());
  EXPECT_EQ(routes->at("other"), "app-x");
  // The restored command goes out once the device is there.
  pub.takers["urbis/city/d/down"] = 1;
  svc.tick();
  ASSERT_EQ(pub.calls.size(), 1u);
  EXPECT_EQ(pub.calls[0].payload, std::string("\x00\x01", 2));
  ASSERT_TRUE(svc.flush().ok());
  auto got = svc.get("d", queued_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, CommandStatus::kSent);
}

TEST(SqliteCommandStore, PagesNewestFirstKeepsOrderOnUpdateAndPrunes) {
  testutil::TempDir dir;
  auto store = storage::sqlite::SqliteCommandStore::open(dir.file("commands.db"));
  ASSERT_TRUE(store.ok());
  std::vector<Command> cs;
  for (int i = 0; i < 5; ++i) {
    Command c;
    c.id = "c" + std::to_string(i);
    c.device_id = i == 4 ? "other" : "d";
    c.payload = json::value(i);
    c.status_ms = 1000 + i;
    cs.push_back(c);
    (*store)->put(c, {});
  }
  // An update (status change) keeps the command's place.
  cs[0].status = CommandStatus::kSent;
  (*store)->put(cs[0], {});
  ASSERT_TRUE((*store)->flush().ok());
  auto page = (*store)->list("d", 1, 2);
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->total, 4u);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, "c2");
  EXPECT_EQ(page->items[1].id, "c1");
  page = (*store)->list("d", 3, 10);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "c0");
  EXPECT_EQ(page->items[0].status, CommandStatus::kSent);
  auto q = (*store)->load_queued();
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->size(), 4u);
  // Only finished commands older than the cut are pruned.
  (*store)->prune(5000, {});
  (*store)->erase("c1", {});
  ASSERT_TRUE((*store)->flush().ok());
  EXPECT_FALSE((*store)->get("c0").value().has_value());
  EXPECT_FALSE((*store)->get("c1").value().has_value());
  EXPECT_TRUE((*store)->get("c2").value().has_value());
  EXPECT_EQ((*store)->list("d", 0, 10)->total, 2u);
}

}  // namespace
}  // namespace urbis::devices
