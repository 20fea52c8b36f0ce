// Notifier against real receivers: a Beast HTTP server started in the test on
// 127.0.0.1, and Mosquitto on a free port (skipped when not installed).
// Waiting is bounded by generous deadlines that only turn a hang into a
// failure; no timing is asserted.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mqtt/client/client.hpp"
#include "ngsild/notify/mqtt_sender.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/notify/target.hpp"
#include "testutil/temp_dir.hpp"

extern char** environ;

namespace urbis::ngsild {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// An HTTP receiver that records every request and answers `status`. down()
// closes the listener and every connection (clients then get "connection
// refused"); up() listens again on the same port.
class Receiver {
 public:
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  // With `tls`, the receiver speaks HTTPS with that server context.
  explicit Receiver(uint16_t port = 0, asio::ssl::context* tls = nullptr)
      : port_(port == 0 ? free_port() : port), tls_(tls) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    down();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void up() {
    std::promise<void> ready;
    asio::post(io_, [&] {
      acceptor_.emplace(io_);
      acceptor_->open(tcp::v4());
      acceptor_->set_option(tcp::acceptor::reuse_address(true));
      acceptor_->bind({asio::ip::make_address("127.0.0.1"), port_});
      acceptor_->listen();
      asio::co_spawn(io_, accept_loop(), asio::detached);
      ready.set_value();
    });
    ready.get_future().wait();
  }
  void down() {
    std::promise<void> ready;
    asio::post(io_, [&] {
      if (acceptor_) acceptor_->close();
      acceptor_.reset();
      for (auto& s : sockets_) {
        boost::system::error_code ec;
        s->shutdown(tcp::socket::shutdown_both, ec);
        s->close(ec);
      }
      sockets_.clear();
      for (auto& s : tls_sockets_) {
        boost::system::error_code ec;
        s->next_layer().shutdown(tcp::socket::shutdown_both, ec);
        s->next_layer().close(ec);
      }
      tls_sockets_.clear();
      ready.set_value();
    });
    ready.get_future().wait();
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/notify") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_; }
  std::atomic<int> status{200};

  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      if (!acceptor_) co_return;
      auto [ec, sock] = co_await acceptor_->async_accept(kAwait);
      if (ec) co_return;
      ++accepted_;
      if (tls_ != nullptr) {
        auto s = std::make_shared<asio::ssl::stream<tcp::socket>>(std::move(sock), *tls_);
        tls_sockets_.push_back(s);
        asio::co_spawn(io_, tls_session(s), asio::detached);
        continue;
      }
      auto s = std::make_shared<tcp::socket>(std::move(sock));
      sockets_.push_back(s);
      asio::co_spawn(io_, session(s), asio::detached);
    }
  }
  asio::awaitable<void> tls_session(std::shared_ptr<asio::ssl::stream<tcp::socket>> s) {
    auto [ec] = co_await s->async_handshake(asio::ssl::stream_base::server, kAwait);
    if (ec) co_return;
    co_await session(s);
  }
  template <typename Stream>
  asio::awaitable<void> session(std::shared_ptr<Stream> s) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(*s, buf, req, kAwait);
      if (ec) co_return;
      Request r;
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      {
        std::lock_guard lock(mu_);
        requests_.push_back(std::move(r));
      }
      http::response<http::string_body> res{static_cast<http::status>(status.load()), 11};
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(*s, res, kAwait);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  uint16_t port_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::optional<tcp::acceptor> acceptor_;
  asio::ssl::context* tls_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::shared_ptr<asio::ssl::stream<tcp::socket>>> tls_sockets_;
  std::atomic<int> accepted_{0};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

// Records the reports a Notifier makes.
class Reports {
 public:
  std::function<void(const DeliveryReport&)> sink() {
    return [this](const DeliveryReport& r) {
      std::lock_guard lock(mu_);
      all_.push_back(r);
    };
  }
  std::vector<DeliveryReport> all() const {
    std::lock_guard lock(mu_);
    return all_;
  }
  size_t count(bool ok, const std::string& sub = "") const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& r : all_) n += (r.ok == ok && (sub.empty() || r.subscription_id == sub)) ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<DeliveryReport> all_;
};

