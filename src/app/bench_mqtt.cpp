#include "app/bench_mqtt.hpp"
#include "app/bench_payloads.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "mqtt/client/client.hpp"

namespace urbis::app {

namespace asio = boost::asio;
using mqtt::Client;
using Steady = std::chrono::steady_clock;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- payload header

// Native byte order: publisher and subscriber are the same process.
struct MsgHeader {
  uint64_t seq;      // per publisher, from 0 at the start of measurement
  uint32_t pub_id;   // index of the publisher
  uint32_t flags;    // kWarmup
  int64_t sent_ns;   // steady clock at publish()
};
static_assert(sizeof(MsgHeader) == 24);
constexpr uint32_t kWarmup = 1;
// Keeps the bench's own QoS 0 output buffer bounded when the broker reads
// slower than we write (TCP back-pressure then reaches the producer).
constexpr size_t kQos0HighWater = 256 * 1024;
constexpr size_t kQos0LowWater = 64 * 1024;

// ---------------------------------------------------------------- histogram

// A log-linear histogram in the spirit of HdrHistogram: values below 128 are
// exact, above that every power of two is split into 64 buckets, so a reported
// percentile is within 1.6 % of the true value. Fixed size, mergeable.
class LatencyHistogram {
 public:
  LatencyHistogram() : counts_(kBuckets, 0) {}

  void record(uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // The value at quantile q in [0, 1]; 0 when empty.
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(midpoint(i), max_);
    }
    return max_;
  }

 private:
  static constexpr size_t kBuckets = 64 * 59;
  static size_t index(uint64_t v) {
    if (v < 128) return v;
    int e = std::bit_width(v) - 7;  // >= 1; v >> e is in [64, 128)
    return static_cast<size_t>(e) * 64 + (v >> e);
  }
  static uint64_t midpoint(size_t i) {
    if (i < 128) return i;
    int e = static_cast<int>(i / 64) - 1;
    uint64_t lo = (64 + i % 64) << e;
    return lo + ((uint64_t{1} << e) >> 1);
  }
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

// Which sequence numbers of one publisher a subscriber has seen.
struct SeqTracker {
  std::vector<uint64_t> bits;
  uint64_t highest = 0;
  bool any = false;
};

// ---------------------------------------------------------------- coordination

// Counts completions of a batch of asynchronous operations for the main thread.
class Countdown {
 public:
  explicit Countdown(int n) : remaining_(n) {}
  void done(const Status& s) {
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      ++failures_;
      if (first_error_.empty()) first_error_ = s.message();
    }
    if (--remaining_ == 0) cv_.notify_all();
  }
  // Returns false on timeout.
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return remaining_ <= 0; });
  }
  int failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }
  std::string first_error() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int remaining_;
  int failures_ = 0;
  std::string first_error_;
};

