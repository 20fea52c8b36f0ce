// Device registry: model validation, tokens, the registry over the memory and
// SQLite stores (round trip, restart, undo on a failed commit), and the
// DeviceAuthorizer's decisions.
#include "devices/registry/registry.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fmt/format.h>

#include <future>
#include <set>
#include <thread>

#include "devices/registry/credentials.hpp"
#include "devices/registry/import.hpp"
#include "security/config_auth.hpp"
#include "security/device_auth.hpp"
#include "security/password.hpp"
#include "storage/sqlite/device_store_sqlite.hpp"
#include "testutil/temp_dir.hpp"

namespace urbis::devices {
namespace {

namespace json = boost::json;

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return steady; }
  int64_t unix_ms() const override { return unix; }
  std::chrono::steady_clock::time_point steady{};
  int64_t unix = 1'800'000'000'000;
};

// Blocking helpers: the registry's callbacks may run on the store's thread.
template <typename T>
Result<T> wait(std::function<void(DeviceRegistry::Callback<T>)> call) {
  std::promise<Result<T>> p;
  call([&p](Result<T> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

Result<DeviceWithToken> create(DeviceRegistry& reg, DeviceSpec spec) {
  return wait<DeviceWithToken>([&](auto cb) { reg.create(std::move(spec), cb); });
}
Result<Device> update(DeviceRegistry& reg, const std::string& id, DevicePatch patch) {
  return wait<Device>([&](auto cb) { reg.update(id, std::move(patch), cb); });
}
Status remove(DeviceRegistry& reg, const std::string& id) {
  std::promise<Status> p;
  reg.remove(id, [&p](const Status& st) { p.set_value(st); });
  return p.get_future().get();
}
Result<DeviceWithToken> rotate(DeviceRegistry& reg, const std::string& id) {
  return wait<DeviceWithToken>([&](auto cb) { reg.rotate_token(id, cb); });
}
Result<Device> revoke(DeviceRegistry& reg, const std::string& id) {
  return wait<Device>([&](auto cb) { reg.revoke_token(id, cb); });
}

DeviceSpec spec(const std::string& id, const std::string& tenant = "city") {
  DeviceSpec s;
  s.id = id;
  s.tenant = tenant;
  return s;
}

Result<DeviceSpec> parse_spec(const char* text) { return parse_device_spec(json::parse(text)); }

// ---------------------------------------------------------------- model

TEST(DeviceModel, ValidSpecParses) {
  auto s = parse_spec(R"({"id":"aq-001","tenant":"turin","name":"Main St","profile":"senml",
      "location":{"type":"Point","coordinates":[7.68,45.07]},"tags":["street","air","air"],
      "state":"active","firmware":"1.2.3","certificate":true})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->id, "aq-001");
  EXPECT_EQ(s->tenant, "turin");
  ASSERT_TRUE(s->location);
  EXPECT_EQ(s->location->lon, 7.68);
  EXPECT_EQ(s->location->lat, 45.07);
  EXPECT_EQ(s->tags, (std::vector<std::string>{"air", "street"}));  // sorted, unique
  EXPECT_EQ(s->state, DeviceState::kActive);
  EXPECT_TRUE(s->certificate);
  // "default" is the default tenant's wire name.
  auto d = parse_spec(R"({"id":"x","tenant":"default"})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tenant, "");
}

TEST(DeviceModel, ErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* prefix;
  };
  const Case cases[] = {
      {R"({"name":"x"})", "id:"},
      {R"({"id":""})", "id:"},
      {R"({"id":"a/b"})", "id:"},
      {R"({"id":"a+"})", "id:"},
      {R"({"id":"#"})", "id:"},
      {R"({"id":7})", "id:"},
      {R"({"id":"a","tenant":"x/y"})", "tenant:"},
      {R"({"id":"a","tenant":""})", "tenant:"},
      {R"({"id":"a","tenant":"ingest"})", "tenant: 'ingest' is reserved"},
      {R"({"id":"a","state":"sleeping"})", "state:"},
      {R"({"id":"a","tags":"x"})", "tags:"},
      {R"({"id":"a","tags":["ok",""]})", "tags[1]:"},
      {R"({"id":"a","location":{"type":"Polygon","coordinates":[]}})", "location.type:"},
      {R"({"id":"a","location":{"type":"Point","coordinates":[200,10]}})", "location.coordinates[0]:"},
      {R"({"id":"a","location":{"type":"Point","coordinates":[10,-91]}})", "location.coordinates[1]:"},
      {R"({"id":"a","location":{"type":"Point","coordinates":[10]}})", "location.coordinates:"},
      {R"({"id":"a","certificate":"yes"})", "certificate:"},
      {R"({"id":"a","colour":"red"})", "colour:"},
      {R"([1])", "body:"},
  };
  for (const Case& c : cases) {
    auto s = parse_spec(c.body);
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.status().message().rfind(c.prefix, 0), 0u) << c.body << " -> " << s.status().message();
  }
}

TEST(DeviceModel, PatchCannotMoveIdOrTenant) {
  auto p = parse_device_patch(json::parse(R"({"tenant":"other"})"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("tenant:", 0), 0u);
  auto q = parse_device_patch(json::parse(R"({"location":null,"state":"disabled"})"));
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(q->location.has_value());
  EXPECT_FALSE(q->location->has_value());
  EXPECT_EQ(q->state, DeviceState::kDisabled);
}

TEST(DeviceModel, JsonNeverShowsSecretsAndNamesTopics) {
  Device d;
  d.id = "m1";
  d.tenant = "";
  d.has_token = true;
  std::string text = json::serialize(device_to_json(d));
  EXPECT_EQ(text.find("\"token\""), std::string::npos);
  json::object o = device_to_json(d);
  EXPECT_EQ(o.at("tenant"), "default");
  EXPECT_EQ(o.at("topics").at("up"), "urbis/default/m1/up");
  EXPECT_EQ(o.at("topics").at("down"), "urbis/default/m1/down");
  EXPECT_TRUE(o.at("lastSeen").is_null());
}

// ---------------------------------------------------------------- import parsing

TEST(DeviceImport, CsvRowsWithErrorsReportedPerRow) {
  auto rows = parse_import_csv(
      "id,Tenant,name,latitude,longitude,tags\r\n"
      "aq-1,turin,\"Main St, north\",45.07,7.68,air;street\r\n"
      "\n"
      "bad/id,turin,x,,,\n"
      "aq-2,turin,y,abc,7,\n"
      "aq-3,turin,\"say \"\"hi\"\"\",,,\n");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 4u);
  const auto& r = *rows;
  ASSERT_TRUE(r[0].spec.ok()) << r[0].spec.status().message();
  EXPECT_EQ(r[0].spec->name, "Main St, north");
  EXPECT_EQ(r[0].spec->tags, (std::vector<std::string>{"air", "street"}));
  ASSERT_TRUE(r[0].spec->location);
  EXPECT_EQ(r[0].spec->location->lat, 45.07);
  EXPECT_EQ(r[1].row, 2u);
  EXPECT_EQ(r[1].id, "bad/id");
  EXPECT_EQ(r[1].spec.status().message().rfind("id:", 0), 0u);
  EXPECT_EQ(r[2].spec.status().message().rfind("latitude:", 0), 0u);
  ASSERT_TRUE(r[3].spec.ok());
  EXPECT_EQ(r[3].spec->name, "say \"hi\"");
}

TEST(DeviceImport, WholeDocumentErrors) {
  EXPECT_EQ(parse_import_csv("id,colour\na,red\n").status().message(), "csv: unknown column 'colour'");
  EXPECT_FALSE(parse_import_csv("name\nx\n").ok());
  EXPECT_FALSE(parse_import_csv("id\n\"open\n").ok());
  EXPECT_FALSE(parse_import_csv("").ok());
  EXPECT_FALSE(parse_import_json(json::parse(R"({"id":"a"})")).ok());
  auto rows = parse_import_json(json::parse(R"([{"id":"a"},{"id":"b","state":"x"}])"));
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0].spec.ok());
  EXPECT_EQ((*rows)[1].id, "b");
  EXPECT_FALSE((*rows)[1].spec.ok());
}