// The io_context the notifier runs on, with one thread.
class IoThread {
 public:
  IoThread() : thread_([this] { io.run(); }) {}
  ~IoThread() {
    work_.reset();
    io.stop();
    thread_.join();
  }
  asio::io_context io;

 private:
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io.get_executor()};
  std::thread thread_;
};

Delivery make(const std::string& sub, const std::string& uri, int n, const std::string& tenant = "") {
  Delivery d;
  d.tenant = tenant;
  d.subscription_id = sub;
  d.endpoint.uri = uri;
  d.body = "{\"subscriptionId\":\"" + sub + "\",\"n\":" + std::to_string(n) + "}";
  return d;
}

// The n of each request body for subscription `sub`, in arrival order.
std::vector<int64_t> sequence(const std::vector<Receiver::Request>& reqs, const std::string& sub) {
  std::vector<int64_t> out;
  for (const auto& r : reqs) {
    auto v = boost::json::parse(r.body).as_object();
    if (v.at("subscriptionId").as_string() == sub) out.push_back(v.at("n").as_int64());
  }
  return out;
}

NotifierOptions fast_retry(const std::string& db = "") {
  NotifierOptions o;
  o.db_path = db;
  o.retry_initial = 10ms;
  o.retry_max = 50ms;
  o.timeout = 5000ms;
  return o;
}

TEST(NotifyTarget, ParsesEndpointUris) {
  auto h = notify::parse_target("http://127.0.0.1:8080/a/b?x=1&y=%20");
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->kind, notify::Target::Kind::kHttp);
  EXPECT_EQ(h->host, "127.0.0.1");
  EXPECT_EQ(h->port, 8080);
  EXPECT_EQ(h->target, "/a/b?x=1&y=%20");

  auto s = notify::parse_target("https://example.org");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->port, 443);
  EXPECT_EQ(s->target, "/");

  auto m = notify::parse_target("mqtt://user:p%40ss@broker.local/city/air%20quality");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->kind, notify::Target::Kind::kMqtt);
  EXPECT_EQ(m->port, 1883);
  EXPECT_TRUE(m->has_user);
  EXPECT_EQ(m->user, "user");
  EXPECT_EQ(m->password, "p@ss");
  EXPECT_EQ(m->target, "city/air quality");

  EXPECT_EQ(notify::parse_target("mqtts://b:8884/t")->port, 8884);
  EXPECT_FALSE(notify::parse_target("ftp://x/y").ok());
  EXPECT_FALSE(notify::parse_target("mqtt://broker").ok());  // no topic
  EXPECT_FALSE(notify::parse_target("not a uri").ok());
  EXPECT_NE(notify::parse_target("ftp://x/y").status().message().find("ftp"), std::string::npos);
}

TEST(NotifyMqttPayload, WrapsBodyWithMetadata) {
  Delivery d = make("s1", "mqtt://h/t", 7, "city");
  d.link_header = "<https://ctx>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";
  d.endpoint.receiver_info = {{"X-Key", "v1"}};
  auto v = boost::json::parse(notify::mqtt_payload(d)).as_object();
  const auto& meta = v.at("metadata").as_object();
  EXPECT_EQ(meta.at("Content-Type").as_string(), "application/json");
  EXPECT_EQ(meta.at("Link").as_string(), d.link_header);
  EXPECT_EQ(meta.at("NGSILD-Tenant").as_string(), "city");
  EXPECT_EQ(meta.at("X-Key").as_string(), "v1");
  EXPECT_EQ(v.at("body"), boost::json::parse(d.body));
}

