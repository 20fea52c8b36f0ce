#include "ingest/upstream_bridge.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <utility>

#include "common/log.hpp"
#include "config/config.hpp"
#include "mqtt/client/client.hpp"

namespace urbis::ingest {

namespace asio = boost::asio;

namespace {

constexpr auto kFirstRetry = std::chrono::seconds(1);
constexpr auto kMaxRetry = std::chrono::seconds(60);
// How long the upstream broker keeps our session (and queues uplinks) while
// Urbis is away: a week covers a long outage without leaving a forgotten
// node's queue there forever.
constexpr uint32_t kSessionExpiry = 7 * 24 * 3600;
// QoS 1/2 messages the upstream may have in flight towards us, i.e. commits
// running at once; the acks of later ones wait for earlier ones anyway.
constexpr uint16_t kReceiveMaximum = 100;
constexpr auto kStopWait = std::chrono::seconds(7);  // the client's DISCONNECT flush is bounded by 5 s

std::string default_client_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "urbis";
  return std::string("urbis-") + host;
}

bool settled_by_refusal(Code c) {
  return c == Code::kInvalidArgument || c == Code::kPermissionDenied || c == Code::kNotFound;
}

}  // namespace

// Everything the asynchronous callbacks touch. Fields without a comment are
// used on the io_context thread only.
struct UpstreamBridge::State : std::enable_shared_from_this<UpstreamBridge::State> {
  State(UpstreamEntry e, mqtt::IngestSink& s, asio::io_context& c, net::ClientTlsOptions t)
      : entry(std::move(e)), tls(std::move(t)), sink(s), io(c), retry_timer(c) {}

  const UpstreamEntry entry;
  const net::ClientTlsOptions tls;
  std::string client_id;  // set before start(), read-only after
  MqttUrl target;         // idem
  std::shared_ptr<asio::ssl::context> tls_context;  // idem; set for mqtts:// only
  mqtt::ClientIdentity who;
  mqtt::IngestSink& sink;
  asio::io_context& io;
  asio::steady_timer retry_timer;

  std::shared_ptr<mqtt::Client> client;
  uint64_t generation = 0;  // which connection attempt the callbacks belong to
  bool stopping = false;
  bool ever_up = false;
  bool down_logged = false;  // "down" was logged since the last "up"
  bool failure_logged = false;  // a storage failure was logged on this connection
  std::chrono::seconds backoff = kFirstRetry;