// ---------------------------------------------------------------- tokens

TEST(DeviceToken, AtLeast128BitsAndVerifies) {
  auto a = generate_token();
  auto b = generate_token();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->token, b->token);
  EXPECT_EQ(a->token.rfind("udt_", 0), 0u);
  EXPECT_GE((a->token.size() - 4) * 6, 128u);  // base64url: 6 bits per character
  EXPECT_EQ(a->stored.hash.size(), kHashBytes);
  EXPECT_EQ(a->stored.salt.size(), kSaltBytes);
  EXPECT_EQ(a->stored.hash.find(a->token), std::string::npos);
  EXPECT_TRUE(verify_token(a->token, a->stored));
  EXPECT_FALSE(verify_token(b->token, a->stored));
  EXPECT_FALSE(verify_token(a->token.substr(0, a->token.size() - 1), a->stored));
  EXPECT_FALSE(verify_token("", a->stored));
  EXPECT_FALSE(verify_token(a->token, TokenHash{}));  // revoked
  // Same token, another salt: another hash, still verifies.
  auto again = hash_token(a->token);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->hash, a->stored.hash);
  EXPECT_TRUE(verify_token(a->token, *again));
}

// ---------------------------------------------------------------- registry

class RegistryTest : public ::testing::Test {
 protected:
  FakeClock clock;
  MemoryDeviceStore store;
  DeviceRegistry reg{store, clock, {.background_flush = false}};
};