TEST(Notifier, PostsWithHeaders) {
  Receiver rx;
  rx.up();
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());

  Delivery d = make("urn:ngsi-ld:Subscription:1", rx.url("/notify?x=1"), 1, "city");
  d.link_header = "<https://example.org/ctx.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"";
  d.endpoint.receiver_info = {{"X-Auth-Token", "secret"}, {"X-Other", "2"}};
  n.enqueue(d);
  Delivery ld = make("urn:ngsi-ld:Subscription:2", rx.url("/ld"), 2);
  ld.endpoint.accept = "application/ld+json";
  ld.link_header = "<https://example.org/ctx.jsonld>";  // not sent: the body carries @context
  n.enqueue(ld);

  ASSERT_TRUE(wait_until([&] { return reports.count(true) == 2; }));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);
  std::map<std::string, Receiver::Request> by_target;
  for (auto& r : reqs) by_target[r.target] = r;
  const auto& a = by_target.at("/notify?x=1");
  EXPECT_EQ(a.headers.at("content-type"), "application/json");
  EXPECT_EQ(a.headers.at("link"), d.link_header);
  EXPECT_EQ(a.headers.at("ngsild-tenant"), "city");
  EXPECT_EQ(a.headers.at("x-auth-token"), "secret");
  EXPECT_EQ(a.headers.at("x-other"), "2");
  EXPECT_EQ(a.body, d.body);
  const auto& b = by_target.at("/ld");
  EXPECT_EQ(b.headers.at("content-type"), "application/ld+json");
  EXPECT_EQ(b.headers.count("link"), 0u);
  EXPECT_EQ(b.headers.count("ngsild-tenant"), 0u);
  EXPECT_EQ(b.body, ld.body);

  for (const auto& r : reports.all()) {
    EXPECT_TRUE(r.ok);
    EXPECT_GT(r.at_ms, 0);
    EXPECT_EQ(r.error, "");
  }
  EXPECT_EQ(n.stats().sent, 2u);
  EXPECT_EQ(n.stats().queued, 0u);
  n.stop();
}

TEST(Notifier, KeepsOrderPerSubscriptionAndReusesConnections) {
  Receiver rx;
  rx.up();
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  constexpr int kSubs = 4, kEach = 250;
  // Enqueued from two threads at once: enqueue() is thread-safe, and each
  // subscription is fed by one thread, so its order is defined.
  std::thread other([&] {
    for (int i = 0; i < kEach; ++i) {
      n.enqueue(make("s2", rx.url(), i));
      n.enqueue(make("s3", rx.url(), i));
    }
  });
  for (int i = 0; i < kEach; ++i) {
    n.enqueue(make("s0", rx.url(), i));
    n.enqueue(make("s1", rx.url(), i));
  }
  other.join();
  ASSERT_TRUE(wait_until([&] { return reports.count(true) == kSubs * kEach; }));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), size_t{kSubs * kEach});
  for (int s = 0; s < kSubs; ++s) {
    auto seq = sequence(reqs, "s" + std::to_string(s));
    ASSERT_EQ(seq.size(), size_t{kEach});
    for (int i = 0; i < kEach; ++i) ASSERT_EQ(seq[i], i) << "subscription s" << s;
  }
  // At most one request per subscription is in flight, and connections are kept alive.
  EXPECT_LE(rx.accepted(), kSubs);
  EXPECT_EQ(reports.count(false), 0u);
  n.stop();
}

TEST(Notifier, OneConnectionForSequentialNotifications) {
  Receiver rx;
  rx.up();
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  for (int i = 0; i < 50; ++i) {
    n.enqueue(make("s", rx.url(), i));
    ASSERT_TRUE(wait_until([&] { return reports.count(true) == size_t(i + 1); }));
  }
  EXPECT_EQ(rx.accepted(), 1);
  n.stop();
}

