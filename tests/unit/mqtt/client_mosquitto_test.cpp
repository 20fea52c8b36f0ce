// mqtt::Client and `urbis bench mqtt` against a real Mosquitto broker, over
// TCP and (MosquittoTlsTest) TLS with throwaway certificates made by the
// `openssl` command.
//
// Each test starts its own /usr/sbin/mosquitto on a free 127.0.0.1 port and
// kills it by PID at teardown; the tests are skipped when Mosquitto is not
// installed. Waiting is bounded by generous deadlines that only turn a hang
// into a failure; no timing is asserted.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/bench_mqtt.hpp"
#include "mqtt/client/client.hpp"
#include "net/tls_context.hpp"
#include "testutil/temp_dir.hpp"

extern char** environ;

namespace urbis::mqtt {
namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";

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

class MosquittoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kMosquitto, X_OK) != 0) GTEST_SKIP() << kMosquitto << " not installed";
    char tmpl[] = "/tmp/urbis-client-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    port_ = free_port();
    const std::string conf = dir_ + "/mosquitto.conf";
    {
      std::ofstream f(conf);
      f << "listener " << port_ << " 127.0.0.1\n"
        << "allow_anonymous true\n"
        // Unbounded per-client queue: with Mosquitto's default of 1000 a
        // max-rate QoS 1 run can see the broker drop messages, which would
        // hide whether the client itself loses any.
        << "max_queued_messages 0\n"
        << extra_conf();
    }
    const std::string log = dir_ + "/mosquitto.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv{const_cast<char*>(kMosquitto), const_cast<char*>("-c"), const_cast<char*>(conf.c_str()),
                            nullptr};
    ASSERT_EQ(posix_spawn(&pid_, kMosquitto, &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 100 && !port_open(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(port_open(port_)) << "mosquitto did not start listening on " << port_;
  }

  // More mosquitto.conf lines (e.g. a TLS listener).
  virtual std::string extra_conf() { return {}; }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Runs the io_context until `done` holds; false after the deadline.
  bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      // A previous wait may have run the context out of work, which stops it.
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // Starts connecting a new client and waits for the outcome.
  std::pair<std::shared_ptr<Client>, Result<Connack>> try_connect(std::string id, Version v, ClientOptions o = {},
                                                                   uint16_t port = 0,
                                                                   const std::string& host = "127.0.0.1") {
    auto c = Client::create(io_.get_executor());
    o.client_id = std::move(id);
    o.version = v;
    std::optional<Result<Connack>> got;
    c->connect(host, port ? port : port_, o, [&](Result<Connack> r) { got.emplace(std::move(r)); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    if (!got) return {c, Status(Code::kInternal, "no CONNACK")};
    return {c, std::move(*got)};
  }

  // Connects a new client and waits for the CONNACK.
  std::shared_ptr<Client> connect(std::string id, Version v, ClientOptions o = {}, uint16_t port = 0) {
    auto [c, got] = try_connect(std::move(id), v, std::move(o), port);
    EXPECT_TRUE(got.ok()) << got.status().message();
    return c;
  }

  Suback subscribe(Client& c, std::string filter, uint8_t qos) {
    std::optional<Result<Suback>> got;
    c.subscribe(std::move(filter), qos, [&](Result<Suback> r) { got.emplace(std::move(r)); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    EXPECT_TRUE(got && got->ok());
    return got && got->ok() ? got->value() : Suback{};
  }

  boost::asio::io_context io_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

class MosquittoVersionTest : public MosquittoTest, public ::testing::WithParamInterface<Version> {};

TEST_P(MosquittoVersionTest, ConnectsAndDisconnectsCleanly) {
  auto c = connect("conn-test", GetParam());
  ASSERT_TRUE(c->connected());
  EXPECT_EQ(c->connack().reason, rc::kSuccess);
  EXPECT_FALSE(c->connack().session_present);
  std::optional<Status> closed;
  c->on_close([&](const Status& s) { closed = s; });
  bool disconnected = false;
  c->disconnect(rc::kSuccess, [&] { disconnected = true; });
  ASSERT_TRUE(run_until([&] { return disconnected && closed.has_value(); }));
  EXPECT_TRUE(closed->ok()) << closed->message();
  EXPECT_FALSE(c->connected());
}

TEST_P(MosquittoVersionTest, PublishesAndReceivesAllQosLevels) {
  auto sub = connect("sub", GetParam());
  std::vector<Publish> got;
  sub->on_message([&](const Publish& p) { got.push_back(p); });
  Suback sa = subscribe(*sub, "city/+/level", 2);
  ASSERT_EQ(sa.reasons, std::vector<uint8_t>{rc::kGrantedQos2});

  auto pub = connect("pub", GetParam());
  int acked = 0;
  for (uint8_t qos = 0; qos <= 2; ++qos) {
    pub->publish("city/" + std::to_string(qos) + "/level", "payload-" + std::to_string(qos), qos, false, {},
                 [&](const Status& s, uint8_t reason) {
                   EXPECT_TRUE(s.ok()) << s.message();
                   EXPECT_LT(reason, 0x80);
                   ++acked;
                 });
  }
  ASSERT_TRUE(run_until([&] { return acked == 3 && got.size() == 3; }));
  // One publisher connection: the broker keeps the order of publication.
  for (uint8_t qos = 0; qos <= 2; ++qos) {
    EXPECT_EQ(got[qos].topic, "city/" + std::to_string(qos) + "/level");
    EXPECT_EQ(got[qos].payload, "payload-" + std::to_string(qos));
    EXPECT_EQ(got[qos].qos, qos);
  }
}

TEST_P(MosquittoVersionTest, QueuesPublishesBeyondTheInflightWindowAndKeepsOrder) {
  auto sub = connect("sub-window", GetParam());
  std::vector<std::string> got;
  sub->on_message([&](const Publish& p) { got.push_back(p.payload); });
  subscribe(*sub, "window", 1);

  ClientOptions o;
  o.max_inflight = 3;
  auto pub = connect("pub-window", GetParam(), o);
  ASSERT_EQ(pub->send_quota(), 3);
  std::vector<int> completed;
  for (int i = 0; i < 50; ++i) {
    pub->publish("window", std::to_string(i), 1, false, {}, [&completed, i](const Status& s, uint8_t) {
      EXPECT_TRUE(s.ok()) << s.message();
      completed.push_back(i);
    });
  }
  // Only the window went to the wire; the rest waits locally.
  EXPECT_EQ(pub->inflight(), 3u);
  EXPECT_EQ(pub->queued(), 47u);
  ASSERT_TRUE(run_until([&] { return completed.size() == 50 && got.size() == 50; }));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(completed[static_cast<size_t>(i)], i);
    EXPECT_EQ(got[static_cast<size_t>(i)], std::to_string(i));
  }
  EXPECT_EQ(pub->inflight(), 0u);
  EXPECT_EQ(pub->queued(), 0u);
}

TEST_P(MosquittoVersionTest, UnsubscribeStopsDelivery) {
  auto sub = connect("sub-unsub", GetParam());
  std::vector<std::string> topics;
  sub->on_message([&](const Publish& p) { topics.push_back(p.topic); });
  subscribe(*sub, "a", 1);
  subscribe(*sub, "b", 1);
  std::optional<Result<Unsuback>> un;
  sub->unsubscribe({"a"}, [&](Result<Unsuback> r) { un.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return un.has_value(); }));
  ASSERT_TRUE(un->ok()) << un->status().message();

  auto pub = connect("pub-unsub", GetParam());
  pub->publish("a", "x", 1);
  pub->publish("b", "y", 1);
  // "b" was published after "a" on the same connection, so once "b" arrives
  // "a" would have arrived too had the unsubscribe not worked.
  ASSERT_TRUE(run_until([&] { return !topics.empty(); }));
  EXPECT_EQ(topics, std::vector<std::string>{"b"});
}

TEST_P(MosquittoVersionTest, AbruptCloseSendsTheWill) {
  auto watcher = connect("watcher", GetParam());
  std::vector<Publish> got;
  watcher->on_message([&](const Publish& p) { got.push_back(p); });
  subscribe(*watcher, "status/+", 1);

  ClientOptions o;
  o.will = Will{"status/device-7", "offline", 1, false, {}};
  auto dev = connect("device-7", GetParam(), o);
  dev->close();
  ASSERT_TRUE(run_until([&] { return !got.empty(); }));
  EXPECT_EQ(got[0].topic, "status/device-7");
  EXPECT_EQ(got[0].payload, "offline");
}

// ---------------------------------------------------------------- manual acknowledgement

// A persistent session, so what is not acknowledged is delivered again.
ClientOptions persistent(Version v) {
  ClientOptions o;
  o.clean_start = false;
  if (v == Version::v5) o.session_expiry = 300;
  return o;
}

TEST_P(MosquittoVersionTest, DeferredAcksGoOutInArrivalOrderWhateverOrderTheyComeIn) {
  auto sub = connect("sub-deferred", GetParam());
  std::vector<std::string> got;
  std::vector<AckFunction> acks;
  sub->on_message_deferred([&](const Publish& p, AckFunction ack) {
    got.push_back(p.payload);
    acks.push_back(std::move(ack));
  });
  subscribe(*sub, "deferred", 1);
  auto pub = connect("pub-deferred", GetParam());
  for (int i = 0; i < 3; ++i) pub->publish("deferred", std::to_string(i), 1);
  ASSERT_TRUE(run_until([&] { return got.size() == 3; }));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(sub->unacked(), 3u);

  // The last one first: it must wait behind the two before it.
  acks[2]();
  io_.poll();
  EXPECT_EQ(sub->unacked(), 3u);
  // From another thread, as a store's commit callback would.
  std::thread([&] { acks[0](); }).join();
  ASSERT_TRUE(run_until([&] { return sub->unacked() == 2; }));
  io_.poll();
  EXPECT_EQ(sub->unacked(), 2u);  // the second still holds back the third
  acks[1]();
  acks[1]();  // a second call changes nothing
  ASSERT_TRUE(run_until([&] { return sub->unacked() == 0; }));
  EXPECT_TRUE(sub->connected());
}

TEST_P(MosquittoVersionTest, UnackedMessagesAreDeliveredAgainAfterReconnectAndAckedOnesAreNot) {
  const Version v = GetParam();
  auto sub = connect("sub-redeliver", v, persistent(v));
  std::vector<AckFunction> acks;
  sub->on_message_deferred([&](const Publish&, AckFunction ack) { acks.push_back(std::move(ack)); });
  subscribe(*sub, "redeliver/#", 1);
  auto pub = connect("pub-redeliver", v);
  for (int i = 0; i < 3; ++i) pub->publish("redeliver/x", std::to_string(i), 1);
  ASSERT_TRUE(run_until([&] { return acks.size() == 3; }));
  acks[0]();
  acks[2]();  // done, but behind "1", which is never acked on this connection
  ASSERT_TRUE(run_until([&] { return sub->unacked() == 2; }));
  sub->close();  // a crash: no DISCONNECT, nothing more acked
  acks[1]();     // too late: ignored, not sent on a later connection
  sub.reset();
  acks.clear();

  auto again = Client::create(io_.get_executor());
  std::vector<Publish> got;
  again->on_message_deferred([&](const Publish& p, AckFunction ack) {
    got.push_back(p);
    ack();
  });
  ClientOptions o = persistent(v);
  o.client_id = "sub-redeliver";
  o.version = v;
  std::optional<Result<Connack>> connack;
  again->connect("127.0.0.1", port_, o, [&](Result<Connack> r) { connack.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return connack.has_value(); }));
  ASSERT_TRUE(connack->ok()) << connack->status().message();
  EXPECT_TRUE((*connack)->session_present);
  // A sentinel published now arrives after everything the session held.
  pub->publish("redeliver/end", "end", 1);
  ASSERT_TRUE(run_until([&] { return !got.empty() && got.back().topic == "redeliver/end"; }));
  std::vector<std::string> payloads;
  for (const auto& p : got) payloads.push_back(p.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"1", "2", "end"}));
  EXPECT_TRUE(got[0].dup);
  ASSERT_TRUE(run_until([&] { return again->unacked() == 0; }));

  // Everything was acknowledged this time (DISCONNECT flushes the acks first):
  // a third connection gets nothing old.
  bool gone = false;
  again->disconnect(rc::kSuccess, [&] { gone = true; });
  ASSERT_TRUE(run_until([&] { return gone; }));
  again.reset();
  auto third = Client::create(io_.get_executor());
  std::vector<std::string> late;
  third->on_message_deferred([&](const Publish& p, AckFunction ack) {
    late.push_back(p.payload);
    ack();
  });
  connack.reset();
  third->connect("127.0.0.1", port_, o, [&](Result<Connack> r) { connack.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return connack.has_value(); }));
  ASSERT_TRUE(connack->ok());
  pub->publish("redeliver/end", "end2", 1);
  ASSERT_TRUE(run_until([&] { return !late.empty(); }));
  EXPECT_EQ(late, std::vector<std::string>{"end2"});
}