TEST_F(RegistryTest, CreateGetListAndDuplicates) {
  auto a = create(reg, spec("b-2", "city"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->device.state, DeviceState::kProvisioned);
  EXPECT_TRUE(a->device.has_token);
  EXPECT_EQ(a->device.created_ms, clock.unix);
  auto dup = create(reg, spec("b-2", "other"));  // ids are unique across tenants
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  ASSERT_TRUE(reg.get("b-2"));
  EXPECT_FALSE(reg.get("nope"));
  EXPECT_FALSE(create(reg, spec("bad id")).ok());
}

TEST_F(RegistryTest, ListFiltersAndStablePaging) {
  for (int i = 0; i < 25; ++i) {
    DeviceSpec s = spec(fmt::format("d{:02}", i), i % 2 ? "a" : "b");
    s.profile = i % 3 ? "senml" : "lpp";
    s.name = i < 5 ? "north " + std::to_string(i) : "south";
    if (i % 5 == 0) s.tags = {"pole"};
    ASSERT_TRUE(create(reg, s).ok());
  }
  ListQuery all;
  all.limit = 10;
  std::vector<std::string> seen;
  for (size_t off = 0;; off += 10) {
    all.offset = off;
    DevicePage p = reg.list(all);
    EXPECT_EQ(p.total, 25u);
    if (p.items.empty()) break;
    for (auto& d : p.items) seen.push_back(d.id);
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25u);

  ListQuery q;
  q.tenant = "a";
  EXPECT_EQ(reg.list(q).total, 12u);
  q.profile = "lpp";  // i odd and i % 3 == 0: 3, 9, 15, 21
  EXPECT_EQ(reg.list(q).total, 4u);
  ListQuery t;
  t.tag = "pole";
  EXPECT_EQ(reg.list(t).total, 5u);
  ListQuery n;
  n.name_prefix = "north";
  EXPECT_EQ(reg.list(n).total, 5u);
  ListQuery st;
  st.state = DeviceState::kActive;
  EXPECT_EQ(reg.list(st).total, 0u);
}

TEST_F(RegistryTest, UpdateRotateRevokeRemove) {
  auto c = create(reg, spec("m"));
  ASSERT_TRUE(c.ok());
  DevicePatch p;
  p.name = "renamed";
  p.state = DeviceState::kQuarantined;
  p.tags = std::vector<std::string>{"x"};
  auto u = update(reg, "m", p);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(reg.get("m")->name, "renamed");
  EXPECT_EQ(reg.get("m")->state, DeviceState::kQuarantined);
  EXPECT_EQ(update(reg, "zz", p).status().code(), Code::kNotFound);

  // Rotate: the new token works, the old one does not, at once.
  EXPECT_EQ(reg.authenticate("m", c->token, "").outcome, DeviceAuthOutcome::kNotAllowed);  // quarantined
  DevicePatch active;
  active.state = DeviceState::kActive;
  ASSERT_TRUE(update(reg, "m", active).ok());
  EXPECT_EQ(reg.authenticate("m", c->token, "").outcome, DeviceAuthOutcome::kOk);
  auto r = rotate(reg, "m");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->token, c->token);
  EXPECT_EQ(reg.authenticate("m", c->token, "").outcome, DeviceAuthOutcome::kBadCredentials);
  EXPECT_EQ(reg.authenticate("m", r->token, "").outcome, DeviceAuthOutcome::kOk);
  // Revoke: no token works.
  ASSERT_TRUE(revoke(reg, "m").ok());
  EXPECT_FALSE(reg.get("m")->has_token);
  EXPECT_EQ(reg.authenticate("m", r->token, "").outcome, DeviceAuthOutcome::kBadCredentials);
  EXPECT_EQ(reg.authenticate("m", std::nullopt, "").outcome, DeviceAuthOutcome::kBadCredentials);
  // Remove.
  ASSERT_TRUE(remove(reg, "m").ok());
  EXPECT_FALSE(reg.get("m"));
  EXPECT_EQ(remove(reg, "m").code(), Code::kNotFound);
  EXPECT_EQ(reg.authenticate("m", r->token, "").outcome, DeviceAuthOutcome::kNotADevice);
}