TEST(Notifier, QueuesWhileReceiverIsDownThenDeliversInOrder) {
  Receiver rx;  // not listening yet: connections are refused
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  for (int i = 0; i < 20; ++i) n.enqueue(make("s", rx.url(), i));
  ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 3; }));
  EXPECT_EQ(n.stats().queued, 20u);
  EXPECT_EQ(n.stats().sent, 0u);
  EXPECT_EQ(reports.all().front().error, "connection refused");

  rx.up();
  ASSERT_TRUE(wait_until([&] { return reports.count(true) == 20; }));
  EXPECT_EQ(sequence(rx.requests(), "s"), [] {
    std::vector<int64_t> v;
    for (int i = 0; i < 20; ++i) v.push_back(i);
    return v;
  }());
  // Failures first, then only successes.
  auto all = reports.all();
  size_t first_ok = 0;
  while (first_ok < all.size() && !all[first_ok].ok) ++first_ok;
  EXPECT_GE(first_ok, 3u);
  for (size_t i = first_ok; i < all.size(); ++i) EXPECT_TRUE(all[i].ok) << i;
  EXPECT_EQ(n.stats().queued, 0u);
  EXPECT_GE(n.stats().failed, 3u);

  // A connection dropped by the receiver (kept-alive one closed) is not a failure.
  rx.down();
  rx.up();
  n.enqueue(make("s", rx.url(), 20));
  ASSERT_TRUE(wait_until([&] { return reports.count(true) == 21; }));
  n.stop();
}

TEST(Notifier, NonSuccessStatusIsAFailureAndIsRetried) {
  Receiver rx;
  rx.up();
  rx.status = 500;
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  n.enqueue(make("s", rx.url(), 1));
  ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 2; }));
  EXPECT_EQ(reports.all().front().error, "HTTP 500");
  rx.status = 204;
  ASSERT_TRUE(wait_until([&] { return reports.count(true) == 1; }));
  // Every attempt reached the receiver with the same notification.
  for (const auto& r : rx.requests()) EXPECT_EQ(r.body, make("s", "", 1).body);
  n.stop();
}