TEST_P(MosquittoVersionTest, DeferredQos2IsDeliveredOnceAndRedeliveredWhenNotAcked) {
  const Version v = GetParam();
  auto sub = connect("sub-q2", v, persistent(v));
  std::vector<std::string> got;
  AckFunction held;
  sub->on_message_deferred([&](const Publish& p, AckFunction ack) {
    got.push_back(p.payload);
    held = std::move(ack);
  });
  subscribe(*sub, "q2", 2);
  auto pub = connect("pub-q2", v);
  bool published = false;
  pub->publish("q2", "a", 2, false, {}, [&](const Status& s, uint8_t) { published = s.ok(); });
  ASSERT_TRUE(run_until([&] { return published && got.size() == 1; }));
  EXPECT_EQ(sub->unacked(), 1u);
  sub->close();
  held();
  sub.reset();

  auto again = Client::create(io_.get_executor());
  std::vector<std::string> second;
  again->on_message_deferred([&](const Publish& p, AckFunction ack) {
    second.push_back(p.payload);
    ack();
  });
  ClientOptions o = persistent(v);
  o.client_id = "sub-q2";
  o.version = v;
  std::optional<Result<Connack>> connack;
  again->connect("127.0.0.1", port_, o, [&](Result<Connack> r) { connack.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return connack.has_value(); }));
  ASSERT_TRUE(connack->ok());
  pub->publish("q2", "b", 2);
  ASSERT_TRUE(run_until([&] { return second.size() >= 2; }));
  EXPECT_EQ(second, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(run_until([&] { return again->unacked() == 0; }));
}