// One io_context per thread: a client lives on exactly one of them, so no
// client state is shared between threads.
class ThreadPool {
 public:
  explicit ThreadPool(int n) {
    for (int i = 0; i < n; ++i) {
      auto ctx = std::make_unique<asio::io_context>(1);
      guards_.emplace_back(asio::make_work_guard(*ctx));
      contexts_.push_back(std::move(ctx));
    }
    for (auto& c : contexts_) threads_.emplace_back([ctx = c.get()] { ctx->run(); });
  }
  ~ThreadPool() { join(); }
  asio::io_context& at(size_t i) { return *contexts_[i % contexts_.size()]; }
  void join() {
    guards_.clear();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

// Run-wide state the main thread changes and the clients read.
struct Shared {
  const BenchMqttOptions* opt = nullptr;
  mqtt::Version version = mqtt::Version::v5;
  std::optional<BenchPayload> payload;  // nullopt: the binary latency header
  // 0 warm-up, 1 measuring, 2 stopped.
  std::atomic<int> phase{0};
  std::atomic<int> connection_errors{0};
  std::mutex error_mu;
  std::string first_error;

  void connection_lost(const Status& s) {
    if (s.ok()) return;
    ++connection_errors;
    std::lock_guard lock(error_mu);
    if (first_error.empty()) first_error = s.message();
  }
};

mqtt::ClientOptions client_options(const Shared& sh, std::string id, uint16_t keep_alive) {
  mqtt::ClientOptions o;
  o.client_id = std::move(id);
  o.version = sh.version;
  o.keep_alive = keep_alive;
  o.username = sh.opt->username;
  o.password = sh.opt->password;
  if (sh.opt->inflight > 0) {
    o.max_inflight = static_cast<uint16_t>(std::min(sh.opt->inflight, 65535));
  } else if (sh.version == mqtt::Version::v311) {
    o.max_inflight = 100;
  }
  return o;
}

std::string topic_for(const BenchMqttOptions& o, int i) {
  if (o.topic_template.empty()) return fmt::format("{}/{}", o.topic_prefix, i);
  std::string t = o.topic_template;
  for (auto [key, value] : {std::pair<std::string_view, std::string>{"{i}", std::to_string(i)},
                            std::pair<std::string_view, std::string>{"{eui}", bench_dev_eui(i)}}) {
    for (size_t at = t.find(key); at != std::string::npos; at = t.find(key, at + value.size())) {
      t.replace(at, key.size(), value);
    }
  }
  return t;
}

std::string client_id(const char* role, int i) {
  return fmt::format("urbis-bench-{}-{}-{}", ::getpid(), role, i);
}

// ---------------------------------------------------------------- publisher

class Publisher {
 public:
  Publisher(Shared& sh, asio::io_context& ctx, int id, double rate)
      : sh_(sh), ctx_(ctx), id_(id), rate_(rate), timer_(ctx),
        topic_(topic_for(*sh.opt, id)) {}

  void connect(Countdown& cd) {
    client_ = Client::create(ctx_.get_executor());
    client_->on_close([this](const Status& s) { sh_.connection_lost(s); });
    client_->connect(sh_.opt->host, sh_.opt->port, client_options(sh_, client_id("pub", id_), 60),
                     [&cd](Result<mqtt::Connack> r) { cd.done(r.status()); });
  }

  // Runs on the publisher's io_context.
  void start() {
    started_ns_ = now_ns();
    if (rate_ > 0) return tick();
    pump();
  }

  void stop(Countdown& cd) {
    asio::post(ctx_, [this, &cd] {
      timer_.cancel();
      if (!client_) return cd.done(Status::Ok());
      client_->disconnect(mqtt::rc::kSuccess, [&cd] { cd.done(Status::Ok()); });
    });
  }

  asio::io_context& context() { return ctx_; }

  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  int64_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

 private:
  // Max rate: keep the QoS 1/2 window full, or the QoS 0 buffer busy.
  void pump() {
    if (!client_->connected()) return;
    if (sh_.opt->qos == 0) {
      for (int i = 0; i < 256 && sh_.phase.load(std::memory_order_relaxed) < 2; ++i) {
        if (client_->buffered_bytes() > kQos0HighWater) {
          return client_->when_buffer_below(kQos0LowWater, [this] { pump(); });
        }
        publish_one();
      }
      // Yield so this thread's other clients (subscribers) get their turn.
      if (sh_.phase.load(std::memory_order_relaxed) < 2) asio::post(ctx_, [this] { pump(); });
      return;
    }
    int64_t window = client_->send_quota();
    while (outstanding_.load(std::memory_order_relaxed) < window &&
           sh_.phase.load(std::memory_order_relaxed) < 2) {
      publish_one();
    }
  }

  // Fixed rate: every millisecond, catch up with rate * elapsed.
  void tick() {
    if (sh_.phase.load(std::memory_order_relaxed) >= 2 || !client_->connected()) return;
    double elapsed_s = static_cast<double>(now_ns() - started_ns_) / 1e9;
    auto due = static_cast<uint64_t>(rate_ * elapsed_s);
    while (issued_ < due) publish_one();
    timer_.expires_after(std::chrono::milliseconds(1));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }

  void publish_one() {
    const bool measured = sh_.phase.load(std::memory_order_relaxed) == 1;
    MsgHeader h{};
    h.pub_id = static_cast<uint32_t>(id_);
    h.flags = measured ? 0 : kWarmup;
    h.seq = measured ? seq_++ : 0;
    std::string payload(std::max(sh_.opt->payload_size, sizeof(MsgHeader)), 'x');
    ++issued_;
    const int qos = sh_.opt->qos;
    if (measured) sent_.fetch_add(1, std::memory_order_relaxed);
    mqtt::PublishHandler done;
    if (qos > 0) {
      outstanding_.fetch_add(1, std::memory_order_relaxed);
      done = [this, measured](const Status& s, uint8_t) {
        outstanding_.fetch_sub(1, std::memory_order_relaxed);
        if (!s.ok()) {
          failed_.fetch_add(1, std::memory_order_relaxed);
        } else if (measured) {
          acked_.fetch_add(1, std::memory_order_relaxed);
        }
        if (rate_ == 0) pump();
      };
    }
    h.sent_ns = now_ns();
    if (sh_.payload) {
      // A distinct time per message keeps every point (the ingest path
      // treats the same series and instant as a replay).
      payload = bench_payload(*sh_.payload, issued_, json_base_ms_, dev_eui_);
    } else {
      std::memcpy(payload.data(), &h, sizeof h);
    }
    client_->publish(topic_, std::move(payload), static_cast<uint8_t>(qos), false, {}, std::move(done));
  }

  Shared& sh_;
  asio::io_context& ctx_;
  const int id_;
  const double rate_;  // msg/s for this publisher, 0 = max
  asio::steady_timer timer_;
  const std::string topic_;
  const std::string dev_eui_ = bench_dev_eui(id_);
  std::shared_ptr<Client> client_;
  int64_t started_ns_ = 0;
  uint64_t seq_ = 0;
  uint64_t issued_ = 0;  // including warm-up, for pacing
  // observedAt of the first JSON measurement: distinct per publisher run.
  int64_t json_base_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<int64_t> outstanding_{0};
};

// ---------------------------------------------------------------- subscriber

class Subscriber {
 public:
  Subscriber(Shared& sh, asio::io_context& ctx, int id, int publishers)
      : sh_(sh), ctx_(ctx), id_(id), seqs_(static_cast<size_t>(publishers)) {}

  void connect(Countdown& cd) {
    client_ = Client::create(ctx_.get_executor());
    client_->on_close([this](const Status& s) { sh_.connection_lost(s); });
    client_->on_message([this](const mqtt::Publish& p) { on_message(p); });
    client_->connect(sh_.opt->host, sh_.opt->port, client_options(sh_, client_id("sub", id_), 60),
                     [this, &cd](Result<mqtt::Connack> r) {
                       if (!r.ok()) return cd.done(r.status());
                       client_->subscribe(sh_.opt->topic_prefix + "/#", static_cast<uint8_t>(sh_.opt->qos),
                                          [&cd](Result<mqtt::Suback> s) {
                                            if (!s.ok()) return cd.done(s.status());
                                            if (s->reasons.empty() || s->reasons[0] >= 0x80) {
                                              return cd.done(Status(Code::kPermissionDenied,
                                                                    "subscription refused: " +
                                                                        mqtt::reason_name(s->reasons.empty()
                                                                                              ? 0x80
                                                                                              : s->reasons[0])));
                                            }
                                            cd.done(Status::Ok());
                                          });
                     });
  }

  void stop(Countdown& cd) {
    asio::post(ctx_, [this, &cd] {
      if (!client_) return cd.done(Status::Ok());
      client_->disconnect(mqtt::rc::kSuccess, [&cd] { cd.done(Status::Ok()); });
    });
  }

  asio::io_context& context() { return ctx_; }

  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  int64_t last_ns() const { return last_ns_.load(std::memory_order_relaxed); }
  // Read only after the io threads have stopped.
  const LatencyHistogram& histogram() const { return hist_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t out_of_order() const { return out_of_order_; }
  uint64_t foreign() const { return foreign_; }

 private:
  void on_message(const mqtt::Publish& p) {
    const int64_t now = now_ns();
    MsgHeader h;
    if (p.payload.size() < sizeof h) return void(++foreign_);
    std::memcpy(&h, p.payload.data(), sizeof h);
    if (h.pub_id >= seqs_.size()) return void(++foreign_);
    if (h.flags & kWarmup) return;
    SeqTracker& t = seqs_[h.pub_id];
    size_t word = h.seq / 64;
    uint64_t bit = uint64_t{1} << (h.seq % 64);
    if (word >= t.bits.size()) t.bits.resize(std::max(word + 1, t.bits.size() * 2), 0);
    if (t.bits[word] & bit) return void(++duplicates_);
    t.bits[word] |= bit;
    if (t.any && h.seq < t.highest) ++out_of_order_;
    t.highest = std::max(t.highest, h.seq);
    t.any = true;
    hist_.record(static_cast<uint64_t>(std::max<int64_t>(0, now - h.sent_ns)));
    received_.fetch_add(1, std::memory_order_relaxed);
    last_ns_.store(now, std::memory_order_relaxed);
  }

  Shared& sh_;
  asio::io_context& ctx_;
  const int id_;
  std::shared_ptr<Client> client_;
  std::vector<SeqTracker> seqs_;
  LatencyHistogram hist_;
  uint64_t duplicates_ = 0;
  uint64_t out_of_order_ = 0;
  uint64_t foreign_ = 0;
  std::atomic<uint64_t> received_{0};
  std::atomic<int64_t> last_ns_{0};
};

// ---------------------------------------------------------------- helpers

// Idle connections and many clients need one descriptor each.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// CPU seconds used by this process (all threads) so far.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

Status validate(const BenchMqttOptions& o, mqtt::Version& version) {
  if (o.version == "5" || o.version == "5.0") {
    version = mqtt::Version::v5;
  } else if (o.version == "3.1.1" || o.version == "311" || o.version == "4") {
    version = mqtt::Version::v311;
  } else {
    return InvalidArgument("--mqtt-version must be 5 or 3.1.1, not '" + o.version + "'");
  }
  if (o.qos < 0 || o.qos > 2) return InvalidArgument("--qos must be 0, 1 or 2");
  if (o.threads < 1) return InvalidArgument("--threads must be at least 1");
  if (o.idle_clients < 0) return InvalidArgument("--idle-clients must not be negative");
  if (o.idle_clients == 0 && (o.publishers < 1 || o.subscribers < 0)) {
    return InvalidArgument("--publishers must be at least 1 and --subscribers not negative");
  }
  if (o.duration_s <= 0) return InvalidArgument("--duration must be positive");
  if (!o.payload_format.empty() && !bench_payload_from_name(o.payload_format)) {
    return InvalidArgument("--payload-format must be ingest, json, senml+json, senml+cbor, lpp or chirpstack");
  }
  if (o.topic_template.find_first_of("+#") != std::string::npos) {
    return InvalidArgument("--topic-template must not contain wildcards");
  }
  if (o.topic_prefix.empty() || o.topic_prefix.find_first_of("+#") != std::string::npos) {
    return InvalidArgument("--topic-prefix must be a non-empty topic without wildcards");
  }
  return Status::Ok();
}

std::string target_line(const BenchMqttOptions& o) {
  return fmt::format("{}:{} MQTT {}", o.host, o.port, o.version == "5" || o.version == "5.0" ? "5" : "3.1.1");
}

// ---------------------------------------------------------------- idle mode

int run_idle(const BenchMqttOptions& o, Shared& sh) {
  ThreadPool pool(o.threads);
  const int n = o.idle_clients;
  std::vector<std::shared_ptr<Client>> clients(static_cast<size_t>(n));
  std::atomic<int> next{0};
  std::atomic<int> connected{0};
  Countdown cd(n);
  const auto t0 = Steady::now();

  // A bounded number of connects in flight per thread, so the broker's listen
  // backlog is not overrun (a dropped SYN costs a 1 s retransmit).
  struct Starter {
    static void next_one(const BenchMqttOptions& o, Shared& sh, asio::io_context& ctx,
                         std::vector<std::shared_ptr<Client>>& clients, std::atomic<int>& next,
                         std::atomic<int>& connected, Countdown& cd) {
      int i = next.fetch_add(1);
      if (i >= static_cast<int>(clients.size())) return;
      auto c = Client::create(ctx.get_executor());
      clients[static_cast<size_t>(i)] = c;
      c->on_close([&sh](const Status& s) { sh.connection_lost(s); });
      c->connect(o.host, o.port, client_options(sh, client_id("idle", i), 60),
                 [&o, &sh, &ctx, &clients, &next, &connected, &cd](Result<mqtt::Connack> r) {
                   if (r.ok()) ++connected;
                   cd.done(r.status());
                   next_one(o, sh, ctx, clients, next, connected, cd);
                 });
    }
  };
  constexpr int kChainsPerThread = 32;
  for (int t = 0; t < o.threads; ++t) {
    asio::io_context& ctx = pool.at(static_cast<size_t>(t));
    for (int k = 0; k < kChainsPerThread; ++k) {
      asio::post(ctx, [&, ctxp = &ctx] { Starter::next_one(o, sh, *ctxp, clients, next, connected, cd); });
    }
  }
  cd.wait(std::chrono::minutes(5));
  const double connect_s = std::chrono::duration<double>(Steady::now() - t0).count();
  // A marker scripts wait for before sampling the broker's memory.
  fmt::print(stderr, "idle: {} of {} clients connected in {:.1f} s, holding for {} s\n", connected.load(), n,
             connect_s, o.duration_s);
  std::fflush(stderr);
  sleep_s(o.duration_s);
  // Connections the broker dropped while idle were reported through on_close.
  const int still = connected.load() - sh.connection_errors.load();
  Countdown closing(n);
  for (auto& c : clients) {
    if (!c) {
      closing.done(Status::Ok());
      continue;
    }
    asio::post(c->executor(), [c, &closing] { c->disconnect(mqtt::rc::kSuccess, [&closing] { closing.done(Status::Ok()); }); });
  }
  closing.wait(std::chrono::seconds(30));
  pool.join();
  clients.clear();

  if (o.json) {
    fmt::print("{{\"mode\":\"idle\",\"host\":\"{}\",\"port\":{},\"requested\":{},\"connected\":{},"
               "\"still_connected\":{},\"failed\":{},\"connect_s\":{:.3f},\"hold_s\":{}}}\n",
               o.host, o.port, n, connected.load(), still, cd.failures(), connect_s, o.duration_s);
  }
  FILE* out = o.json ? stderr : stdout;
  fmt::print(out, "urbis bench mqtt --idle-clients: {}\n", target_line(o));
  fmt::print(out, "  requested        {}\n  connected        {}  ({:.1f} s)\n  still connected  {}\n", n,
             connected.load(), connect_s, still);
  if (cd.failures() > 0) fmt::print(out, "  failed           {}  (first error: {})\n", cd.failures(), cd.first_error());
  return connected.load() == n ? 0 : 1;
}

// ---------------------------------------------------------------- load mode

int run_load(const BenchMqttOptions& o, Shared& sh) {
  ThreadPool pool(o.threads);
  // Interleave publishers and subscribers over the threads so a 1 -> 1 run on
  // two threads has each end on its own core.
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<std::unique_ptr<Publisher>> pubs;
  size_t slot = 0;
  for (int i = 0; i < o.subscribers; ++i) {
    subs.push_back(std::make_unique<Subscriber>(sh, pool.at(slot * 2 + 1), i, o.publishers));
    ++slot;
  }
  slot = 0;
  const double per_pub_rate = static_cast<double>(o.rate) / o.publishers;
  for (int i = 0; i < o.publishers; ++i) {
    pubs.push_back(std::make_unique<Publisher>(sh, pool.at(slot * 2), i, per_pub_rate));
    ++slot;
  }

  auto fail_setup = [&](const char* what, Countdown& cd) {
    fmt::print(stderr, "urbis bench mqtt: {} failed for {} client(s): {}\n", what, cd.failures(),
               cd.first_error().empty() ? "timed out" : cd.first_error());
    sh.phase = 2;
    Countdown closing(static_cast<int>(subs.size() + pubs.size()));
    for (auto& s : subs) s->stop(closing);
    for (auto& p : pubs) p->stop(closing);
    closing.wait(std::chrono::seconds(10));
    pool.join();
    return 1;
  };

  Countdown sub_cd(o.subscribers);
  for (auto& s : subs) asio::post(s->context(), [s = s.get(), &sub_cd] { s->connect(sub_cd); });
  if (!sub_cd.wait(std::chrono::seconds(30)) || sub_cd.failures() > 0) return fail_setup("connect/subscribe", sub_cd);
  Countdown pub_cd(o.publishers);
  for (auto& p : pubs) asio::post(p->context(), [p = p.get(), &pub_cd] { p->connect(pub_cd); });
  if (!pub_cd.wait(std::chrono::seconds(30)) || pub_cd.failures() > 0) return fail_setup("connect", pub_cd);

  for (auto& p : pubs) asio::post(p->context(), [p = p.get()] { p->start(); });
  sleep_s(o.warmup_s);
  const int64_t start_ns = now_ns();
  const double cpu_start = cpu_seconds();
  sh.phase = 1;
  sleep_s(o.duration_s);
  sh.phase = 2;
  const int64_t stop_ns = now_ns();
  // The generator's own CPU use while measuring: near 100 % x threads means
  // the generator, not the broker, may be the limit.
  const double bench_cpu_pct = 100.0 * (cpu_seconds() - cpu_start) / (static_cast<double>(stop_ns - start_ns) / 1e9);

  // Drain: wait for acknowledgements and deliveries until everything arrived
  // or nothing moved for drain_s.
  auto totals = [&] {
    uint64_t sent = 0, acked = 0, received = 0;
    int64_t outstanding = 0;
    for (auto& p : pubs) {
      sent += p->sent();
      acked += p->acked();
      outstanding += p->outstanding();
    }
    for (auto& s : subs) received += s->received();
    return std::make_tuple(sent, acked, received, outstanding);
  };
  auto last_progress = Steady::now();
  uint64_t last_sum = 0;
  const auto drain_cap = Steady::now() + std::chrono::duration<double>(std::max(10.0, o.duration_s));
  while (Steady::now() < drain_cap) {
    sleep_s(0.05);
    auto [sent, acked, received, outstanding] = totals();
    if (received >= sent * subs.size() && outstanding <= 0) break;
    if (acked + received != last_sum) {
      last_sum = acked + received;
      last_progress = Steady::now();
    } else if (Steady::now() - last_progress > std::chrono::duration<double>(o.drain_s)) {
      break;
    }
  }

  Countdown closing(static_cast<int>(subs.size() + pubs.size()));
  for (auto& p : pubs) p->stop(closing);
  for (auto& s : subs) s->stop(closing);
  closing.wait(std::chrono::seconds(10));
  pool.join();

  // Report.
  auto [sent, acked, received, outstanding] = totals();
  uint64_t failed = 0;
  for (auto& p : pubs) failed += p->failed();
  LatencyHistogram hist;
  uint64_t dups = 0, ooo = 0, foreign = 0;
  int64_t last_ns = start_ns;
  for (auto& s : subs) {
    hist.merge(s->histogram());
    dups += s->duplicates();
    ooo += s->out_of_order();
    foreign += s->foreign();
    last_ns = std::max(last_ns, s->last_ns());
  }
  const uint64_t expected = sent * subs.size();
  const uint64_t lost = expected > received ? expected - received : 0;
  const double pub_s = static_cast<double>(stop_ns - start_ns) / 1e9;
  const double recv_s = std::max(pub_s, static_cast<double>(last_ns - start_ns) / 1e9);
  const double pub_rate = sent / pub_s;
  const double recv_rate = received / recv_s;
  const double lost_pct = expected ? 100.0 * static_cast<double>(lost) / static_cast<double>(expected) : 0.0;
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const double p50 = us(hist.quantile(0.50)), p90 = us(hist.quantile(0.90)), p99 = us(hist.quantile(0.99)),
               mx = us(hist.max());

  if (o.json) {
    fmt::print(
        "{{\"mode\":\"load\",\"host\":\"{}\",\"port\":{},\"version\":\"{}\",\"qos\":{},\"publishers\":{},"
        "\"subscribers\":{},\"payload_size\":{},\"rate\":{},\"duration_s\":{},\"sent\":{},\"publish_rate\":{:.0f},"
        "\"acked\":{},\"publish_errors\":{},\"received\":{},\"receive_rate\":{:.0f},\"expected\":{},\"lost\":{},"
        "\"lost_pct\":{:.4f},\"duplicates\":{},\"out_of_order\":{},\"latency_p50_us\":{:.1f},"
        "\"latency_p90_us\":{:.1f},\"latency_p99_us\":{:.1f},\"latency_max_us\":{:.1f},"
        "\"bench_cpu_pct\":{:.0f},\"connection_errors\":{}}}\n",
        o.host, o.port, sh.version == mqtt::Version::v5 ? "5" : "3.1.1", o.qos, o.publishers, o.subscribers,
        std::max(o.payload_size, sizeof(MsgHeader)), o.rate, o.duration_s, sent, pub_rate, acked, failed, received,
        recv_rate, expected, lost, lost_pct, dups, ooo, p50, p90, p99, mx, bench_cpu_pct,
        sh.connection_errors.load());
  }
  FILE* out = o.json ? stderr : stdout;
  fmt::print(out, "urbis bench mqtt: {}, QoS {}, {} publisher(s) -> {} subscriber(s) on {}/#, {} B payload, {}, {} s\n",
             target_line(o), o.qos, o.publishers, o.subscribers, o.topic_prefix,
             std::max(o.payload_size, sizeof(MsgHeader)),
             o.rate ? fmt::format("{} msg/s", o.rate) : std::string("max rate"), o.duration_s);
  fmt::print(out, "  sent            {:>12}  ({:.0f} msg/s)\n", sent, pub_rate);
  if (o.qos > 0) fmt::print(out, "  acknowledged    {:>12}  ({} failed)\n", acked, failed);
  fmt::print(out, "  received        {:>12}  ({:.0f} msg/s)\n", received, recv_rate);
  fmt::print(out, "  expected        {:>12}  (sent x subscribers)\n", expected);
  fmt::print(out, "  lost            {:>12}  ({:.3f} %)\n", lost, lost_pct);
  fmt::print(out, "  duplicates      {:>12}\n  out of order    {:>12}\n", dups, ooo);
  fmt::print(out, "  latency (us)    p50 {:.0f}  p90 {:.0f}  p99 {:.0f}  max {:.0f}\n", p50, p90, p99, mx);
  fmt::print(out, "  generator CPU   {:>11.0f} %  (of one core, while measuring)\n", bench_cpu_pct);
  if (foreign) fmt::print(out, "  ignored         {:>12}  (messages not from this run)\n", foreign);
  if (sh.connection_errors.load() > 0) {
    std::lock_guard lock(sh.error_mu);
    fmt::print(out, "  connection errors {}: {}\n", sh.connection_errors.load(), sh.first_error);
  }
  return 0;
}

}  // namespace

int run_bench_mqtt(const BenchMqttOptions& options) {
  Shared sh;
  sh.opt = &options;
  if (Status s = validate(options, sh.version); !s.ok()) {
    fmt::print(stderr, "urbis bench mqtt: {}\n", s.message());
    return 2;
  }
  if (!options.payload_format.empty()) {
    sh.payload = bench_payload_from_name(options.payload_format);
  } else if (options.json_payload) {
    sh.payload = BenchPayload::kIngest;
  }
  raise_fd_limit();
  return options.idle_clients > 0 ? run_idle(options, sh) : run_load(options, sh);
}

void add_bench_mqtt_command(CLI::App& bench_cmd, int& exit_code) {
  auto opts = std::make_shared<BenchMqttOptions>();
  CLI::App* cmd = bench_cmd.add_subcommand("mqtt", "Load an MQTT broker and report throughput, loss and latency");
  cmd->add_option("--host", opts->host, "Broker address")->capture_default_str();
  cmd->add_option("--port", opts->port, "Broker MQTT/TCP port")->capture_default_str();
  cmd->add_option("-p,--publishers", opts->publishers, "Publishing connections")->capture_default_str();
  cmd->add_option("-s,--subscribers", opts->subscribers, "Subscribing connections, each receives every message")
      ->capture_default_str();
  cmd->add_option("-q,--qos", opts->qos, "QoS of publishes and subscriptions")->check(CLI::Range(0, 2))
      ->capture_default_str();
  cmd->add_option("--payload-size", opts->payload_size, "Payload bytes (at least 24)")->capture_default_str();
  cmd->add_option("--rate", opts->rate, "Total messages/s over all publishers; 0 = as fast as possible")
      ->capture_default_str();
  cmd->add_option("-d,--duration", opts->duration_s, "Measured seconds")->capture_default_str();
  cmd->add_option("--warmup", opts->warmup_s, "Warm-up seconds, not counted")->capture_default_str();
  cmd->add_option("--drain", opts->drain_s, "Seconds without progress that end the drain")->capture_default_str();
  cmd->add_option("--topic-prefix", opts->topic_prefix, "Topic prefix")->capture_default_str();
  cmd->add_flag("--json-payload", opts->json_payload,
                "Publish JSON measurements {\"observedAt\":ms,\"v\":n} (for the ingest path; use -s 0)");
  cmd->add_option("--payload-format", opts->payload_format,
                  "One reading per message as ingest, json, senml+json, senml+cbor, lpp or chirpstack (use -s 0)");
  cmd->add_option("--topic-template", opts->topic_template,
                  "Topic per publisher; {i} = publisher number, {eui} = its DevEUI (instead of <prefix>/<i>)");
  cmd->add_option("--mqtt-version", opts->version, "5 or 3.1.1")->capture_default_str();
  cmd->add_option("-u,--username", opts->username, "User name");
  cmd->add_option("-P,--password", opts->password, "Password");
  cmd->add_option("-t,--threads", opts->threads, "io_context threads")->capture_default_str();
  cmd->add_option("--inflight", opts->inflight,
                  "QoS 1/2 window per publisher; 0 = server Receive Maximum (100 for 3.1.1)")
      ->capture_default_str();
  cmd->add_option("--idle-clients", opts->idle_clients,
                  "Hold this many idle connections for --duration instead of publishing");
  cmd->add_flag("--json", opts->json, "Print one JSON line on stdout (the table goes to stderr)");
  cmd->callback([opts, &exit_code] { exit_code = run_bench_mqtt(*opts); });
}

}  // namespace urbis::app
