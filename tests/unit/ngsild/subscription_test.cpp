// NGSI-LD subscriptions: parsing and validation of the Subscription document,
// its stored form, PATCH, matching change events of a real (memory) entity
// store, the Notification built, status counters, and persistence across a
// restart with the SQLite subscription store.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <boost/asio/io_context.hpp>

#include <future>
#include <mutex>

#include "ngsild/subscriptions/subscription.hpp"
#include "ngsild/subscriptions/subscription_manager.hpp"
#include "ngsild/subscriptions/subscription_routes.hpp"
#include "storage/entity_store_test_util.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"
#include "storage/sqlite/subscription_store_sqlite.hpp"

namespace urbis::ngsild {
namespace {

namespace json = boost::json;
using testutil::entity;
using testutil::ManualClock;
using testutil::wait_write;

constexpr int64_t kNow = 1'750'000'000'000;  // 2025-06-15

Result<Subscription> parse(std::string_view text, int64_t now = kNow) {
  SubscriptionParseOptions o;
  o.now_ms = now;
  return parse_subscription(json::parse(text), *Context::core(), o);
}

const char* kMinimal =
    R"({"type": "Subscription", "entities": [{"type": "Sensor"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}})";

// ------------------------------------------------------------------ parsing

TEST(SubscriptionParse, MinimalDocumentGetsDefaultsAndAnId) {
  auto s = parse(kMinimal);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->id.rfind("urn:ngsi-ld:Subscription:", 0), 0u) << s->id;
  ASSERT_EQ(s->entities.size(), 1u);
  EXPECT_EQ(s->entities[0].type, "Sensor");
  EXPECT_TRUE(s->is_active);
  EXPECT_EQ(s->triggers, kDefaultTriggers);
  EXPECT_EQ(s->format, NotificationFormat::kNormalized);
  EXPECT_EQ(s->endpoint.accept, "application/json");
  EXPECT_EQ(s->status(kNow), "active");
  EXPECT_NE(parse(kMinimal)->id, s->id) << "generated ids are unique";
}

TEST(SubscriptionParse, FullDocumentKeepsEveryMember) {
  auto s = parse(R"({
    "id": "urn:ngsi-ld:Subscription:full", "type": "Subscription",
    "subscriptionName": "hot rooms", "description": "rooms above 25",
    "entities": [{"id": "urn:ngsi-ld:Room:1", "type": "Room"}, {"idPattern": "^urn:ngsi-ld:Room:.*", "type": "Room"}],
    "watchedAttributes": ["temperature", "humidity"],
    "notificationTrigger": ["entityCreated", "attributeUpdated", "entityDeleted"],
    "q": "temperature>25",
    "geoQ": {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [2.35, 48.85]},
    "isActive": false, "expiresAt": "2030-01-01T00:00:00Z", "throttling": 2.5,
    "notification": {"attributes": ["temperature"], "format": "keyValues", "sysAttrs": true,
                     "endpoint": {"uri": "https://example.org/n", "accept": "application/ld+json",
                                  "receiverInfo": [{"key": "X-Token", "value": "abc"}],
                                  "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->id, "urn:ngsi-ld:Subscription:full");
  EXPECT_EQ(s->subscription_name, "hot rooms");
  ASSERT_EQ(s->entities.size(), 2u);
  EXPECT_EQ(s->entities[0].id, "urn:ngsi-ld:Room:1");
  EXPECT_EQ(s->entities[1].id_pattern, "^urn:ngsi-ld:Room:.*");
  EXPECT_EQ(s->watched_attributes, (std::vector<std::string>{"temperature", "humidity"}));
  EXPECT_EQ(s->triggers, kEntityCreated | kAttributeUpdated | kEntityDeleted);
  EXPECT_FALSE(s->q.empty());
  ASSERT_TRUE(s->geo_q.has_value());
  EXPECT_EQ(s->geo_q->query.relation, model::GeoRelation::kNear);
  EXPECT_EQ(s->geo_q->query.max_distance_m, 2000.0);
  EXPECT_EQ(s->status(kNow), "paused");
  EXPECT_EQ(s->expires_at_ms, model::parse_datetime_ms("2030-01-01T00:00:00Z"));
  EXPECT_EQ(s->throttling_s, 2.5);
  EXPECT_EQ(s->notification_attributes, std::vector<std::string>{"temperature"});
  EXPECT_EQ(s->format, NotificationFormat::kKeyValues);
  EXPECT_TRUE(s->sys_attrs);
  EXPECT_EQ(s->endpoint.accept, "application/ld+json");
  ASSERT_EQ(s->endpoint.receiver_info.size(), 1u);
  EXPECT_EQ(s->endpoint.receiver_info[0], (std::pair<std::string, std::string>{"X-Token", "abc"}));
  EXPECT_EQ(s->status(*s->expires_at_ms), "expired");
}

TEST(SubscriptionParse, BadDocumentsNameTheMember) {
  const std::string ep = R"("notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}})";
  const std::string ent = R"("entities": [{"type": "T"}])";
  struct Case {
    std::string doc;
    std::string message_prefix;
  };
  const Case cases[] = {
      {R"([1])", "subscription: must be a JSON object"},
      {"{" + ent + ", " + ep + "}", "type: required"},
      {R"({"type": "Entity", )" + ent + ", " + ep + "}", "type: must be"},
      {R"({"type": "Subscription", )" + ep + "}", "entities: either entities or watchedAttributes"},
      {R"({"type": "Subscription", "entities": [], )" + ep + "}", "entities: must be a non-empty array"},
      {R"({"type": "Subscription", "entities": [{"id": "urn:a:1"}], )" + ep + "}", "entities[0].type: required"},
      {R"({"type": "Subscription", "entities": [{"type": "T"}, {"type": 3}], )" + ep + "}",
       "entities[1].type: must be a string"},
      {R"({"type": "Subscription", "entities": [{"type": "T", "id": "not a uri"}], )" + ep + "}",
       "entities[0].id: not an absolute URI"},
      {R"({"type": "Subscription", "entities": [{"type": "T", "idPattern": "(("}], )" + ep + "}",
       "entities[0].idPattern: not a valid regular expression"},
      {R"({"type": "Subscription", "id": "nope", )" + ent + ", " + ep + "}", "id: not an absolute URI"},
      {R"({"type": "Subscription", "watchedAttributes": [], )" + ep + "}", "watchedAttributes: must be a non-empty"},
      {R"({"type": "Subscription", "watchedAttributes": ["a", ""], )" + ep + "}",
       "watchedAttributes[1]: must not be empty"},
      {R"({"type": "Subscription", )" + ent + R"(, "notificationTrigger": ["entityChanged"], )" + ep + "}",
       "notificationTrigger[0]: unknown trigger"},
      {R"({"type": "Subscription", )" + ent + R"(, "q": "temperature>", )" + ep + "}", "q: "},
      {R"({"type": "Subscription", )" + ent + R"(, "q": 5, )" + ep + "}", "q: must be a string"},
      {R"({"type": "Subscription", )" + ent +
           R"(, "geoQ": {"georel": "nearby", "geometry": "Point", "coordinates": [1, 2]}, )" + ep + "}",
       "geoQ.georel: "},
      {R"({"type": "Subscription", )" + ent + R"(, "geoQ": {"geometry": "Point", "coordinates": [1, 2]}, )" + ep +
           "}",
       "geoQ.georel: required"},
      {R"({"type": "Subscription", )" + ent + R"(, "geoQ": {"georel": "within", "geometry": "Point"}, )" + ep + "}",
       "geoQ.coordinates: required"},
      {R"({"type": "Subscription", )" + ent + R"(, "isActive": "yes", )" + ep + "}", "isActive: must be true or false"},
      {R"({"type": "Subscription", )" + ent + R"(, "expiresAt": "tomorrow", )" + ep + "}",
       "expiresAt: not a date-time"},
      {R"({"type": "Subscription", )" + ent + R"(, "expiresAt": "2001-01-01T00:00:00Z", )" + ep + "}",
       "expiresAt: must be in the future"},
      {R"({"type": "Subscription", )" + ent + R"(, "throttling": 0, )" + ep + "}",
       "throttling: must be a positive number"},
      {R"({"type": "Subscription", )" + ent + R"(, "throttling": -3, )" + ep + "}",
       "throttling: must be a positive number"},
      {R"({"type": "Subscription", )" + ent + R"(, "throttling": "5", )" + ep + "}",
       "throttling: must be a positive number"},
      {R"({"type": "Subscription", )" + ent + R"(, "timeInterval": 10, )" + ep + "}", "timeInterval: "},
      {R"({"type": "Subscription", )" + ent + "}", "notification: required"},
      {R"({"type": "Subscription", )" + ent + R"(, "notification": {}})", "notification.endpoint: required"},
      {R"({"type": "Subscription", )" + ent + R"(, "notification": {"endpoint": {}}})",
       "notification.endpoint.uri: required"},
      {R"({"type": "Subscription", )" + ent + R"(, "notification": {"endpoint": {"uri": "not a uri"}}})",
       "notification.endpoint.uri: not an absolute URI"},
      {R"({"type": "Subscription", )" + ent + R"(, "notification": {"endpoint": {"uri": "ftp://h/x"}}})",
       "notification.endpoint.uri: unsupported scheme"},
      {R"({"type": "Subscription", )" + ent +
           R"(, "notification": {"endpoint": {"uri": "http://h/x", "accept": "text/plain"}}})",
       "notification.endpoint.accept: "},
      {R"({"type": "Subscription", )" + ent +
           R"(, "notification": {"format": "pretty", "endpoint": {"uri": "http://h/x"}}})",
       "notification.format: "},
      {R"({"type": "Subscription", )" + ent +
           R"(, "notification": {"attributes": "a", "endpoint": {"uri": "http://h/x"}}})",
       "notification.attributes: "},
      {R"({"type": "Subscription", )" + ent +
           R"(, "notification": {"endpoint": {"uri": "http://h/x", "receiverInfo": [{"key": "k"}]}}})",
       "notification.endpoint.receiverInfo[0].value: required"},
  };
  for (const Case& c : cases) {
    auto s = parse(c.doc);
    ASSERT_FALSE(s.ok()) << "accepted: " << c.doc;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.status().message().rfind(c.message_prefix, 0), 0u)
        << "message '" << s.status().message() << "' does not start with '" << c.message_prefix << "' for "
        << c.doc;
  }
}

TEST(SubscriptionParse, ApiFormRoundTripsAndShowsStatus) {
  auto s = parse(R"({"id": "urn:x:1", "type": "Subscription", "entities": [{"type": "Sensor"}],
                     "q": "temperature>20;humidity<50", "throttling": 10,
                     "geoQ": {"georel": "within", "geometry": "Polygon",
                              "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]},
                     "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  s->stats.times_sent = 3;
  s->stats.times_failed = 1;
  s->stats.last_success_ms = kNow;
  s->stats.last_failure_ms = kNow - 1000;
  s->stats.last_notification_ms = kNow;
  json::object o = subscription_to_json(*s, *Context::core(), kNow);
  EXPECT_EQ(o["status"], "active");
  EXPECT_EQ(o["throttling"], 10.0);
  const json::object& n = o["notification"].as_object();
  EXPECT_EQ(n.at("status"), "ok");
  EXPECT_EQ(n.at("timesSent"), 3u);
  EXPECT_EQ(n.at("lastSuccess").as_string(), model::format_datetime_ms(kNow));
  EXPECT_EQ(n.at("lastFailure").as_string(), model::format_datetime_ms(kNow - 1000));
  auto again = parse(json::serialize(o));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->q_text, s->q_text);
  EXPECT_EQ(again->geo_q->georel, "within");
  EXPECT_EQ(again->geo_q->coordinates, s->geo_q->coordinates);
  EXPECT_EQ(again->throttling_s, s->throttling_s);

  s->stats.last_failure_ms = kNow + 1;
  EXPECT_EQ(subscription_to_json(*s, *Context::core(), kNow)["notification"].as_object().at("status"), "failed");
}

TEST(SubscriptionParse, StoredFormRoundTripsExactly) {
  auto s = parse(R"({"id": "urn:x:2", "type": "Subscription", "watchedAttributes": ["speed"],
                     "notificationTrigger": ["entityDeleted"], "expiresAt": "2030-01-01T00:00:00Z",
                     "@context": "http://127.0.0.1:9/ctx.jsonld",
                     "notification": {"attributes": ["speed"], "format": "concise",
                                      "endpoint": {"uri": "mqtt://127.0.0.1:1883/t"}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  s->created_at_ms = kNow - 5;
  s->modified_at_ms = kNow;
  s->stats = {7, 2, kNow, kNow - 1, kNow - 2};
  auto back = subscription_from_stored(subscription_to_stored(*s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->id, s->id);
  EXPECT_EQ(back->watched_attributes, s->watched_attributes);
  EXPECT_EQ(back->triggers, s->triggers);
  EXPECT_TRUE(back->triggers_given);
  EXPECT_EQ(back->expires_at_ms, s->expires_at_ms);
  EXPECT_EQ(back->context, json::value(json::string("http://127.0.0.1:9/ctx.jsonld")));
  EXPECT_EQ(back->format, NotificationFormat::kConcise);
  EXPECT_EQ(back->endpoint.uri, s->endpoint.uri);
  EXPECT_EQ(back->created_at_ms, s->created_at_ms);
  EXPECT_EQ(back->modified_at_ms, s->modified_at_ms);
  EXPECT_EQ(back->stats, s->stats);
  // An expired subscription still loads.
  auto expired = subscription_from_stored(subscription_to_stored(*s));
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(subscription_from_stored("{\"type\": 1}").ok());
}

TEST(SubscriptionParse, PatchReplacesMembersAndValidatesTheWhole) {
  auto s = parse(R"({"id": "urn:x:3", "type": "Subscription", "entities": [{"type": "Sensor"}],
                     "q": "temperature>20",
                     "notification": {"format": "keyValues", "endpoint": {"uri": "http://127.0.0.1:9/a"}}})");
  ASSERT_TRUE(s.ok());
  s->stats.times_sent = 4;
  SubscriptionParseOptions o;
  o.now_ms = kNow;
  Subscription before = *s;
  ASSERT_TRUE(patch_subscription(*s, json::parse(R"({"q": "temperature>30", "isActive": false,
      "notification": {"endpoint": {"uri": "http://127.0.0.1:9/b"}}})"),
                                 *Context::core(), o)
                  .ok());
  EXPECT_EQ(s->q_text, QExpression::parse("temperature>30")->to_string());
  EXPECT_FALSE(s->is_active);
  EXPECT_EQ(s->endpoint.uri, "http://127.0.0.1:9/b");
  EXPECT_EQ(s->format, NotificationFormat::kKeyValues) << "other notification members are kept";
  EXPECT_EQ(s->stats.times_sent, 4u);
  EXPECT_EQ(s->id, "urn:x:3");

  Subscription kept = *s;
  Status bad = patch_subscription(*s, json::parse(R"({"throttling": -1})"), *Context::core(), o);
  EXPECT_EQ(bad.message().rfind("throttling:", 0), 0u) << bad.message();
  EXPECT_EQ(s->q_text, kept.q_text);
  EXPECT_FALSE(s->throttling_s.has_value());
  EXPECT_FALSE(patch_subscription(*s, json::parse(R"({"id": "urn:other"})"), *Context::core(), o).ok());
  // null removes a member.
  ASSERT_TRUE(patch_subscription(*s, json::parse(R"({"q": null})"), *Context::core(), o).ok());
  EXPECT_TRUE(s->q_text.empty());
}

// ------------------------------------------------------------------ matching

class FakeSink final : public NotificationSink {
 public:
  void enqueue(Delivery d) override {
    std::lock_guard lock(mu_);
    deliveries.push_back(std::move(d));
  }
  void forget(const std::string& tenant, const std::string& id) override {
    std::lock_guard lock(mu_);
    forgotten.push_back(id);
  }
  std::vector<json::object> bodies() {
    std::lock_guard lock(mu_);
    std::vector<json::object> out;
    for (const auto& d : deliveries) out.push_back(json::parse(d.body).as_object());
    return out;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return deliveries.size();
  }
  void clear() {
    std::lock_guard lock(mu_);
    deliveries.clear();
  }
  std::mutex mu_;
  std::vector<Delivery> deliveries;
  std::vector<std::string> forgotten;
};

class SubscriptionMatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::sqlite::EntityStoreOptions eo;
    eo.clock = &clock_;
    auto s = storage::sqlite::SqliteEntityStore::open(":memory:", bus_, eo);
    ASSERT_TRUE(s.ok()) << s.status().message();
    entities_ = std::move(s).value();
    manager_ = std::make_unique<SubscriptionManager>(subs_store_, sink_, clock_, nullptr);
    ASSERT_TRUE(manager_->start(bus_).ok());
  }
  void TearDown() override {
    manager_.reset();
    entities_.reset();
  }

  void subscribe(const std::string& doc, const std::string& tenant = "") {
    auto s = parse(doc, clock_.unix_ms());
    ASSERT_TRUE(s.ok()) << s.status().message();
    std::promise<Status> p;
    manager_->create(tenant, std::move(s).value(), nullptr, [&p](const Status& st) { p.set_value(st); });
    Status st = p.get_future().get();
    ASSERT_TRUE(st.ok()) << st.message();
  }
  // Waits until the event of every write so far has been matched.
  void settle() {
    ASSERT_TRUE(entities_->flush().ok());
    manager_->drain();
  }
  void create(const std::string& json, const std::string& tenant = "") {
    auto r = wait_write([&](model::WriteDone d) { entities_->create(tenant, entity(json), std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    settle();
  }
  void update(const std::string& id, const std::string& attrs_json) {
    clock_.advance(1);  // an update at a later millisecond than the creation
    auto r = wait_write([&](model::WriteDone d) {
      entities_->append("", id, entity(attrs_json, true), model::AppendMode::kOverwrite, std::move(d));
    });
    ASSERT_TRUE(r.ok()) << r.status().message();
    settle();
  }
  void remove(const std::string& id) {
    auto r = wait_write([&](model::WriteDone d) { entities_->delete_entity("", id, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    settle();
  }
  std::vector<std::string> notified_ids() {
    std::vector<std::string> out;
    for (auto& b : sink_.bodies()) out.emplace_back(b["data"].as_array()[0].as_object()["id"].as_string());
    return out;
  }

  ManualClock clock_{kNow};
  model::ChangeBus bus_;
  std::unique_ptr<storage::sqlite::SqliteEntityStore> entities_;
  MemorySubscriptionStore subs_store_;
  FakeSink sink_;
  std::unique_ptr<SubscriptionManager> manager_;
};

std::string sub_doc(const std::string& members, const std::string& notification = "") {
  return R"({"type": "Subscription", )" + members + R"(, "notification": {)" + notification +
         (notification.empty() ? "" : ", ") + R"("endpoint": {"uri": "http://127.0.0.1:9/n"}}})";
}

TEST_F(SubscriptionMatchTest, ByTypeIdAndIdPattern) {
  subscribe(sub_doc(R"("id": "urn:s:type", "entities": [{"type": "Sensor"}])"));
  subscribe(sub_doc(R"("id": "urn:s:id", "entities": [{"type": "Room", "id": "urn:r:1"}])"));
  subscribe(sub_doc(R"("id": "urn:s:pattern", "entities": [{"type": "Room", "idPattern": ":2$"}])"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "t": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:r:1", "type": "Room", "t": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:r:2", "type": "Room", "t": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:r:3", "type": "Room", "t": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:r:1", "type": "Room", "t": {"type": "Property", "value": 1}})", "other-tenant");
  auto bodies = sink_.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0]["subscriptionId"], "urn:s:type");
  EXPECT_EQ(bodies[1]["subscriptionId"], "urn:s:id");
  EXPECT_EQ(bodies[2]["subscriptionId"], "urn:s:pattern");
  EXPECT_EQ(notified_ids(), (std::vector<std::string>{"urn:x:1", "urn:r:1", "urn:r:2"}));
}

TEST_F(SubscriptionMatchTest, NotificationDocumentAndDelivery) {
  subscribe(sub_doc(R"("id": "urn:s:1", "entities": [{"type": "Sensor"}])",
                    R"("attributes": ["temperature"], "format": "keyValues")"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "temperature": {"type": "Property", "value": 21.5},
             "humidity": {"type": "Property", "value": 40}})");
  ASSERT_EQ(sink_.size(), 1u);
  const Delivery& d = sink_.deliveries[0];
  EXPECT_EQ(d.subscription_id, "urn:s:1");
  EXPECT_EQ(d.endpoint.uri, "http://127.0.0.1:9/n");
  EXPECT_NE(d.link_header.find(kCoreContextUrl), std::string::npos) << d.link_header;
  json::object n = json::parse(d.body).as_object();
  EXPECT_EQ(std::string(n["id"].as_string()).rfind("urn:ngsi-ld:Notification:", 0), 0u);
  EXPECT_EQ(n["type"], "Notification");
  EXPECT_EQ(n["notifiedAt"].as_string(), model::format_datetime_ms(kNow));
  json::object data = n["data"].as_array()[0].as_object();
  EXPECT_EQ(data["id"], "urn:x:1");
  EXPECT_EQ(data["type"], "Sensor");
  EXPECT_EQ(data["temperature"], 21.5);
  EXPECT_FALSE(data.contains("humidity")) << "notification.attributes selects";
  EXPECT_NE(d.body.find("21.5"), std::string::npos) << "numbers in plain notation: " << d.body;
}

TEST_F(SubscriptionMatchTest, WatchedAttributes) {
  subscribe(sub_doc(R"("entities": [{"type": "Sensor"}], "watchedAttributes": ["temperature"])"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "humidity": {"type": "Property", "value": 40}})");
  EXPECT_EQ(sink_.size(), 0u) << "created without the watched attribute";
  update("urn:x:1", R"({"humidity": {"type": "Property", "value": 41}})");
  EXPECT_EQ(sink_.size(), 0u);
  update("urn:x:1", R"({"temperature": {"type": "Property", "value": 20}})");
  EXPECT_EQ(sink_.size(), 1u) << "attributeCreated";
  update("urn:x:1", R"({"temperature": {"type": "Property", "value": 21}})");
  EXPECT_EQ(sink_.size(), 2u) << "attributeUpdated";
}

TEST_F(SubscriptionMatchTest, WatchedAttributesWithoutEntitiesMatchAnyType) {
  subscribe(sub_doc(R"("watchedAttributes": ["temperature"])"));
  create(R"({"id": "urn:a:1", "type": "A", "temperature": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:b:1", "type": "B", "temperature": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:c:1", "type": "C", "other": {"type": "Property", "value": 1}})");
  EXPECT_EQ(notified_ids(), (std::vector<std::string>{"urn:a:1", "urn:b:1"}));
}

TEST_F(SubscriptionMatchTest, QFiltersOnTheNewState) {
  subscribe(sub_doc(R"("entities": [{"type": "Sensor"}], "q": "temperature>20")"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "temperature": {"type": "Property", "value": 15}})");
  EXPECT_EQ(sink_.size(), 0u);
  update("urn:x:1", R"({"temperature": {"type": "Property", "value": 25}})");
  EXPECT_EQ(sink_.size(), 1u);
  update("urn:x:1", R"({"temperature": {"type": "Property", "value": 19}})");
  EXPECT_EQ(sink_.size(), 1u);
}

TEST_F(SubscriptionMatchTest, GeoQ) {
  subscribe(sub_doc(R"("entities": [{"type": "Bus"}],
                       "geoQ": {"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": [2.35, 48.85]})"));
  create(R"({"id": "urn:bus:near", "type": "Bus",
             "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.351, 48.851]}}})");
  create(R"({"id": "urn:bus:far", "type": "Bus",
             "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.45, 48.85]}}})");
  create(R"({"id": "urn:bus:nowhere", "type": "Bus", "speed": {"type": "Property", "value": 1}})");
  EXPECT_EQ(notified_ids(), std::vector<std::string>{"urn:bus:near"});
}

TEST_F(SubscriptionMatchTest, ThrottlingSkipsNotificationsInsideThePeriod) {
  subscribe(sub_doc(R"("entities": [{"type": "Sensor"}], "throttling": 5)"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "t": {"type": "Property", "value": 1}})");
  update("urn:x:1", R"({"t": {"type": "Property", "value": 2}})");
  EXPECT_EQ(sink_.size(), 1u);
  clock_.advance(5001);
  update("urn:x:1", R"({"t": {"type": "Property", "value": 3}})");
  EXPECT_EQ(sink_.size(), 2u);
  EXPECT_EQ(manager_->stats().throttled, 1u);
}

TEST_F(SubscriptionMatchTest, ExpiredAndPausedSubscriptionsDoNotNotify) {
  subscribe(sub_doc(R"("id": "urn:s:exp", "entities": [{"type": "Sensor"}], "expiresAt": ")" +
                    model::format_datetime_ms(kNow + 1000) + "\""));
  subscribe(sub_doc(R"("id": "urn:s:paused", "entities": [{"type": "Sensor"}], "isActive": false)"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "t": {"type": "Property", "value": 1}})");
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.deliveries[0].subscription_id, "urn:s:exp");
  clock_.advance(1000);
  update("urn:x:1", R"({"t": {"type": "Property", "value": 2}})");
  EXPECT_EQ(sink_.size(), 1u);
  EXPECT_EQ(manager_->get("", "urn:s:exp")->status(clock_.unix_ms()), "expired");
}

TEST_F(SubscriptionMatchTest, Triggers) {
  subscribe(sub_doc(R"("id": "urn:s:default", "entities": [{"type": "T"}])"));
  subscribe(sub_doc(R"("id": "urn:s:deleted", "entities": [{"type": "T"}], "notificationTrigger": ["entityDeleted"])"));
  subscribe(sub_doc(R"("id": "urn:s:created", "entities": [{"type": "T"}], "notificationTrigger": ["entityCreated"])"));
  subscribe(sub_doc(
      R"("id": "urn:s:attrdel", "entities": [{"type": "T"}], "notificationTrigger": ["attributeDeleted"])"));
  create(R"({"id": "urn:t:1", "type": "T", "a": {"type": "Property", "value": 1}})");
  update("urn:t:1", R"({"a": {"type": "Property", "value": 2}})");
  auto r = wait_write([&](model::WriteDone d) { entities_->delete_attribute("", "urn:t:1", "a", "", true, std::move(d)); });
  ASSERT_TRUE(r.ok());
  settle();
  remove("urn:t:1");
  std::vector<std::string> subs;
  for (auto& b : sink_.bodies()) subs.emplace_back(b["subscriptionId"].as_string());
  EXPECT_EQ(subs, (std::vector<std::string>{"urn:s:created", "urn:s:default",  // create
                                            "urn:s:default",                     // update
                                            "urn:s:attrdel",                     // attribute deleted
                                            "urn:s:deleted"}));                  // entity deleted
  json::object del = sink_.bodies().back()["data"].as_array()[0].as_object();
  EXPECT_EQ(del["id"], "urn:t:1");
  EXPECT_EQ(del["type"], "T");
  EXPECT_TRUE(del.contains("deletedAt"));
}

TEST_F(SubscriptionMatchTest, NotificationsFollowTheOrderOfWrites) {
  subscribe(sub_doc(R"("entities": [{"type": "Sensor"}])"));
  create(R"({"id": "urn:x:1", "type": "Sensor", "n": {"type": "Property", "value": 0}})");
  for (int i = 1; i <= 20; ++i) {
    entities_->append("", "urn:x:1",
                      entity(R"({"n": {"type": "Property", "value": )" + std::to_string(i) + "}}", true),
                      model::AppendMode::kOverwrite, nullptr);
  }
  settle();
  auto bodies = sink_.bodies();
  ASSERT_EQ(bodies.size(), 21u);
  for (int i = 0; i <= 20; ++i)
    EXPECT_EQ(bodies[i]["data"].as_array()[0].as_object()["n"].as_object()["value"], i);
}

TEST_F(SubscriptionMatchTest, ReportsUpdateTheCountersAndDeleteForgetsTheQueue) {
  subscribe(sub_doc(R"("id": "urn:s:1", "entities": [{"type": "Sensor"}])"));
  manager_->report({"", "urn:s:1", true, kNow + 1, ""});
  manager_->report({"", "urn:s:1", false, kNow + 2, "HTTP 500"});
  auto s = manager_->get("", "urn:s:1");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->stats.times_sent, 2u);
  EXPECT_EQ(s->stats.times_failed, 1u);
  EXPECT_EQ(s->stats.last_success_ms, kNow + 1);
  EXPECT_EQ(s->stats.last_failure_ms, kNow + 2);
  EXPECT_EQ(subscription_to_json(*s, *Context::core(), kNow)["notification"].as_object().at("status"), "failed");

  std::promise<Status> p;
  manager_->remove("", "urn:s:1", [&p](const Status& st) { p.set_value(st); });
  EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_FALSE(manager_->get("", "urn:s:1").has_value());
  EXPECT_EQ(sink_.forgotten, std::vector<std::string>{"urn:s:1"});
  create(R"({"id": "urn:x:1", "type": "Sensor", "t": {"type": "Property", "value": 1}})");
  EXPECT_EQ(sink_.size(), 0u);
}

TEST_F(SubscriptionMatchTest, DuplicateIdIsRefusedAndReplaceKeepsCounters) {
  subscribe(sub_doc(R"("id": "urn:s:1", "entities": [{"type": "A"}])"));
  std::promise<Status> p;
  manager_->create("", parse(sub_doc(R"("id": "urn:s:1", "entities": [{"type": "B"}])")).value(), nullptr,
                   [&p](const Status& st) { p.set_value(st); });
  EXPECT_EQ(p.get_future().get().code(), Code::kAlreadyExists);
  manager_->report({"", "urn:s:1", true, kNow, ""});

  auto s = manager_->get("", "urn:s:1");
  SubscriptionParseOptions o;
  o.now_ms = kNow;
  ASSERT_TRUE(patch_subscription(*s, json::parse(R"({"entities": [{"type": "B"}]})"), *Context::core(), o).ok());
  std::promise<Status> r;
  manager_->replace("", *s, nullptr, [&r](const Status& st) { r.set_value(st); });
  ASSERT_TRUE(r.get_future().get().ok());
  EXPECT_EQ(manager_->get("", "urn:s:1")->stats.times_sent, 1u);
  create(R"({"id": "urn:a:1", "type": "A", "t": {"type": "Property", "value": 1}})");
  create(R"({"id": "urn:b:1", "type": "B", "t": {"type": "Property", "value": 1}})");
  EXPECT_EQ(notified_ids(), std::vector<std::string>{"urn:b:1"}) << "the index follows the new selector";
}

// ------------------------------------------------------------------ routes

class SubscriptionRoutesTest : public SubscriptionMatchTest {
 protected:
  void SetUp() override {
    SubscriptionMatchTest::SetUp();
    ASSERT_TRUE(register_subscription_routes(router_, *manager_, resolver_, *entities_, clock_).ok());
  }
  http::Response call(http::bhttp::verb method, const std::string& target, const std::string& body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request req;
    req.method = method;
    req.target = target;
    req.body = body;
    if (!body.empty()) req.headers.set("Content-Type", "application/json");
    for (auto& [k, v] : headers) req.headers.set(k, v);
    std::promise<http::Response> p;
    router_.dispatch(std::move(req), [&p](http::Response r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  static std::string header(const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }
  static json::value body(const http::Response& r) { return json::parse(r.body); }

  boost::asio::io_context io_;
  ContextResolver resolver_{io_, ContextOptions{}};
  http::Router router_;
};

using http::bhttp::status;
using http::bhttp::verb;

TEST_F(SubscriptionRoutesTest, CreateRetrieveDuplicate) {
  const std::string doc = sub_doc(R"("id": "urn:s:r1", "entities": [{"type": "Sensor"}])");
  auto r = call(verb::post, "/ngsi-ld/v1/subscriptions", doc);
  ASSERT_EQ(r.status, status::created) << r.body;
  EXPECT_EQ(header(r, "Location"), "/ngsi-ld/v1/subscriptions/urn:s:r1");
  r = call(verb::post, "/ngsi-ld/v1/subscriptions", doc);
  EXPECT_EQ(r.status, status::conflict);
  EXPECT_EQ(body(r).at("type"), "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists");
  r = call(verb::get, "/ngsi-ld/v1/subscriptions/urn%3As%3Ar1");
  ASSERT_EQ(r.status, status::ok) << r.body;
  EXPECT_EQ(body(r).at("id"), "urn:s:r1");
  EXPECT_EQ(body(r).at("status"), "active");
  EXPECT_NE(header(r, "Link").find(kCoreContextUrl), std::string::npos);
  r = call(verb::get, "/ngsi-ld/v1/subscriptions/urn:s:none");
  EXPECT_EQ(r.status, status::not_found);
  EXPECT_EQ(body(r).at("type"), "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound");
}

TEST_F(SubscriptionRoutesTest, BadRequestsNameTheMember) {
  auto r = call(verb::post, "/ngsi-ld/v1/subscriptions", sub_doc(R"("entities": [{"id": "urn:x:1"}])"));
  ASSERT_EQ(r.status, status::bad_request);
  EXPECT_EQ(body(r).at("type"), "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
  EXPECT_EQ(body(r).at("field"), "entities[0].type");
  r = call(verb::post, "/ngsi-ld/v1/subscriptions", "{not json");
  EXPECT_EQ(r.status, status::bad_request);
  EXPECT_EQ(body(r).at("type"), "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest");
  r = call(verb::post, "/ngsi-ld/v1/subscriptions", sub_doc(R"("entities": [{"type": "T"}])"),
           {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, status::unsupported_media_type);
  r = call(verb::post, "/ngsi-ld/v1/subscriptions",
           R"({"@context": {}, "type": "Subscription", "entities": [{"type": "T"}],
               "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}})");
  EXPECT_EQ(r.status, status::bad_request) << "@context in an application/json body";
  r = call(verb::get, "/ngsi-ld/v1/subscriptions?limit=abc");
  EXPECT_EQ(r.status, status::bad_request);
  EXPECT_EQ(body(r).at("field"), "limit");
}

TEST_F(SubscriptionRoutesTest, InlineContextNamesAreStoredExpandedAndCompactedBack) {
  auto r = call(verb::post, "/ngsi-ld/v1/subscriptions",
                R"({"@context": {"temp": "https://example.org/ns/temp", "Thermo": "https://example.org/ns/Thermo"},
                    "id": "urn:s:ctx", "type": "Subscription", "entities": [{"type": "Thermo"}],
                    "watchedAttributes": ["temp"],
                    "notification": {"attributes": ["temp"], "endpoint": {"uri": "http://127.0.0.1:9/n"}}})",
                {{"Content-Type", "application/ld+json"}});
  ASSERT_EQ(r.status, status::created) << r.body;
  auto s = manager_->get("", "urn:s:ctx");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->entities[0].type, "https://example.org/ns/Thermo");
  EXPECT_EQ(s->watched_attributes, std::vector<std::string>{"https://example.org/ns/temp"});
  // Read with the core context: full IRIs.
  r = call(verb::get, "/ngsi-ld/v1/subscriptions/urn:s:ctx");
  ASSERT_EQ(r.status, status::ok);
  EXPECT_EQ(body(r).at("watchedAttributes").as_array()[0], "https://example.org/ns/temp");
  // A notification is compacted with the subscription's own @context.
  create(R"({"id": "urn:t:1", "type": "https://example.org/ns/Thermo",
             "https://example.org/ns/temp": {"type": "Property", "value": 3}})");
  ASSERT_EQ(sink_.size(), 1u);
  json::object data = sink_.bodies()[0]["data"].as_array()[0].as_object();
  EXPECT_EQ(data["type"], "Thermo");
  EXPECT_TRUE(data.contains("temp")) << json::serialize(data);
}

TEST_F(SubscriptionRoutesTest, ListPatchDeleteAndTenants) {
  for (int i = 1; i <= 3; ++i) {
    auto r = call(verb::post, "/ngsi-ld/v1/subscriptions",
                  sub_doc(R"("id": "urn:s:)" + std::to_string(i) + R"(", "entities": [{"type": "T"}])"));
    ASSERT_EQ(r.status, status::created) << r.body;
  }
  auto r = call(verb::get, "/ngsi-ld/v1/subscriptions?limit=2&offset=1&count=true");
  ASSERT_EQ(r.status, status::ok) << r.body;
  EXPECT_EQ(header(r, "NGSILD-Results-Count"), "3");
  ASSERT_EQ(body(r).as_array().size(), 2u);
  EXPECT_EQ(body(r).as_array()[0].at("id"), "urn:s:2");

  r = call(verb::patch, "/ngsi-ld/v1/subscriptions/urn:s:2", R"({"isActive": false, "throttling": 5})");
  ASSERT_EQ(r.status, status::no_content) << r.body;
  r = call(verb::get, "/ngsi-ld/v1/subscriptions/urn:s:2");
  EXPECT_EQ(body(r).at("status"), "paused");
  EXPECT_EQ(body(r).at("throttling").to_number<double>(), 5.0);
  r = call(verb::patch, "/ngsi-ld/v1/subscriptions/urn:s:2", R"({"throttling": 0})");
  EXPECT_EQ(r.status, status::bad_request);
  EXPECT_EQ(body(r).at("field"), "throttling");
  r = call(verb::patch, "/ngsi-ld/v1/subscriptions/urn:s:none", R"({"isActive": true})");
  EXPECT_EQ(r.status, status::not_found);

  r = call(verb::delete_, "/ngsi-ld/v1/subscriptions/urn:s:2");
  EXPECT_EQ(r.status, status::no_content);
  r = call(verb::delete_, "/ngsi-ld/v1/subscriptions/urn:s:2");
  EXPECT_EQ(r.status, status::not_found);

  r = call(verb::get, "/ngsi-ld/v1/subscriptions", "", {{"NGSILD-Tenant", "nowhere"}});
  EXPECT_EQ(r.status, status::not_found);
  EXPECT_EQ(body(r).at("type"), "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant");
  r = call(verb::post, "/ngsi-ld/v1/subscriptions", sub_doc(R"("id": "urn:s:t", "entities": [{"type": "T"}])"),
           {{"NGSILD-Tenant", "city-b"}});
  ASSERT_EQ(r.status, status::created);
  r = call(verb::get, "/ngsi-ld/v1/subscriptions", "", {{"NGSILD-Tenant", "city-b"}});
  ASSERT_EQ(r.status, status::ok);
  ASSERT_EQ(body(r).as_array().size(), 1u);
  EXPECT_EQ(body(r).as_array()[0].at("id"), "urn:s:t");
}

// ------------------------------------------------------------------ persistence

TEST(SubscriptionPersistence, SubscriptionsAndCountersSurviveARestart) {
  testutil::TempDir dir;
  const std::string path = dir.file(storage::sqlite::SqliteSubscriptionStore::kFileName);
  ManualClock clock(kNow);
  model::ChangeBus bus;
  FakeSink sink;
  {
    auto store = storage::sqlite::SqliteSubscriptionStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    SubscriptionManager m(**store, sink, clock, nullptr);
    ASSERT_TRUE(m.start(bus).ok());
    for (const char* id : {"urn:s:1", "urn:s:2"}) {
      std::promise<Status> p;
      m.create("tenant-a", parse(sub_doc(std::string(R"("id": ")") + id + R"(", "entities": [{"type": "T"}])")).value(),
               nullptr, [&p](const Status& st) { p.set_value(st); });
      ASSERT_TRUE(p.get_future().get().ok());
    }
    std::promise<Status> p;
    m.remove("tenant-a", "urn:s:2", [&p](const Status& st) { p.set_value(st); });
    ASSERT_TRUE(p.get_future().get().ok());
    m.report({"tenant-a", "urn:s:1", true, kNow + 10, ""});
    m.report({"tenant-a", "urn:s:1", false, kNow + 20, "timeout"});
    m.stop();  // saves the counters
  }
  auto store = storage::sqlite::SqliteSubscriptionStore::open(path);
  ASSERT_TRUE(store.ok());
  SubscriptionManager m(**store, sink, clock, nullptr);
  ASSERT_TRUE(m.start(bus).ok());
  EXPECT_TRUE(m.has_tenant("tenant-a"));
  auto all = m.list("tenant-a");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "urn:s:1");
  EXPECT_EQ(all[0].stats.times_sent, 2u);
  EXPECT_EQ(all[0].stats.times_failed, 1u);
  EXPECT_EQ(all[0].stats.last_success_ms, kNow + 10);
  EXPECT_EQ(all[0].stats.last_failure_ms, kNow + 20);
  EXPECT_EQ(all[0].created_at_ms, kNow);
  // And it matches again after the restart.
  storage::sqlite::EntityStoreOptions eo;
  eo.clock = &clock;
  auto entities = storage::sqlite::SqliteEntityStore::open(":memory:", bus, eo);
  ASSERT_TRUE(entities.ok());
  auto r = wait_write([&](model::WriteDone d) {
    (*entities)->create("tenant-a", entity(R"({"id": "urn:t:1", "type": "T", "a": {"type": "Property", "value": 1}})"),
                        std::move(d));
  });
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*entities)->flush().ok());
  m.drain();
  EXPECT_EQ(sink.size(), 1u);
  m.stop();
}

TEST(SubscriptionPersistence, UnreadableStoredDocumentFailsStart) {
  MemorySubscriptionStore store;
  store.put("", "urn:s:bad", "{not json", nullptr);
  FakeSink sink;
  ManualClock clock(kNow);
  model::ChangeBus bus;
  SubscriptionManager m(store, sink, clock, nullptr);
  Status st = m.start(bus);
  EXPECT_EQ(st.code(), Code::kCorruption) << st.message();
  EXPECT_NE(st.message().find("urn:s:bad"), std::string::npos);
}

}  // namespace
}  // namespace urbis::ngsild