TEST_F(RegistryTest, CertificateStandsInForTheTokenOnlyWhenBound) {
  DeviceSpec s = spec("cam-1");
  auto c = create(reg, s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(reg.authenticate("cam-1", std::nullopt, "cam-1").outcome, DeviceAuthOutcome::kBadCredentials);
  DevicePatch bind;
  bind.certificate = true;
  ASSERT_TRUE(update(reg, "cam-1", bind).ok());
  EXPECT_EQ(reg.authenticate("cam-1", std::nullopt, "cam-1").outcome, DeviceAuthOutcome::kOk);
  EXPECT_EQ(reg.authenticate("cam-1", std::nullopt, "cam-2").outcome, DeviceAuthOutcome::kBadCredentials);
}

TEST_F(RegistryTest, FailedCommitIsUndone) {
  store.fail_next(IoError("disk full"));
  auto c = create(reg, spec("lost"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kIoError);
  EXPECT_FALSE(reg.get("lost"));

  ASSERT_TRUE(create(reg, spec("kept")).ok());
  store.fail_next(IoError("disk full"));
  DevicePatch p;
  p.name = "new";
  EXPECT_FALSE(update(reg, "kept", p).ok());
  EXPECT_EQ(reg.get("kept")->name, "");
  store.fail_next(IoError("disk full"));
  EXPECT_FALSE(remove(reg, "kept").ok());
  EXPECT_TRUE(reg.get("kept"));
}

TEST_F(RegistryTest, ActivityIsBatched) {
  ASSERT_TRUE(create(reg, spec("s")).ok());
  size_t before = store.activity_batches();
  reg.record_seen("s");  // provisioned -> active in memory at once
  EXPECT_EQ(reg.get("s")->state, DeviceState::kActive);
  EXPECT_EQ(reg.get("s")->last_seen_ms, clock.unix);
  for (int i = 0; i < 100; ++i) {
    clock.unix += 10;
    reg.record_error("s", "bad payload " + std::to_string(i));
  }
  EXPECT_EQ(reg.get("s")->error_count, 100);
  EXPECT_EQ(reg.get("s")->last_error, "bad payload 99");
  EXPECT_EQ(store.activity_batches(), before);  // nothing written before the interval passed
  clock.steady += std::chrono::seconds(6);
  reg.record_seen("s");
  EXPECT_EQ(store.activity_batches(), before + 1);
  auto rows = store.load();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->at(0).device.error_count, 100);
  EXPECT_EQ(rows->at(0).device.state, DeviceState::kActive);
  // flush() writes what is pending at once.
  reg.record_error("s", "late");
  ASSERT_TRUE(reg.flush().ok());
  EXPECT_EQ(store.load()->at(0).device.last_error, "late");
}

TEST(RegistrySilent, ActiveDevicesWithoutMessagesBecomeSilentAndComeBack) {
  FakeClock clock;
  MemoryDeviceStore store;
  DeviceRegistry reg(store, clock, {.background_flush = false, .silent_after = std::chrono::minutes(10)});
  ASSERT_TRUE(create(reg, spec("talks")).ok());
  ASSERT_TRUE(create(reg, spec("quiet")).ok());
  ASSERT_TRUE(create(reg, spec("never")).ok());
  reg.record_seen("talks");
  reg.record_seen("quiet");
  clock.unix += 9 * 60 * 1000;
  reg.record_seen("talks");
  EXPECT_EQ(reg.mark_silent(), 0u);
  clock.unix += 2 * 60 * 1000;  // quiet: 11 minutes; talks: 2
  EXPECT_EQ(reg.mark_silent(), 1u);
  EXPECT_EQ(reg.get("quiet")->state, DeviceState::kSilent);
  EXPECT_EQ(reg.get("talks")->state, DeviceState::kActive);
  EXPECT_EQ(reg.get("never")->state, DeviceState::kProvisioned);  // never seen: not silent
  ASSERT_TRUE(reg.flush().ok());
  auto rows = store.load();
  ASSERT_TRUE(rows.ok());
  for (const auto& row : rows.value()) {
    if (row.device.id == "quiet") EXPECT_EQ(row.device.state, DeviceState::kSilent);
  }
  reg.record_seen("quiet");
  EXPECT_EQ(reg.get("quiet")->state, DeviceState::kActive);
}

TEST(RegistryBackground, ActivityReachesTheStoreWithoutFurtherTraffic) {
  FakeClock clock;
  MemoryDeviceStore store;
  DeviceRegistry reg(store, clock, {.activity_flush_interval = std::chrono::milliseconds(10)});
  ASSERT_TRUE(create(reg, spec("quiet")).ok());
  reg.record_error("quiet", "one bad message, then silence");
  // The fake clock never moves: only the background thread can write it.
  for (int i = 0; i < 500 && store.load()->at(0).device.error_count == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(store.load()->at(0).device.last_error, "one bad message, then silence");
}

// ---------------------------------------------------------------- SQLite store

TEST(DeviceStoreSqlite, RoundTripAndRestart) {
  testutil::TempDir dir;
  const std::string path = dir.file("devices.db");
  FakeClock clock;
  std::string token;
  {
    auto store = storage::sqlite::SqliteDeviceStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    DeviceRegistry reg(**store, clock);
    ASSERT_TRUE(reg.load().ok());
    DeviceSpec s = spec("aq-1", "turin");
    s.name = "Main St";
    s.profile = "senml";
    s.location = GeoPoint{7.68, 45.07, 240.5};
    s.tags = {"air", "street"};
    s.firmware = "1.0";
    auto c = create(reg, s);
    ASSERT_TRUE(c.ok()) << c.status().message();
    token = c->token;
    ASSERT_TRUE(create(reg, spec("gone")).ok());
    ASSERT_TRUE(remove(reg, "gone").ok());
    ASSERT_TRUE(create(reg, spec("revoked", "")).ok());
    ASSERT_TRUE(revoke(reg, "revoked").ok());
    reg.record_seen("aq-1");
    reg.record_error("aq-1", "decoder: bad byte");
    ASSERT_TRUE(reg.flush().ok());
  }
  auto store = storage::sqlite::SqliteDeviceStore::open(path);
  ASSERT_TRUE(store.ok());
  DeviceRegistry reg(**store, clock);
  ASSERT_TRUE(reg.load().ok());
  EXPECT_EQ(reg.size(), 2u);
  auto d = reg.get("aq-1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tenant, "turin");
  EXPECT_EQ(d->name, "Main St");
  EXPECT_EQ(d->profile, "senml");
  EXPECT_EQ(d->location, (GeoPoint{7.68, 45.07, 240.5}));
  EXPECT_EQ(d->tags, (std::vector<std::string>{"air", "street"}));
  EXPECT_EQ(d->firmware, "1.0");
  EXPECT_EQ(d->state, DeviceState::kActive);
  EXPECT_EQ(d->last_seen_ms, clock.unix);
  EXPECT_EQ(d->last_error, "decoder: bad byte");
  EXPECT_EQ(d->error_count, 1);
  EXPECT_EQ(reg.authenticate("aq-1", token, "").outcome, DeviceAuthOutcome::kOk);
  EXPECT_EQ(reg.authenticate("aq-1", token + "x", "").outcome, DeviceAuthOutcome::kBadCredentials);
  EXPECT_FALSE(reg.get("gone"));
  ASSERT_TRUE(reg.get("revoked"));
  EXPECT_EQ(reg.get("revoked")->tenant, "");
  EXPECT_FALSE(reg.get("revoked")->has_token);
}

}  // namespace
}  // namespace urbis::devices

// ---------------------------------------------------------------- authorizer

namespace urbis::security {
namespace {

using devices::DeviceRegistry;

TEST(DeviceTopicRules, Table) {
  struct Case {
    const char* tenant;
    const char* topic;
    bool pub;
  };
  const Case cases[] = {
      {"turin", "urbis/turin/m1/up", true},
      {"turin", "urbis/turin/m1/up/senml", true},
      {"turin", "urbis/turin/m1/up/senml/x", false},
      {"turin", "urbis/turin/m1/up/", false},
      {"turin", "urbis/turin/m1/upx", false},
      {"turin", "urbis/turin/m1/down", false},
      {"turin", "urbis/turin/m2/up", false},
      {"turin", "urbis/milan/m1/up", false},
      {"turin", "urbis/turin/m1", false},
      {"", "urbis/default/m1/up", true},
      {"", "urbis//m1/up", false},
      {"turin", "urbis/ingest/turin/T/m1", false},
      {"turin", "$SYS/x", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(device_may_publish(c.tenant, "m1", c.topic), c.pub) << c.topic;
  }
  EXPECT_TRUE(device_may_subscribe("turin", "m1", "urbis/turin/m1/down"));
  EXPECT_FALSE(device_may_subscribe("turin", "m1", "urbis/turin/m1/#"));
  EXPECT_FALSE(device_may_subscribe("turin", "m1", "urbis/turin/+/down"));
  EXPECT_FALSE(device_may_subscribe("turin", "m1", "urbis/turin/m2/down"));
  EXPECT_FALSE(device_may_subscribe("turin", "m1", "#"));
}

class DeviceAuthTest : public ::testing::Test {
 protected:
  DeviceAuthTest() {
    MqttOptions o;
    UserEntry u;
    u.name = "operator";
    u.password_hash = hash_password("secret", 1000);
    o.users.push_back(u);
    fallback = std::make_unique<ConfigAuthorizer>(o);
    auth = std::make_unique<DeviceAuthorizer>(reg, *fallback);
    devices::DeviceSpec s;
    s.id = "m1";
    s.tenant = "turin";
    token = devices::create(reg, s)->token;
  }
  static mqtt::ClientIdentity who(const std::string& user, const std::string& cn = "") {
    mqtt::ClientIdentity id;
    id.client_id = "c-" + user;
    if (!user.empty()) id.username = user;
    id.cert_cn = cn;
    return id;
  }
  devices::FakeClock clock;
  devices::MemoryDeviceStore store;
  DeviceRegistry reg{store, clock};
  std::unique_ptr<ConfigAuthorizer> fallback;
  std::unique_ptr<DeviceAuthorizer> auth;
  std::string token;
};

TEST_F(DeviceAuthTest, ConnectDecisions) {
  auto ok = auth->authenticate(who("m1"), token);
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(reg.get("m1")->state, devices::DeviceState::kActive);  // first connect activates
  EXPECT_EQ(auth->authenticate(who("m1"), std::string("wrong")).reason, 0x86);
  EXPECT_EQ(auth->authenticate(who("m1"), std::nullopt).reason, 0x86);
  // Not a device: the configuration's users decide.
  EXPECT_TRUE(auth->authenticate(who("operator"), std::string("secret")).ok);
  EXPECT_EQ(auth->authenticate(who("operator"), std::string("nope")).reason, 0x86);
  EXPECT_EQ(auth->authenticate(who("stranger"), token).reason, 0x86);
  // Disabled and quarantined devices: 0x87, but only with the right token.
  for (auto st : {devices::DeviceState::kDisabled, devices::DeviceState::kQuarantined}) {
    devices::DevicePatch p;
    p.state = st;
    ASSERT_TRUE(devices::update(reg, "m1", p).ok());
    EXPECT_EQ(auth->authenticate(who("m1"), token).reason, 0x87);
    EXPECT_EQ(auth->authenticate(who("m1"), std::string("wrong")).reason, 0x86);
  }
}

TEST_F(DeviceAuthTest, PublishAndSubscribeOnlyOwnTopics) {
  auto id = who("m1");
  auto r = auth->authenticate(id, token);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(auth->may_publish(id, r.principal, "urbis/turin/m1/up"));
  EXPECT_TRUE(auth->may_publish(id, r.principal, "urbis/turin/m1/up/json"));
  EXPECT_FALSE(auth->may_publish(id, r.principal, "urbis/turin/m2/up"));
  EXPECT_FALSE(auth->may_publish(id, r.principal, "urbis/turin/m1/down"));
  EXPECT_FALSE(auth->may_publish(id, r.principal, "anything"));
  EXPECT_TRUE(auth->may_subscribe(id, r.principal, "urbis/turin/m1/down"));
  EXPECT_FALSE(auth->may_subscribe(id, r.principal, "urbis/turin/m2/down"));
  EXPECT_FALSE(auth->may_subscribe(id, r.principal, "#"));
  // A configured user keeps the configuration's rules (no ACL: anything but '$' topics).
  auto op = auth->authenticate(who("operator"), std::string("secret"));
  ASSERT_TRUE(op.ok);
  EXPECT_TRUE(auth->may_publish(who("operator"), op.principal, "urbis/turin/m2/down"));
  EXPECT_TRUE(auth->may_subscribe(who("operator"), op.principal, "#"));
}

TEST_F(DeviceAuthTest, ConnectedDeviceLosesAccessWhenCredentialsOrStateChange) {
  auto id = who("m1");
  auto r = auth->authenticate(id, token);
  ASSERT_TRUE(r.ok);
  auto rotated = devices::rotate(reg, "m1");
  ASSERT_TRUE(rotated.ok());
  EXPECT_FALSE(auth->may_publish(id, r.principal, "urbis/turin/m1/up"));  // old session
  auto r2 = auth->authenticate(id, rotated->token);
  ASSERT_TRUE(r2.ok);
  EXPECT_TRUE(auth->may_publish(id, r2.principal, "urbis/turin/m1/up"));
  devices::DevicePatch p;
  p.state = devices::DeviceState::kDisabled;
  ASSERT_TRUE(devices::update(reg, "m1", p).ok());
  EXPECT_FALSE(auth->may_publish(id, r2.principal, "urbis/turin/m1/up"));
  EXPECT_FALSE(auth->may_subscribe(id, r2.principal, "urbis/turin/m1/down"));
  ASSERT_TRUE(devices::remove(reg, "m1").ok());
  EXPECT_FALSE(auth->may_publish(id, r2.principal, "urbis/turin/m1/up"));
}

TEST_F(DeviceAuthTest, CertificateAuthenticatesBoundDevice) {
  devices::DevicePatch bind;
  bind.certificate = true;
  ASSERT_TRUE(devices::update(reg, "m1", bind).ok());
  // CN names the device; no user name and no password needed.
  auto r = auth->authenticate(who("", "m1"), std::nullopt);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(auth->may_publish(who("", "m1"), r.principal, "urbis/turin/m1/up"));
  // A certificate for another name does not stand in for m1's token.
  EXPECT_EQ(auth->authenticate(who("m1", "m2"), std::nullopt).reason, 0x86);
}

}  // namespace
}  // namespace urbis::security
