// UpstreamBridge against a real Mosquitto (skipped when it is not installed),
// with a fake sink whose answers the test chooses: what is stored or refused
// is acknowledged once, what failed to store comes back after the reconnect.
#include "ingest/upstream_bridge.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace urbis::ingest {
namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
constexpr const char* kMosquittoPub = "/usr/bin/mosquitto_pub";

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

int run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Answers each message with the next scripted Status (ok once the script is used up).
class ScriptedSink final : public mqtt::IngestSink {
 public:
  bool wants(std::string_view topic) const override { return topic.substr(0, 12) == "application/"; }
  void ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) override {
    Status answer;
    {
      std::lock_guard lock(mu_);
      seen_.push_back(msg->payload);
      transport_ = who.transport;
      if (!script_.empty()) {
        answer = script_.front();
        script_.pop_front();
      }
    }
    done(answer);
  }
  void script(std::vector<Status> answers) {
    std::lock_guard lock(mu_);
    script_.assign(answers.begin(), answers.end());
  }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::string transport() const {
    std::lock_guard lock(mu_);
    return transport_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<Status> script_;
  std::vector<std::string> seen_;
  std::string transport_;
};

class UpstreamBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kMosquitto, X_OK) != 0 || ::access(kMosquittoPub, X_OK) != 0) {
      GTEST_SKIP() << "mosquitto or mosquitto_pub not installed";
    }
    char tmpl[] = "/tmp/urbis-upstream-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    port_ = free_port();
    {
      std::ofstream f(dir_ + "/mosquitto.conf");
      f << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\n";
    }
    const std::string conf = dir_ + "/mosquitto.conf";
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
    ASSERT_TRUE(port_open(port_));
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (bridge_) bridge_->stop();
    bridge_.reset();
    guard_.reset();
    if (io_thread_.joinable()) io_thread_.join();
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void start_bridge() {
    UpstreamEntry e;
    e.url = "mqtt://127.0.0.1:" + std::to_string(port_);
    e.client_id = "bridge-test";
    bridge_ = std::make_unique<UpstreamBridge>(e, sink_, io_);
    ASSERT_TRUE(bridge_->start().ok());
    ASSERT_TRUE(wait_for([&] { return bridge_->stats().connected; }));
  }

  void publish(const std::string& payload) {
    ASSERT_EQ(run({kMosquittoPub, "-h", "127.0.0.1", "-p", std::to_string(port_), "-q", "1", "-t",
                   "application/1/device/0004a30b001c0001/event/up", "-m", payload}),
              0);
  }

  // Polls `cond` for up to 30 s (bounds a hang; no timing is asserted).
  template <typename F>
  bool wait_for(F cond) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!cond()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_{io_.get_executor()};
  std::thread io_thread_;
  ScriptedSink sink_;
  std::unique_ptr<UpstreamBridge> bridge_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(UpstreamBridgeTest, AStorageFailureIsDeliveredAgainAfterTheReconnectAndThenStoredOnce) {
  sink_.script({Status(Code::kIoError, "disk full")});
  start_bridge();
  publish("first");
  ASSERT_TRUE(wait_for([&] { return bridge_->stats().stored == 1; }));
  // The sink saw it twice: failed, then (after the reconnect) stored.
  EXPECT_EQ(sink_.seen(), (std::vector<std::string>{"first", "first"}));
  auto s = bridge_->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_GE(s.reconnects, 1u);
  EXPECT_EQ(sink_.transport(), "upstream");
  // Stored means acknowledged: the next message comes alone.
  publish("second");
  ASSERT_TRUE(wait_for([&] { return bridge_->stats().stored == 2; }));
  EXPECT_EQ(sink_.seen(), (std::vector<std::string>{"first", "first", "second"}));
}

TEST_F(UpstreamBridgeTest, RefusedMessagesAreAcknowledgedNotDeliveredAgain) {
  sink_.script({InvalidArgument("not JSON"), NotFound("no such device"),
                Status(Code::kPermissionDenied, "device disabled")});
  start_bridge();
  publish("bad");
  publish("unknown");
  publish("disabled");
  ASSERT_TRUE(wait_for([&] { return bridge_->stats().refused == 3; }));
  // A restart of the bridge resumes the session: had any refusal not been
  // acknowledged, it would be delivered again before the next message.
  bridge_->stop();
  bridge_.reset();
  start_bridge();
  publish("good");
  ASSERT_TRUE(wait_for([&] { return bridge_->stats().stored == 1; }));
  EXPECT_EQ(sink_.seen(), (std::vector<std::string>{"bad", "unknown", "disabled", "good"}));
  EXPECT_EQ(bridge_->stats().refused, 0u);  // the new bridge's counters
}

}  // namespace
}  // namespace urbis::ingest