TEST(Notifier, PendingDeliveriesSurviveRestart) {
  testutil::TempDir dir;
  const std::string db = dir.file("notify.db");
  Receiver rx;
  {
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    for (int i = 0; i < 10; ++i) n.enqueue(make("a", rx.url(), i));
    for (int i = 0; i < 5; ++i) n.enqueue(make("b", rx.url(), i));
    ASSERT_TRUE(wait_until([&] { return reports.count(false, "a") >= 1 && reports.count(false, "b") >= 1; }));
    n.stop();  // still pending: they stay in the file
  }
  rx.up();
  {
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    ASSERT_TRUE(wait_until([&] { return reports.count(true) == 15; }));
    EXPECT_EQ(sequence(rx.requests(), "a"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(sequence(rx.requests(), "b"), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    n.stop();
  }
  {
    // Delivered ones are gone from the file: a third start sends only the marker.
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    n.enqueue(make("marker", rx.url(), 0));
    ASSERT_TRUE(wait_until([&] { return reports.count(true, "marker") == 1; }));
    EXPECT_EQ(rx.count(), 16u);
    EXPECT_EQ(reports.all().size(), 1u);
    n.stop();
  }
}

TEST(Notifier, BoundDropsOldestAndReportsIt) {
  testutil::TempDir dir;
  Receiver rx;
  IoThread t;
  Reports reports;
  NotifierOptions o = fast_retry(dir.file("notify.db"));
  o.max_queued_per_subscription = 5;
  Notifier n(t.io, o);
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  for (int i = 0; i < 20; ++i) n.enqueue(make("s", rx.url(), i));
  ASSERT_TRUE(wait_until([&] { return n.stats().dropped == 15; }));
  size_t drop_reports = 0;
  for (const auto& r : reports.all()) drop_reports += r.error.rfind("dropped", 0) == 0 ? 1 : 0;
  EXPECT_EQ(drop_reports, 15u);
  EXPECT_EQ(n.stats().queued, 5u);
  rx.up();
  ASSERT_TRUE(wait_until([&] { return reports.count(true) == 5; }));
  auto seq = sequence(rx.requests(), "s");
  ASSERT_EQ(seq.size(), 5u);
  // The newest four always survive; the fifth is the oldest one, kept while in flight.
  EXPECT_EQ(std::vector<int64_t>(seq.begin() + 1, seq.end()), (std::vector<int64_t>{16, 17, 18, 19}));
  EXPECT_TRUE(std::is_sorted(seq.begin(), seq.end()));
  n.stop();
}

TEST(Notifier, ForgetDropsQueueInMemoryAndOnDisk) {
  testutil::TempDir dir;
  const std::string db = dir.file("notify.db");
  Receiver rx;
  {
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    for (int i = 0; i < 10; ++i) n.enqueue(make("gone", rx.url(), i, "t1"));
    ASSERT_TRUE(wait_until([&] { return reports.count(false, "gone") >= 1; }));
    n.forget("t1", "gone");
    ASSERT_TRUE(wait_until([&] { return n.stats().queued == 0; }));
    rx.up();
    n.enqueue(make("kept", rx.url(), 0, "t1"));
    ASSERT_TRUE(wait_until([&] { return reports.count(true, "kept") == 1; }));
    EXPECT_TRUE(sequence(rx.requests(), "gone").empty());
    n.stop();
  }
  {
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    n.enqueue(make("marker", rx.url(), 0));
    ASSERT_TRUE(wait_until([&] { return reports.count(true, "marker") == 1; }));
    EXPECT_TRUE(sequence(rx.requests(), "gone").empty());
    EXPECT_EQ(reports.count(true), 1u);
    n.stop();
  }
}

// An NGSI-LD Notification carrying entity n (mergeable with its neighbours).
Delivery make_notification(const std::string& sub, const std::string& uri, int n) {
  Delivery d;
  d.subscription_id = sub;
  d.endpoint.uri = uri;
  d.body = "{\"id\":\"urn:ngsi-ld:Notification:" + std::to_string(n) +
           "\",\"type\":\"Notification\",\"subscriptionId\":\"" + sub +
           "\",\"notifiedAt\":\"2026-01-01T00:00:00.000Z\",\"data\":[{\"id\":\"urn:ngsi-ld:T:" + std::to_string(n) +
           "\",\"type\":\"T\",\"n\":" + std::to_string(n) + "}]}";
  return d;
}

// The entities' n of each request, one vector per notification received.
std::vector<std::vector<int64_t>> notified(const std::vector<Receiver::Request>& reqs) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& r : reqs) {
    auto v = boost::json::parse(r.body).as_object();
    EXPECT_EQ(v.at("type"), "Notification");
    out.emplace_back();
    for (const auto& e : v.at("data").as_array()) out.back().push_back(e.at("n").as_int64());
  }
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<int64_t> iota_n(int n) {
  std::vector<int64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

TEST(Notifier, CoalescesWaitingNotificationsInOrderUpToTheEntityBound) {
  Receiver rx;  // down: the first notification fails and everything else queues behind it
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  for (int i = 0; i < 250; ++i) n.enqueue(make_notification("s", rx.url(), i));
  ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 1 && n.stats().queued == 250; }));
  rx.up();
  ASSERT_TRUE(wait_until([&] { return n.stats().queued == 0; }));
  auto got = notified(rx.requests());
  // The one that failed is retried alone (as it was sent); the 249 behind it
  // go as notifications of at most 100 entities, in order.
  auto range = [](int from, int to) {
    std::vector<int64_t> v;
    for (int i = from; i < to; ++i) v.push_back(i);
    return v;
  };
  EXPECT_EQ(got, (std::vector<std::vector<int64_t>>{{0}, range(1, 101), range(101, 201), range(201, 250)}));
  // A merged notification is the newest one's envelope with all the entities.
  auto last = boost::json::parse(rx.requests().back().body).as_object();
  EXPECT_EQ(last.at("id"), "urn:ngsi-ld:Notification:249");
  EXPECT_EQ(last.at("subscriptionId"), "s");
  // One report and one count per notification sent, not per entity.
  EXPECT_EQ(reports.count(true), 4u);
  EXPECT_EQ(n.stats().sent, 4u);
  n.stop();
}

