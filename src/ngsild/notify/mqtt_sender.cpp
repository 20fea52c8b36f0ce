#include "ngsild/notify/mqtt_sender.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <random>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "mqtt/client/client.hpp"

namespace urbis::ngsild::notify {

namespace asio = boost::asio;

struct MqttSender::Conn {
  std::string key;
  std::shared_ptr<mqtt::Client> client;
  bool connected = false;
  // Sends waiting for the CONNACK: called with its outcome.
  std::vector<std::function<void(const Status&)>> waiting;
};

namespace {

std::string setting(const Endpoint& e, std::string_view name) {
  for (const auto& [k, v] : e.notifier_info) {
    if (k == name) return v;
  }
  return {};
}

// One attempt: finishes once, by the ack or by the timer, whichever is first.
struct Attempt {
  explicit Attempt(Strand s) : timer(s) {}
  asio::steady_timer timer;
  SendDone done;
  bool finished = false;
  void finish(std::string error) {
    if (finished) return;
    finished = true;
    timer.cancel();
    done(std::move(error));
  }
};

}  // namespace

std::string mqtt_payload(const Delivery& d) {
  boost::json::object meta;
  const std::string& accept = d.endpoint.accept.empty() ? std::string("application/json") : d.endpoint.accept;
  meta["Content-Type"] = accept;
  if (!d.link_header.empty() && accept != "application/ld+json") meta["Link"] = d.link_header;
  if (!d.tenant.empty()) meta["NGSILD-Tenant"] = d.tenant;
  for (const auto& [k, v] : d.endpoint.receiver_info) meta[k] = v;
  std::string out = "{\"metadata\":";
  out += boost::json::serialize(meta);
  out += ",\"body\":";
  out += d.body;
  out += '}';
  return out;
}

MqttSender::MqttSender(Strand strand, const NotifierOptions& options, net::LazyClientTlsContext& tls)
    : strand_(strand), options_(options), tls_(tls) {}
MqttSender::~MqttSender() = default;

Result<std::shared_ptr<MqttSender::Conn>> MqttSender::conn_for(const Target& t, bool v5) {
  // user:password are part of the key (different credentials, different
  // sessions and ACLs); NUL separators cannot occur in a URI.
  const bool tls = t.kind == Target::Kind::kMqtts;
  std::string key = (tls ? "mqtts://" : "mqtt://") + t.host;
  key += '\0' + std::to_string(t.port) + '\0' + (v5 ? "5" : "4") + '\0' + (t.has_user ? "u" : "-") + t.user + '\0' +
         t.password;
  auto it = conns_.find(key);
  if (it != conns_.end()) return it->second;
  std::shared_ptr<asio::ssl::context> tls_context;
  if (tls) {
    auto made = tls_.get();
    if (!made.ok()) return Status(made.status().code(), "notifier TLS: " + made.status().message());
    tls_context = std::move(*made);
  }

  auto conn = std::make_shared<Conn>();
  conn->key = key;
  conn->client = mqtt::Client::create(strand_);
  conns_.emplace(key, conn);
  ++opened_;
  std::weak_ptr<Conn> weak = conn;
  conn->client->on_close([this, weak](const Status& why) {
    auto c = weak.lock();
    if (!c) return;
    if (!why.ok()) ULOG_WARN("notifier: MQTT connection to {} ended: {}", c->key.substr(0, c->key.find('\0')), why.message());
    auto it = conns_.find(c->key);
    if (it != conns_.end() && it->second == c) conns_.erase(it);
  });
  mqtt::ClientOptions co;
  // Unique per process and connection; a broker kicks a second client with the same id.
  static_assert(sizeof(uint64_t) == 8);
  std::random_device rd;
  co.client_id = "urbis-notifier-" + std::to_string(rd()) + "-" + std::to_string(++next_client_);
  co.version = v5 ? mqtt::Version::v5 : mqtt::Version::v311;
  co.clean_start = true;
  co.keep_alive = 60;
  co.connect_timeout = options_.timeout;
  co.tls = std::move(tls_context);
  if (t.has_user) {
    co.username = t.user;
    if (!t.password.empty()) co.password = t.password;
  }
  conn->client->connect(t.host, t.port, std::move(co), [this, weak](Result<mqtt::Connack> r) {
    auto c = weak.lock();
    if (!c) return;
    std::vector<std::function<void(const Status&)>> waiting = std::move(c->waiting);
    c->waiting.clear();
    Status s;
    if (r.ok()) {
      c->connected = true;
    } else {
      s = r.status();
      auto it = conns_.find(c->key);
      if (it != conns_.end() && it->second == c) conns_.erase(it);
    }
    for (auto& w : waiting) w(s);
  });
  return conn;
}

void MqttSender::send(const Target& t, const Delivery& d, SendDone done) {
  if (closed_) {
    asio::post(strand_, [done = std::move(done)] { done("stopped"); });
    return;
  }
  const std::string version = setting(d.endpoint, "MQTT-Version");
  bool v5 = true;
  if (version == "mqtt3.1.1") {
    v5 = false;
  } else if (!version.empty() && version != "mqtt5.0") {
    asio::post(strand_, [done = std::move(done), version] {
      done("notifierInfo MQTT-Version '" + version + "' is not mqtt3.1.1 or mqtt5.0");
    });
    return;
  }
  const std::string qos_text = setting(d.endpoint, "MQTT-QoS");
  uint8_t qos = 0;
  if (qos_text == "1" || qos_text == "2") {
    qos = static_cast<uint8_t>(qos_text[0] - '0');
  } else if (!qos_text.empty() && qos_text != "0") {
    asio::post(strand_, [done = std::move(done), qos_text] {
      done("notifierInfo MQTT-QoS '" + qos_text + "' is not 0, 1 or 2");
    });
    return;
  }

  auto made = conn_for(t, v5);
  if (!made.ok()) {
    asio::post(strand_, [done = std::move(done), msg = made.status().message()] { done(msg); });
    return;
  }
  auto attempt = std::make_shared<Attempt>(strand_);
  attempt->done = std::move(done);
  std::shared_ptr<Conn> conn = std::move(*made);
  std::weak_ptr<Conn> weak = conn;
  attempt->timer.expires_after(options_.timeout);
  attempt->timer.async_wait([attempt, weak](const boost::system::error_code& ec) {
    if (ec || attempt->finished) return;
    attempt->finish("timeout");
    if (auto c = weak.lock()) c->client->close();
  });

  mqtt::Properties props;
  if (v5) {
    props.content_type = "application/json";
    props.user_properties = d.endpoint.receiver_info;
  }
  auto publish = [attempt, conn, topic = t.target, payload = mqtt_payload(d), qos,
                  props = std::move(props)](const Status& connected) mutable {
    if (!connected.ok()) {
      attempt->finish(connected.message());
      return;
    }
    conn->client->publish(std::move(topic), std::move(payload), qos, false, std::move(props),
                          [attempt](const Status& s, uint8_t reason) {
                            if (!s.ok()) {
                              attempt->finish(s.message());
                            } else if (reason >= 0x80) {
                              attempt->finish("MQTT " + mqtt::reason_name(reason));
                            } else {
                              attempt->finish("");
                            }
                          });
  };
  if (conn->connected) {
    publish(Status::Ok());
  } else {
    conn->waiting.push_back(std::move(publish));
  }
}

void MqttSender::close() {
  closed_ = true;
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [key, c] : conns) {
    if (c->connected) {
      c->client->disconnect();
    } else {
      c->client->close();
    }
  }
}

}  // namespace urbis::ngsild::notify
