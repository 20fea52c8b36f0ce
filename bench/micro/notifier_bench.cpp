// Notification latency through the Notifier to a local HTTP receiver.
//
// BM_NotifierPaced sends at a fixed rate (range(0) notifications/s spread over
// range(1) subscriptions, paced every millisecond) for one second per
// iteration and reports the enqueue-to-report latency percentiles as counters
// (p50_us, p99_us, max_us). The issue's target is p99 <= 10 ms at 5,000/s.
// Reports of one subscription come in its enqueue order, so the k-th report of
// a subscription belongs to its k-th enqueue. The receiver answers 204 at once
// on its own thread; with_db = range(2) turns the persisted queue on.
//
//   build/urbis_micro_bench --benchmark_filter=Notifier
//
// Measured on the 2-core dev box (load ~4 from other builds), Release:
// 5,000/s over 100 subscriptions p50 0.17 ms, p99 1.1-3.8 ms (with and without
// the persisted queue); over 10 subscriptions with the queue p99 0.7 ms. Under
// heavier machine load single runs showed p99 spikes to 200 ms: compare runs
// on a quiet machine.
#include <benchmark/benchmark.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ngsild/notify/notifier.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

class Receiver {
 public:
  Receiver() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(kAwait);
      if (ec) co_return;
      asio::co_spawn(io_, session(std::move(s)), asio::detached);
    }
  }
  static asio::awaitable<void> session(tcp::socket s) {
    beast::flat_buffer buf;
    s.set_option(tcp::no_delay(true));
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(s, buf, req, kAwait);
      if (ec) co_return;
      http::response<http::empty_body> res{http::status::no_content, 11};
      res.keep_alive(true);
      auto [wec, wn] = co_await http::async_write(s, res, kAwait);
      if (wec) co_return;
    }
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

void BM_NotifierPaced(benchmark::State& state) {
  const int64_t rate = state.range(0), subs = state.range(1);
  const bool with_db = state.range(2) != 0;
  Receiver rx;
  std::string dir = (std::filesystem::temp_directory_path() / "urbis-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) return state.SkipWithError("mkdtemp failed");

  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  std::vector<double> latencies_us;
  {
    urbis::ngsild::NotifierOptions o;
    if (with_db) o.db_path = dir + "/notify.db";
    urbis::ngsild::Notifier n(io, o);
    std::mutex mu;
    std::unordered_map<std::string, std::deque<Clock::time_point>> sent;
    uint64_t reported = 0, failed = 0;
    n.on_report([&](const urbis::ngsild::DeliveryReport& r) {
      auto now = Clock::now();
      std::lock_guard lock(mu);
      auto& q = sent[r.subscription_id];
      if (!r.ok) ++failed;
      if (!r.ok || q.empty()) return;
      latencies_us.push_back(std::chrono::duration<double, std::micro>(now - q.front()).count());
      q.pop_front();
      ++reported;
    });
    if (!n.start().ok()) return state.SkipWithError("start failed");
    const std::string uri = "http://127.0.0.1:" + std::to_string(rx.port()) + "/notify";
    const std::string body =
        R"({"id":"urn:ngsi-ld:Notification:1","type":"Notification","subscriptionId":"s",)"
        R"("notifiedAt":"2024-01-01T00:00:00.000Z","data":[{"id":"urn:ngsi-ld:Sensor:1","type":"Sensor",)"
        R"("temperature":{"type":"Property","value":21.5}}]})";
    uint64_t enqueued = 0;
    for (auto _ : state) {
      const auto start = Clock::now();
      for (int ms = 0; ms < 1000; ++ms) {
        std::this_thread::sleep_until(start + std::chrono::milliseconds(ms));
        const int64_t now_count = rate * (ms + 1) / 1000 - rate * ms / 1000;
        for (int64_t i = 0; i < now_count; ++i) {
          urbis::ngsild::Delivery d;
          d.subscription_id = "s" + std::to_string(enqueued % subs);
          d.endpoint.uri = uri;
          d.body = body;
          {
            std::lock_guard lock(mu);
            sent[d.subscription_id].push_back(Clock::now());
          }
          n.enqueue(std::move(d));
          ++enqueued;
        }
      }
    }
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (reported + failed >= enqueued) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    n.stop();
    state.counters["failed"] = static_cast<double>(failed);
  }
  guard.reset();
  io.stop();
  io_thread.join();
  std::filesystem::remove_all(dir);
  if (latencies_us.empty()) return;
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) { return latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["max_us"] = latencies_us.back();
  state.counters["notifications"] = static_cast<double>(latencies_us.size());
}
BENCHMARK(BM_NotifierPaced)
    ->Args({5000, 100, 0})
    ->Args({5000, 100, 1})
    ->Args({5000, 10, 1})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