TEST(Notifier, CoalescingRespectsTheByteBoundAndLeavesOtherBodiesAlone) {
  Receiver rx;
  IoThread t;
  Reports reports;
  NotifierOptions o = fast_retry();
  const size_t one = make_notification("s", "", 10).body.size();
  o.max_notification_bytes = one * 3;  // room for a body and about two more entities
  Notifier n(t.io, o);
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  for (int i = 0; i < 30; ++i) n.enqueue(make_notification("s", rx.url(), i));
  for (int i = 0; i < 5; ++i) n.enqueue(make("s", rx.url(), i));  // not Notifications: never merged
  ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 1 && n.stats().queued == 35; }));
  rx.up();
  ASSERT_TRUE(wait_until([&] { return n.stats().queued == 0; }));
  std::vector<Receiver::Request> mine, plain;
  for (const auto& r : rx.requests()) {
    if (r.body.find("\"data\"") != std::string::npos) {
      EXPECT_TRUE(plain.empty()) << "order lost";
      mine.push_back(r);
    } else {
      plain.push_back(r);
    }
  }
  for (const auto& r : mine) EXPECT_LE(r.body.size(), o.max_notification_bytes) << r.body;
  auto got = notified(mine);
  EXPECT_EQ(flat(got), iota_n(30));
  EXPECT_LT(got.size(), 30u);  // some were merged
  EXPECT_EQ(sequence(plain, "s"), iota_n(5));
  EXPECT_EQ(plain.size(), 5u);
  n.stop();
}

TEST(Notifier, RetryAfterFailureResendsTheSameMergedNotification) {
  testutil::TempDir dir;
  const std::string db = dir.file("notify.db");
  Receiver rx;
  {
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    for (int i = 0; i < 10; ++i) n.enqueue(make_notification("s", rx.url(), i));
    ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 1 && n.stats().queued == 10; }));
    n.stop();  // the ten stay in the file
  }
  rx.up();
  rx.status = 500;
  {
    // After the restart all ten wait together: the first attempt merges them.
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 3; }));
    rx.status = 204;
    ASSERT_TRUE(wait_until([&] { return reports.count(true) == 1; }));
    auto reqs = rx.requests();
    ASSERT_GE(reqs.size(), 4u);
    // Every attempt carried the same text: same notification id, all ten entities in order.
    for (const auto& r : reqs) EXPECT_EQ(r.body, reqs.front().body);
    EXPECT_EQ(flat(notified({reqs.back()})), iota_n(10));
    EXPECT_EQ(n.stats().queued, 0u);
    EXPECT_EQ(n.stats().sent, 1u);
    n.stop();
  }
  {
    // Every delivered row is gone: only the marker is sent.
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry(db));
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    const size_t before = rx.count();
    n.enqueue(make("marker", rx.url(), 0));
    ASSERT_TRUE(wait_until([&] { return reports.count(true, "marker") == 1; }));
    EXPECT_EQ(rx.count(), before + 1);
    n.stop();
  }
}

TEST(Notifier, BadEndpointIsReportedNotThrown) {
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  n.enqueue(make("s", "gopher://x/y", 0));
  ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 1; }));
  EXPECT_NE(reports.all().front().error.find("gopher"), std::string::npos);
  n.forget("", "s");
  n.stop();
}