INSTANTIATE_TEST_SUITE_P(Versions, MosquittoVersionTest, ::testing::Values(Version::v311, Version::v5),
                         [](const auto& info) { return info.param == Version::v5 ? "v5" : "v311"; });

// ------------------------------------------------------------------ TLS

// A CA, a server certificate for IP 127.0.0.1 signed by it, and an unrelated
// CA; made once for the suite.
class TestPki {
 public:
  TestPki() {
    if (dir_.path().empty()) return;
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::ofstream(dir_.file("san.ext")) << "subjectAltName=IP:127.0.0.1\n";
    ok_ = run("openssl req -x509 " + key + " -keyout ca.key -out ca.crt -subj /CN=UrbisTestCA -days 2") &&
          run("openssl req -x509 " + key + " -keyout other.key -out other.crt -subj /CN=OtherCA -days 2") &&
          run("openssl req " + key + " -keyout server.key -out server.csr -subj /CN=broker") &&
          run("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -extfile san.ext "
              "-out server.crt -days 2");
  }
  bool ok() const { return ok_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  bool run(const std::string& cmd) {
    return std::system(("cd '" + dir_.path() + "' && " + cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  testutil::TempDir dir_{"urbis-client-tls"};
  bool ok_ = false;
};

class MosquittoTlsTest : public MosquittoTest {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    if (!pki_->ok()) GTEST_SKIP() << "openssl could not make test certificates";
    tls_port_ = free_port();
    MosquittoTest::SetUp();
    if (IsSkipped()) return;
    for (int i = 0; i < 100 && !port_open(tls_port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(port_open(tls_port_)) << "mosquitto did not start its TLS listener on " << tls_port_;
  }
  std::string extra_conf() override {
    // Started as root, mosquitto would drop to user "mosquitto", who cannot
    // read the key in our private temp dir.
    const passwd* me = ::getpwuid(::getuid());
    return "listener " + std::to_string(tls_port_) + " 127.0.0.1\ncertfile " + pki_->file("server.crt") +
           "\nkeyfile " + pki_->file("server.key") + "\n" + (me ? "user " + std::string(me->pw_name) + "\n" : "");
  }

  // Client options for the TLS listener, trusting `ca_file` ("" = system CAs only).
  static ClientOptions tls_options(const std::string& ca_file, bool verify = true) {
    auto ctx = net::make_client_tls_context(net::ClientTlsOptions{ca_file, verify});
    EXPECT_TRUE(ctx.ok()) << ctx.status().message();
    ClientOptions o;
    if (ctx.ok()) o.tls = *ctx;
    return o;
  }

  static inline TestPki* pki_ = nullptr;
  uint16_t tls_port_ = 0;
};

class MosquittoTlsVersionTest : public MosquittoTlsTest, public ::testing::WithParamInterface<Version> {};

TEST_P(MosquittoTlsVersionTest, PublishesAndReceivesOverTlsWithATrustedCa) {
  auto sub = connect("tls-sub", GetParam(), tls_options(pki_->file("ca.crt")), tls_port_);
  ASSERT_TRUE(sub->connected());
  std::vector<Publish> got;
  sub->on_message([&](const Publish& p) { got.push_back(p); });
  subscribe(*sub, "secure/#", 2);
  // A plain TCP publisher on the same broker, and a TLS one.
  auto plain = connect("plain-pub", GetParam());
  auto pub = connect("tls-pub", GetParam(), tls_options(pki_->file("ca.crt")), tls_port_);
  int acked = 0;
  for (uint8_t qos = 0; qos <= 2; ++qos) {
    pub->publish("secure/" + std::to_string(qos), std::string(100000, static_cast<char>('a' + qos)), qos, false, {},
                 [&](const Status& s, uint8_t) {
                   EXPECT_TRUE(s.ok()) << s.message();
                   ++acked;
                 });
  }
  plain->publish("secure/plain", "from tcp", 1, false, {}, [&](const Status& s, uint8_t) {
    EXPECT_TRUE(s.ok()) << s.message();
    ++acked;
  });
  ASSERT_TRUE(run_until([&] { return acked == 4 && got.size() == 4; }));
  std::map<std::string, std::string> by_topic;
  for (const Publish& p : got) by_topic[p.topic] = p.payload;
  for (uint8_t qos = 0; qos <= 2; ++qos) {
    EXPECT_EQ(by_topic["secure/" + std::to_string(qos)], std::string(100000, static_cast<char>('a' + qos)));
  }
  EXPECT_EQ(by_topic["secure/plain"], "from tcp");

  std::optional<Status> closed;
  pub->on_close([&](const Status& s) { closed = s; });
  bool disconnected = false;
  pub->disconnect(rc::kSuccess, [&] { disconnected = true; });
  ASSERT_TRUE(run_until([&] { return disconnected && closed.has_value(); }));
  EXPECT_TRUE(closed->ok()) << closed->message();
}

INSTANTIATE_TEST_SUITE_P(Versions, MosquittoTlsVersionTest, ::testing::Values(Version::v311, Version::v5),
                         [](const auto& info) { return info.param == Version::v5 ? "v5" : "v311"; });

TEST_F(MosquittoTlsTest, AServerCertificateFromAnUntrustedCaIsRefusedWithTheReason) {
  for (const std::string& ca : {std::string(), pki_->file("other.crt")}) {
    auto [c, got] = try_connect("untrusted", Version::v5, tls_options(ca), tls_port_);
    ASSERT_FALSE(got.ok()) << "connected trusting '" << ca << "'";
    EXPECT_EQ(got.status().code(), Code::kUnavailable);
    const std::string m = got.status().message();
    EXPECT_NE(m.find("TLS handshake with 127.0.0.1:" + std::to_string(tls_port_)), std::string::npos) << m;
    EXPECT_NE(m.find("certificate verify failed: unable to get local issuer certificate"), std::string::npos) << m;
    EXPECT_FALSE(c->connected());
  }
}

TEST_F(MosquittoTlsTest, ACertificateForAnotherHostIsRefused) {
  // The certificate names IP 127.0.0.1 only; "localhost" reaches the same
  // broker but is not a name the certificate carries.
  auto [c, got] = try_connect("wrong-name", Version::v5, tls_options(pki_->file("ca.crt")), tls_port_, "localhost");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("certificate verify failed: hostname mismatch"), std::string::npos)
      << got.status().message();
}

TEST_F(MosquittoTlsTest, VerificationOffAcceptsAnyCertificate) {
  // Only tests turn verification off; this shows the switch is what refuses.
  auto c = connect("no-verify", Version::v5, tls_options("", false), tls_port_);
  EXPECT_TRUE(c->connected());
}

TEST_F(MosquittoTlsTest, TlsClientAgainstAPlainListenerFails) {
  auto [c, got] = try_connect("tls-to-plain", Version::v5, tls_options(pki_->file("ca.crt")), port_);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("TLS handshake"), std::string::npos) << got.status().message();
}

TEST(ClientTlsContext, CaFileErrorsNameTheFile) {
  auto missing = net::make_client_tls_context(net::ClientTlsOptions{"/nonexistent/ca.pem"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("ca_file '/nonexistent/ca.pem'"), std::string::npos);
  EXPECT_FALSE(net::check_client_tls_options(net::ClientTlsOptions{"/nonexistent/ca.pem"}).ok());
  testutil::TempDir dir;
  std::ofstream(dir.file("junk.pem")) << "not a certificate\n";
  auto junk = net::make_client_tls_context(net::ClientTlsOptions{dir.file("junk.pem")});
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("junk.pem"), std::string::npos) << junk.status().message();
  EXPECT_TRUE(net::check_client_tls_options(net::ClientTlsOptions{}).ok());
}

TEST_F(MosquittoTest, ConnectToAClosedPortFails) {
  auto c = Client::create(io_.get_executor());
  ClientOptions o;
  o.client_id = "nobody";
  std::optional<Result<Connack>> got;
  c->connect("127.0.0.1", free_port(), o, [&](Result<Connack> r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  EXPECT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), Code::kUnavailable);
  EXPECT_FALSE(c->connected());
}

TEST_F(MosquittoTest, PublishWhileNotConnectedFails) {
  auto c = Client::create(io_.get_executor());
  std::optional<Status> st;
  c->publish("t", "x", 1, false, {}, [&](const Status& s, uint8_t) { st = s; });
  ASSERT_TRUE(run_until([&] { return st.has_value(); }));
  EXPECT_EQ(st->code(), Code::kUnavailable);
}

// Pulls one integer field out of the bench's JSON line.
long long json_int(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\":");
  if (pos == std::string::npos) return -1;
  return std::atoll(json.c_str() + pos + key.size() + 3);
}

TEST_F(MosquittoTest, BenchQos1LosesNothing) {
  app::BenchMqttOptions o;
  o.port = port_;
  o.publishers = 2;
  o.subscribers = 2;
  o.qos = 1;
  o.duration_s = 2;
  o.warmup_s = 0.5;
  o.json = true;
  testing::internal::CaptureStdout();
  int rc = app::run_bench_mqtt(o);
  std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0) << out;
  const long long sent = json_int(out, "sent");
  EXPECT_GT(sent, 0) << out;
  EXPECT_EQ(json_int(out, "acked"), sent) << out;
  EXPECT_EQ(json_int(out, "expected"), 2 * sent) << out;
  EXPECT_EQ(json_int(out, "received"), 2 * sent) << out;
  EXPECT_EQ(json_int(out, "lost"), 0) << out;
  EXPECT_EQ(json_int(out, "duplicates"), 0) << out;
}

TEST_F(MosquittoTest, BenchHoldsIdleClients) {
  app::BenchMqttOptions o;
  o.port = port_;
  o.idle_clients = 50;
  o.duration_s = 0.5;
  o.json = true;
  testing::internal::CaptureStdout();
  int rc = app::run_bench_mqtt(o);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(json_int(out, "connected"), 50) << out;
}

TEST_F(MosquittoTest, BenchRejectsInvalidOptions) {
  app::BenchMqttOptions o;
  o.port = port_;
  o.qos = 3;
  EXPECT_EQ(app::run_bench_mqtt(o), 2);
  o.qos = 0;
  o.version = "4.0";
  EXPECT_EQ(app::run_bench_mqtt(o), 2);
}

TEST_F(MosquittoTest, BenchReportsUnreachableBroker) {
  app::BenchMqttOptions o;
  o.port = free_port();
  o.duration_s = 0.5;
  o.json = true;
  testing::internal::CaptureStdout();
  int rc = app::run_bench_mqtt(o);
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 1);
}

}  // namespace
}  // namespace urbis::mqtt