  std::atomic<bool> connected{false};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> stored{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> reconnects{0};

  void connect();
  void on_connack(uint64_t gen, const mqtt::Connack& ack);
  void on_subscribed(uint64_t gen, bool session_present, Result<mqtt::Suback> r);
  void on_down(uint64_t gen, bool was_up, const std::string& why);
  void on_message(const mqtt::Publish& p, mqtt::AckFunction ack);
  void drop_after_failure(uint64_t gen, const std::string& why);
};

void UpstreamBridge::State::connect() {
  if (stopping) return;
  const uint64_t gen = ++generation;
  failure_logged = false;
  client = mqtt::Client::create(io.get_executor());
  std::weak_ptr<State> weak = weak_from_this();
  client->on_message_deferred([weak](const mqtt::Publish& p, mqtt::AckFunction ack) {
    // A bridge that is gone leaves the message unacknowledged: redelivered.
    if (auto self = weak.lock()) self->on_message(p, std::move(ack));
  });
  client->on_close([weak, gen](const Status& why) {
    if (auto self = weak.lock()) self->on_down(gen, true, why.ok() ? "connection closed" : why.message());
  });
  mqtt::ClientOptions o;
  o.client_id = client_id;
  o.version = mqtt::Version::v5;
  o.clean_start = false;  // the upstream keeps our subscriptions and unacknowledged messages
  o.session_expiry = kSessionExpiry;
  o.receive_maximum = kReceiveMaximum;
  if (!entry.username.empty()) o.username = entry.username;
  if (!entry.password.empty()) o.password = entry.password;
  o.tls = tls_context;
  client->connect(target.host, target.port, std::move(o), [weak, gen](Result<mqtt::Connack> r) {
    auto self = weak.lock();
    if (!self) return;
    if (!r.ok()) return self->on_down(gen, false, r.status().message());
    self->on_connack(gen, *r);
  });
}

void UpstreamBridge::State::on_connack(uint64_t gen, const mqtt::Connack& ack) {
  if (gen != generation || stopping) return;
  std::vector<mqtt::SubscribeTopic> topics;
  for (const std::string& f : entry.topics) {
    mqtt::SubscribeTopic t;
    t.filter = f;
    t.qos = entry.qos;
    topics.push_back(std::move(t));
  }
  std::weak_ptr<State> weak = weak_from_this();
  const bool session_present = ack.session_present;
  client->subscribe(std::move(topics), [weak, gen, session_present](Result<mqtt::Suback> r) {
    if (auto self = weak.lock()) self->on_subscribed(gen, session_present, std::move(r));
  });
}

void UpstreamBridge::State::on_subscribed(uint64_t gen, bool session_present, Result<mqtt::Suback> r) {
  // A failed SUBSCRIBE means the connection ended: on_close reports that.
  if (gen != generation || stopping || !r.ok()) return;
  size_t granted = 0;
  for (size_t i = 0; i < r->reasons.size() && i < entry.topics.size(); ++i) {
    if (r->reasons[i] < 0x80) {
      ++granted;
    } else {
      ULOG_ERROR("upstream {}: subscription to '{}' refused: {}", entry.url, entry.topics[i],
                 mqtt::reason_name(r->reasons[i]));
    }
  }
  backoff = kFirstRetry;
  if (ever_up) reconnects.fetch_add(1, std::memory_order_relaxed);
  ever_up = true;
  down_logged = false;
  connected.store(true, std::memory_order_relaxed);
  ULOG_INFO("upstream {}: connected as '{}' ({} of {} topic filters subscribed, session {})", entry.url, client_id,
            granted, entry.topics.size(), session_present ? "resumed" : "new");
}

void UpstreamBridge::State::on_down(uint64_t gen, bool was_up, const std::string& why) {
  if (gen != generation) return;
  connected.store(false, std::memory_order_relaxed);
  client.reset();
  if (stopping) return;
  if (!down_logged) {
    ULOG_WARN("upstream {}: {}: {}; retrying after {} s, doubling up to {} s", entry.url,
              was_up ? "connection lost" : "cannot connect", why, backoff.count(), kMaxRetry.count());
    down_logged = true;
  } else {
    ULOG_DEBUG("upstream {}: still down: {}", entry.url, why);
  }
  retry_timer.expires_after(backoff);
  backoff = std::min(backoff * 2, std::chrono::seconds(kMaxRetry));
  std::weak_ptr<State> weak = weak_from_this();
  retry_timer.async_wait([weak](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->connect();
  });
}

void UpstreamBridge::State::on_message(const mqtt::Publish& p, mqtt::AckFunction ack) {
  received.fetch_add(1, std::memory_order_relaxed);
  if (!sink.wants(p.topic)) {
    // Subscribed by a broad filter but not an uplink: nothing to store, and
    // nothing a redelivery would change.
    refused.fetch_add(1, std::memory_order_relaxed);
    ULOG_DEBUG("upstream {}: '{}' is not an ingest topic; ignored", entry.url, p.topic);
    ack();
    return;
  }
  auto msg = std::make_shared<mqtt::Message>();
  msg->topic = p.topic;
  msg->payload = p.payload;
  msg->qos = p.qos;
  msg->retain = p.retain;
  msg->props = p.props;
  msg->origin_client = client_id;
  const uint64_t gen = generation;
  std::weak_ptr<State> weak = weak_from_this();
  sink.ingest(who, msg, [weak, gen, ack = std::move(ack)](const Status& st) {
    auto self = weak.lock();
    if (st.ok() || settled_by_refusal(st.code())) {
      if (self) (st.ok() ? self->stored : self->refused).fetch_add(1, std::memory_order_relaxed);
      ack();
      return;
    }
    // Not stored: leave it unacknowledged and end the connection, so the
    // upstream delivers it (and what queued behind it) again after the
    // reconnect, when storage may work again.
    if (!self) return;
    self->failed.fetch_add(1, std::memory_order_relaxed);
    asio::post(self->io, [weak, gen, why = st.message()] {
      if (auto s = weak.lock()) s->drop_after_failure(gen, why);
    });
  });
}

void UpstreamBridge::State::drop_after_failure(uint64_t gen, const std::string& why) {
  if (gen != generation || !client || stopping) return;
  if (!failure_logged) {
    ULOG_ERROR("upstream {}: a message could not be stored ({}); reconnecting so it is delivered again", entry.url,
               why);
    failure_logged = true;
  }
  client->close();
}

UpstreamBridge::UpstreamBridge(UpstreamEntry entry, mqtt::IngestSink& sink, asio::io_context& io,
                               net::ClientTlsOptions tls)
    : state_(std::make_shared<State>(std::move(entry), sink, io, std::move(tls))) {
  state_->client_id = state_->entry.client_id.empty() ? default_client_id() : state_->entry.client_id;
  state_->who.client_id = state_->client_id;
  state_->who.transport = "upstream";
  if (!state_->entry.username.empty()) state_->who.username = state_->entry.username;
}

UpstreamBridge::~UpstreamBridge() = default;

Status UpstreamBridge::start() {
  auto target = parse_mqtt_url(state_->entry.url);
  if (!target.ok()) return Status(target.status().code(), "devices.upstream url: " + target.status().message());
  state_->target = std::move(*target);
  if (state_->target.tls) {
    auto ctx = net::make_client_tls_context(state_->tls);
    if (!ctx.ok()) {
      return Status(ctx.status().code(), "devices.upstream " + state_->entry.url + ": outgoing_tls " + ctx.status().message());
    }
    state_->tls_context = std::move(*ctx);
  }
  state_->who.remote_ip = state_->target.host;
  ULOG_INFO("upstream {}: subscribing as '{}' to {} topic filter(s) with QoS {}", state_->entry.url,
            state_->client_id, state_->entry.topics.size(), static_cast<int>(state_->entry.qos));
  asio::post(state_->io, [st = state_] { st->connect(); });
  return Status::Ok();
}

void UpstreamBridge::stop() {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  asio::post(state_->io, [st = state_, done] {
    if (st->stopping) return done->set_value();
    st->stopping = true;
    st->retry_timer.cancel();
    st->connected.store(false, std::memory_order_relaxed);
    if (!st->client) return done->set_value();
    // DISCONNECT with reason 0 keeps the session (its expiry was set in CONNECT).
    auto c = st->client;
    c->disconnect(mqtt::rc::kSuccess, [done] { done->set_value(); });
  });
  if (finished.wait_for(kStopWait) != std::future_status::ready) {
    ULOG_WARN("upstream {}: did not disconnect in time", state_->entry.url);
  }
}

UpstreamStats UpstreamBridge::stats() const {
  const State& s = *state_;
  return {s.connected.load(std::memory_order_relaxed), s.received.load(std::memory_order_relaxed),
          s.stored.load(std::memory_order_relaxed),    s.refused.load(std::memory_order_relaxed),
          s.failed.load(std::memory_order_relaxed),    s.reconnects.load(std::memory_order_relaxed)};
}

const std::string& UpstreamBridge::url() const { return state_->entry.url; }
const std::string& UpstreamBridge::client_id() const { return state_->client_id; }

}  // namespace urbis::ingest