// A self-signed certificate for 127.0.0.1 (subjectAltName IP), made by the
// `openssl` command; HTTPS tests are skipped when it cannot.
TEST(Notifier, HttpsVerifiesTheReceiverWithTheConfiguredCa) {
  testutil::TempDir dir;
  const std::string cmd = "cd '" + dir.path() +
                          "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 "
                          "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl could not make a test certificate";
  asio::ssl::context server(asio::ssl::context::tls_server);
  server.use_certificate_chain_file(dir.file("cert.pem"));
  server.use_private_key_file(dir.file("key.pem"), asio::ssl::context::pem);
  Receiver rx(0, &server);
  rx.up();
  const std::string url = "https://127.0.0.1:" + std::to_string(rx.port()) + "/secure";

  {
    // The system CAs do not know this certificate: a failure that says TLS.
    IoThread t;
    Reports reports;
    Notifier n(t.io, fast_retry());
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    n.enqueue(make("s", url, 0));
    ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 1; }));
    EXPECT_NE(reports.all().front().error.find("TLS"), std::string::npos) << reports.all().front().error;
    EXPECT_EQ(rx.count(), 0u);
    n.stop();
  }
  {
    IoThread t;
    Reports reports;
    NotifierOptions o = fast_retry();
    o.ca_file = dir.file("cert.pem");
    Notifier n(t.io, o);
    n.on_report(reports.sink());
    ASSERT_TRUE(n.start().ok());
    for (int i = 0; i < 5; ++i) n.enqueue(make("s", url, i));
    ASSERT_TRUE(wait_until([&] { return reports.count(true) == 5; }));
    EXPECT_EQ(sequence(rx.requests(), "s"), (std::vector<int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(rx.requests().front().target, "/secure");
    n.stop();
  }
}

TEST(Notifier, StartFailsOnAMissingCaFile) {
  IoThread t;
  NotifierOptions o = fast_retry();
  o.ca_file = "/nonexistent/ca.pem";
  Notifier n(t.io, o);
  Status s = n.start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ca_file"), std::string::npos);
}

// ------------------------------------------------------------------ MQTT

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";

bool port_open(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class NotifierMqtt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kMosquitto, X_OK) != 0) GTEST_SKIP() << kMosquitto << " not installed";
    port_ = free_port();
    const std::string conf = dir_.file("mosquitto.conf");
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\n";
    const std::string log = dir_.file("mosquitto.log");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv{const_cast<char*>(kMosquitto), const_cast<char*>("-c"), const_cast<char*>(conf.c_str()),
                            nullptr};
    ASSERT_EQ(posix_spawn(&pid_, kMosquitto, &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_TRUE(wait_until([&] { return port_open(port_); }, 10s)) << "mosquitto did not listen on " << port_;

    // The observer: subscribes to everything under notify/ at QoS 2.
    std::promise<Status> subscribed;
    asio::post(sub_io_.io, [&] {
      sub_ = mqtt::Client::create(sub_io_.io.get_executor());
      sub_->on_message([this](const mqtt::Publish& p) {
        std::lock_guard lock(mu_);
        got_.push_back(p);
      });
      mqtt::ClientOptions co;
      co.client_id = "observer";
      sub_->connect("127.0.0.1", port_, co, [&](Result<mqtt::Connack> r) {
        if (!r.ok()) return subscribed.set_value(r.status());
        sub_->subscribe("notify/#", 2, [&](Result<mqtt::Suback> s) { subscribed.set_value(s.status()); });
      });
    });
    Status s = subscribed.get_future().get();
    ASSERT_TRUE(s.ok()) << s.message();
  }

  void TearDown() override {
    if (sub_) {
      std::promise<void> closed;
      asio::post(sub_io_.io, [&] {
        sub_->close();
        sub_.reset();
        closed.set_value();
      });
      closed.get_future().wait();
    }
    stop_broker();
  }

  void stop_broker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

  std::vector<mqtt::Publish> received() {
    std::lock_guard lock(mu_);
    return got_;
  }
  std::string uri(const std::string& topic) const {
    return "mqtt://127.0.0.1:" + std::to_string(port_) + "/" + topic;
  }

  testutil::TempDir dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  IoThread sub_io_;
  std::shared_ptr<mqtt::Client> sub_;
  std::mutex mu_;
  std::vector<mqtt::Publish> got_;
};

TEST_F(NotifierMqtt, PublishesToTopicFromUriWithQosAndUserProperties) {
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());

  Delivery d5 = make("s5", uri("notify/city/air"), 1, "city");
  d5.endpoint.notifier_info = {{"MQTT-Version", "mqtt5.0"}, {"MQTT-QoS", "1"}};
  d5.endpoint.receiver_info = {{"X-Key", "k5"}};
  d5.link_header = "<https://example.org/ctx.jsonld>";
  Delivery d3 = make("s3", uri("notify/v311"), 2);
  d3.endpoint.notifier_info = {{"MQTT-Version", "mqtt3.1.1"}, {"MQTT-QoS", "2"}};
  d3.endpoint.receiver_info = {{"X-Key", "k3"}};
  for (int i = 0; i < 10; ++i) n.enqueue(make("s0", uri("notify/qos0"), i));
  n.enqueue(d5);
  n.enqueue(d3);

  ASSERT_TRUE(wait_until([&] { return reports.count(true) == 12; }));
  ASSERT_TRUE(wait_until([&] { return received().size() == 12; }));
  std::map<std::string, std::vector<mqtt::Publish>> by_topic;
  for (auto& p : received()) by_topic[p.topic].push_back(p);

  ASSERT_EQ(by_topic["notify/city/air"].size(), 1u);
  const auto& p5 = by_topic["notify/city/air"][0];
  EXPECT_EQ(p5.qos, 1);
  auto v5 = boost::json::parse(p5.payload).as_object();
  EXPECT_EQ(v5.at("body"), boost::json::parse(d5.body));
  EXPECT_EQ(v5.at("metadata").as_object().at("Content-Type").as_string(), "application/json");
  EXPECT_EQ(v5.at("metadata").as_object().at("Link").as_string(), d5.link_header);
  EXPECT_EQ(v5.at("metadata").as_object().at("NGSILD-Tenant").as_string(), "city");
  EXPECT_EQ(p5.props.user_properties, (std::vector<std::pair<std::string, std::string>>{{"X-Key", "k5"}}));

  ASSERT_EQ(by_topic["notify/v311"].size(), 1u);
  const auto& p3 = by_topic["notify/v311"][0];
  EXPECT_EQ(p3.qos, 2);
  auto v3 = boost::json::parse(p3.payload).as_object();
  EXPECT_EQ(v3.at("body"), boost::json::parse(d3.body));
  EXPECT_EQ(v3.at("metadata").as_object().at("X-Key").as_string(), "k3");
  EXPECT_TRUE(p3.props.user_properties.empty());  // a 3.1.1 publish carries no properties

  std::vector<int64_t> seq;
  for (const auto& p : by_topic["notify/qos0"]) {
    EXPECT_EQ(p.qos, 0);
    seq.push_back(boost::json::parse(p.payload).at("body").at("n").as_int64());
  }
  EXPECT_EQ(seq, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  n.stop();
}

TEST_F(NotifierMqtt, BrokerDownIsAFailureReport) {
  stop_broker();
  IoThread t;
  Reports reports;
  Notifier n(t.io, fast_retry());
  n.on_report(reports.sink());
  ASSERT_TRUE(n.start().ok());
  Delivery d = make("s", uri("notify/x"), 0);
  d.endpoint.notifier_info = {{"MQTT-QoS", "1"}};
  n.enqueue(d);
  ASSERT_TRUE(wait_until([&] { return reports.count(false) >= 2; }));
  EXPECT_FALSE(reports.all().front().error.empty());
  EXPECT_EQ(n.stats().queued, 1u);
  n.stop();
}

}  // namespace
}  // namespace urbis::ngsild
