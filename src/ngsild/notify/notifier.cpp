#include "ngsild/notify/notifier.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <future>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "ngsild/notify/coalesce.hpp"
#include "ngsild/notify/http_sender.hpp"
#include "ngsild/notify/mqtt_sender.hpp"
#include "ngsild/notify/queue_store.hpp"
#include "ngsild/notify/target.hpp"

namespace urbis::ngsild {

namespace asio = boost::asio;
using notify::PersistFlag;
using notify::Strand;
using notify::Target;

namespace {

std::string queue_key(const std::string& tenant, const std::string& subscription_id) {
  std::string k;
  k.reserve(tenant.size() + subscription_id.size() + 1);
  k += tenant;
  k += '\0';
  k += subscription_id;
  return k;
}

}  // namespace

struct Notifier::Impl : std::enable_shared_from_this<Notifier::Impl> {
  struct Item {
    uint64_t seq = 0;
    std::shared_ptr<const Delivery> d;  // immutable: the writer thread may read it too
    PersistFlag persist;
    std::optional<Result<Target>> target;  // parsed on the first attempt
    // Where its entities are, computed when a batch first considers it.
    std::optional<std::optional<notify::NotificationShape>> shape;
  };
  // One subscription's FIFO. Only the head is ever in flight.
  struct SubQueue {
    explicit SubQueue(Strand s) : retry(s) {}
    uint64_t id = 0;  // tells a completion for a forgotten queue from one for its successor
    std::string tenant, subscription_id;
    std::deque<Item> items;
    bool in_flight = false;
    bool waiting_retry = false;
    // The current attempt: the first `batch` items, sent as `batch_d` (the
    // head's own delivery, or their merge). 0 = none formed yet.
    size_t batch = 0;
    std::shared_ptr<const Delivery> batch_d;
    uint32_t failures = 0;  // consecutive, for the backoff
    asio::steady_timer retry;
  };

  Impl(asio::io_context& io, NotifierOptions o)
      : io(io),
        options(std::move(o)),
        strand(asio::make_strand(io)),
        tls(net::ClientTlsOptions{options.ca_file, options.tls_verify}),
        http(strand, options, tls),
        mqtt(strand, options, tls) {}

  asio::io_context& io;
  const NotifierOptions options;
  Strand strand;
  SystemClock clock;
  std::function<void(const DeliveryReport&)> report_fn;

  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> sent{0}, failed{0}, dropped{0}, queued{0};

  // Strand-only state.
  bool running = false;  // between start()'s and stop()'s strand tasks
  bool closed = false;   // stop()'s strand task ran: the store belongs to stop() now
  std::unique_ptr<notify::QueueStore> store;  // null in memory-only mode; set before running
  net::LazyClientTlsContext tls;  // https:// and mqtts://, one context for both
  notify::HttpSender http;
  notify::MqttSender mqtt;
  std::unordered_map<std::string, std::unique_ptr<SubQueue>> queues;
  uint64_t next_seq = 1;
  uint64_t next_queue_id = 1;
  std::vector<notify::PersistJob> to_persist;  // waiting for persist_delay
  bool persist_armed = false;
  asio::steady_timer persist_timer{strand};
  std::vector<uint64_t> pending_erase;
  bool erase_posted = false;
  std::mt19937_64 rng{std::random_device{}()};
  std::chrono::steady_clock::time_point last_drop_log{};
  uint64_t drops_unlogged = 0;
  uint64_t persist_skipped = 0;

  SubQueue& queue_for(const std::string& tenant, const std::string& sub) {
    auto key = queue_key(tenant, sub);
    auto it = queues.find(key);
    if (it != queues.end()) return *it->second;
    auto q = std::make_unique<SubQueue>(strand);
    q->id = next_queue_id++;
    q->tenant = tenant;
    q->subscription_id = sub;
    return *queues.emplace(std::move(key), std::move(q)).first->second;
  }

  void report(const std::string& tenant, const std::string& sub, bool ok, std::string error) {
    if (!report_fn) return;
    DeliveryReport r;
    r.tenant = tenant;
    r.subscription_id = sub;
    r.ok = ok;
    r.at_ms = clock.unix_ms();
    r.error = std::move(error);
    report_fn(r);
  }

  // The delivery is finished (sent, dropped, forgotten): its row goes, if it was written.
  void settle(Item& item) {
    int expected = notify::kNew;
    if (item.persist->compare_exchange_strong(expected, notify::kSettled)) return;  // never written
    if (!store) return;
    pending_erase.push_back(item.seq);
    if (!erase_posted) {
      // Everything settled during this turn of the strand goes in one work item.
      erase_posted = true;
      asio::post(strand, [self = shared_from_this()] { self->flush_erases(); });
    }
  }

  // Writes what is still unsettled after persist_delay, in one work item.
  void flush_persist() {
    std::vector<notify::PersistJob> jobs;
    jobs.reserve(to_persist.size());
    for (auto& j : to_persist) {
      if (j.flag->load() != notify::kSettled) jobs.push_back(std::move(j));
    }
    to_persist.clear();
    if (jobs.empty() || !store) return;
    const size_t n = jobs.size();
    if (!store->insert(std::move(jobs))) {
      persist_skipped += n;
      ULOG_WARN("notifier: queue database busy, {} notification(s) kept in memory only so far", persist_skipped);
    }
  }

  void flush_erases() {
    erase_posted = false;
    if (closed || pending_erase.empty() || !store) return;
    if (store->erase(pending_erase)) {
      pending_erase.clear();
    } else if (!erase_posted) {
      // Writer queue full: try again shortly; the rows cost a duplicate after a crash at worst.
      erase_posted = true;
      auto t = std::make_shared<asio::steady_timer>(strand, std::chrono::milliseconds(10));
      t->async_wait([self = shared_from_this(), t](const boost::system::error_code&) { self->flush_erases(); });
    }
  }

  // Adds to the tail, applying the bound. `persisted`: the row is already on disk (restart).
  void push(Item item, bool persisted) {
    SubQueue& q = queue_for(item.d->tenant, item.d->subscription_id);
    if (!persisted && store) {
      to_persist.push_back({item.seq, item.d, item.persist, clock.unix_ms()});
      if (!persist_armed) {
        persist_armed = true;
        persist_timer.expires_after(options.persist_delay);
        persist_timer.async_wait([self = shared_from_this()](const boost::system::error_code&) {
          self->persist_armed = false;
          if (!self->closed) self->flush_persist();
        });
      }
    }
    q.items.push_back(std::move(item));
    ++queued;
    const size_t bound = std::max<size_t>(1, options.max_queued_per_subscription);
    while (q.items.size() > bound) {
      // Never a batch in flight: its outcome is about to be reported.
      auto victim = q.items.begin() + (q.in_flight ? static_cast<std::ptrdiff_t>(q.batch) : 0);
      if (victim == q.items.end()) break;
      if (!q.in_flight) dissolve_batch(q);
      Item gone = std::move(*victim);
      q.items.erase(victim);
      --queued;
      ++dropped;
      settle(gone);
      log_drop(q);
      report(q.tenant, q.subscription_id, false,
             "dropped: more than " + std::to_string(bound) + " notifications waiting for this endpoint");
    }
  }

  void log_drop(const SubQueue& q) {
    ++drops_unlogged;
    auto now = std::chrono::steady_clock::now();
    if (now - last_drop_log < std::chrono::seconds(10)) return;
    last_drop_log = now;
    ULOG_WARN("notifier: {} notification(s) dropped (queue full), latest for subscription {} of tenant '{}'",
              drops_unlogged, q.subscription_id, q.tenant);
    drops_unlogged = 0;
  }

  void dissolve_batch(SubQueue& q) {
    q.batch = 0;
    q.batch_d.reset();
  }

  static const std::optional<notify::NotificationShape>& shape_of(Item& item) {
    if (!item.shape) item.shape = notify::notification_shape(item.d->body);
    return *item.shape;
  }

  // The head and the deliveries right behind it that can share its notification.
  void form_batch(SubQueue& q) {
    Item& head = q.items.front();
    q.batch = 1;
    q.batch_d = head.d;
    const size_t max_entities = options.max_entities_per_notification;
    if (q.items.size() < 2 || max_entities < 2) return;
    const auto& first = shape_of(head);
    if (!first) return;
    size_t entities = first->members;
    size_t data_bytes = first->data_end - first->data_begin;  // of the merged "data" so far
    size_t n = 1;
    for (; n < q.items.size(); ++n) {
      Item& next = q.items[n];
      const auto& shape = shape_of(next);
      if (!shape || shape->envelope != first->envelope || next.d->endpoint != head.d->endpoint ||
          next.d->link_header != head.d->link_header || next.d->tenant != head.d->tenant)
        break;
      // The merge takes `next`'s envelope (it would be the last part).
      const size_t own = shape->data_end - shape->data_begin;
      const size_t merged_data = data_bytes + 1 + own;
      if (entities + shape->members > max_entities ||
          next.d->body.size() - own + merged_data > options.max_notification_bytes)
        break;
      entities += shape->members;
      data_bytes = merged_data;
    }
    if (n == 1) return;
    std::vector<notify::ShapedBody> parts;
    parts.reserve(n);
    for (size_t i = 0; i < n; ++i) parts.push_back({q.items[i].d->body, &**q.items[i].shape});
    auto merged = std::make_shared<Delivery>(*q.items[n - 1].d);
    merged->body = notify::merge_notifications(parts);
    q.batch = n;
    q.batch_d = std::move(merged);
  }

  void pump(SubQueue& q) {
    if (!running || q.in_flight || q.waiting_retry || q.items.empty()) return;
    q.in_flight = true;
    if (q.batch == 0) form_batch(q);
    Item& head = q.items.front();
    if (!head.target) head.target = notify::parse_target(head.d->endpoint.uri);
    auto done = [self = shared_from_this(), key = queue_key(q.tenant, q.subscription_id), id = q.id,
                 seq = head.seq](std::string error) { self->on_attempt(key, id, seq, std::move(error)); };
    if (!head.target->ok()) {
      asio::post(strand, [done, msg = head.target->status().message()] { done(msg); });
      return;
    }
    const Target& t = head.target->value();
    switch (t.kind) {
      case Target::Kind::kHttp:
      case Target::Kind::kHttps:
        http.send(t, *q.batch_d, std::move(done));
        break;
      case Target::Kind::kMqtt:
      case Target::Kind::kMqtts:
        mqtt.send(t, *q.batch_d, std::move(done));
        break;
    }
  }

  void on_attempt(const std::string& key, uint64_t id, uint64_t seq, std::string error) {
    if (!running) return;  // stopped: the row stays for the next start
    auto it = queues.find(key);
    if (it == queues.end() || it->second->id != id) return;  // forgotten meanwhile
    SubQueue& q = *it->second;
    q.in_flight = false;
    if (q.items.empty() || q.items.front().seq != seq) return;  // cannot happen: the head is never dropped
    if (error.empty()) {
      ++sent;
      q.failures = 0;
      for (size_t i = 0; i < q.batch && !q.items.empty(); ++i) {
        Item done = std::move(q.items.front());
        q.items.pop_front();
        --queued;
        settle(done);
      }
      dissolve_batch(q);
      report(q.tenant, q.subscription_id, true, {});
      if (q.items.empty()) {
        queues.erase(it);  // idle subscriptions cost nothing
        return;
      }
      pump(q);
      return;
    }
    ++failed;
    ++q.failures;
    report(q.tenant, q.subscription_id, false, error);
    ULOG_DEBUG("notifier: subscription {} of tenant '{}': {} (attempt {})", q.subscription_id, q.tenant, error,
               q.failures);
    q.waiting_retry = true;
    q.retry.expires_after(backoff(q.failures));
    q.retry.async_wait([self = shared_from_this(), key, id](const boost::system::error_code& ec) {
      if (ec || !self->running) return;
      auto it = self->queues.find(key);
      if (it == self->queues.end() || it->second->id != id) return;
      it->second->waiting_retry = false;
      self->pump(*it->second);
    });
  }

  // Exponential, capped, with jitter in [b/2, b] so that subscriptions failing
  // together do not retry in lockstep.
  std::chrono::milliseconds backoff(uint32_t failures) {
    int64_t b = std::max<int64_t>(1, options.retry_initial.count());
    const int64_t cap = std::max<int64_t>(b, options.retry_max.count());
    for (uint32_t i = 1; i < failures && b < cap; ++i) b *= 2;
    b = std::min(b, cap);
    std::uniform_int_distribution<int64_t> dist(b / 2, b);
    return std::chrono::milliseconds(dist(rng));
  }

  void forget(const std::string& tenant, const std::string& sub) {
    auto it = queues.find(queue_key(tenant, sub));
    if (it != queues.end()) {
      SubQueue& q = *it->second;
      q.retry.cancel();
      for (Item& item : q.items) {
        int expected = notify::kNew;
        item.persist->compare_exchange_strong(expected, notify::kSettled);
      }
      queued -= q.items.size();
      queues.erase(it);
    }
    // Also rows not in memory (written before a restart and already settled
    // in memory are gone too); submitted after every insert of this subscription.
    if (store && !store->erase_subscription(tenant, sub)) {
      ULOG_WARN("notifier: queue database busy; rows of deleted subscription {} will be dropped at next start", sub);
    }
  }
};

Notifier::Notifier(asio::io_context& io, NotifierOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Notifier::~Notifier() { stop(); }

void Notifier::on_report(std::function<void(const DeliveryReport&)> f) { impl_->report_fn = std::move(f); }

Status Notifier::start() {
  if (impl_->stopped) return Status(Code::kInternal, "notifier: start() after stop()");
  if (Status s = net::check_client_tls_options(impl_->tls.options()); !s.ok()) {
    return Status(s.code(), "notifier TLS: " + s.message());
  }
  std::vector<notify::StoredDelivery> pending;
  std::unique_ptr<notify::QueueStore> store;
  if (!impl_->options.db_path.empty()) {
    auto opened = notify::QueueStore::open(impl_->options.db_path, pending);
    if (!opened.ok()) {
      return Status(opened.status().code(),
                    "notifier queue '" + impl_->options.db_path + "': " + opened.status().message());
    }
    store = std::move(opened).value();
  }
  if (!pending.empty()) {
    ULOG_INFO("notifier: re-sending {} notification(s) left pending before the restart", pending.size());
  }
  asio::post(impl_->strand, [self = impl_, pending = std::move(pending), store = std::move(store)]() mutable {
    if (self->closed) return;  // stop() came first; the rows stay on disk
    self->store = std::move(store);
    // Rows from before the restart go first, in their old order; anything
    // enqueued before start() follows them.
    std::unordered_map<std::string, std::unique_ptr<Impl::SubQueue>> early = std::move(self->queues);
    self->queues.clear();
    uint64_t max_seq = 0;
    for (auto& sd : pending) max_seq = std::max(max_seq, sd.seq);
    for (auto& sd : pending) {
      Impl::Item item;
      item.seq = sd.seq;
      item.d = std::make_shared<const Delivery>(std::move(sd.d));
      item.persist = std::make_shared<std::atomic<int>>(notify::kPersisted);
      self->push(std::move(item), true);
    }
    self->next_seq = std::max(self->next_seq, max_seq + 1);
    for (auto& [key, q] : early) {
      self->queued -= q->items.size();
      for (auto& item : q->items) {
        item.seq = self->next_seq++;
        self->push(std::move(item), false);
      }
    }
    self->running = true;
    for (auto& [key, q] : self->queues) self->pump(*q);
  });
  return Status::Ok();
}

void Notifier::stop() {
  if (impl_->stopped.exchange(true)) return;
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  asio::post(impl_->strand, [self = impl_, done] {
    self->running = false;
    self->closed = true;
    self->persist_timer.cancel();
    self->flush_persist();  // what is still pending must be on disk for the next start
    for (auto& [key, q] : self->queues) q->retry.cancel();
    self->http.close();
    self->mqtt.close();
    if (!self->pending_erase.empty() && self->store) {
      (void)self->store->erase(std::move(self->pending_erase));
      self->pending_erase.clear();
    }
    done->set_value();
  });
  // Waits for the strand only while some thread runs the io_context; the
  // bound turns a caller bug (no thread runs it) into a log line, not a hang.
  if (!impl_->io.stopped() &&
      finished.wait_for(impl_->options.timeout + std::chrono::seconds(1)) != std::future_status::ready) {
    ULOG_WARN("notifier: stop() did not reach the io thread; closing without it");
  }
  // After the strand task ran (or could not), nothing else touches the store:
  // every strand handler checks `running` first.
  if (finished.wait_for(std::chrono::seconds(0)) == std::future_status::ready && impl_->store) {
    if (Status s = impl_->store->flush(); !s.ok()) ULOG_ERROR("notifier: queue database: {}", s.message());
    impl_->store.reset();
  }
}

void Notifier::enqueue(Delivery d) {
  if (impl_->stopped) return;
  asio::post(impl_->strand, [self = impl_, d = std::move(d)]() mutable {
    if (self->closed) return;
    Impl::Item item;
    item.seq = self->next_seq++;
    item.d = std::make_shared<const Delivery>(std::move(d));
    item.persist = std::make_shared<std::atomic<int>>(notify::kNew);
    const std::string tenant = item.d->tenant, sub = item.d->subscription_id;
    self->push(std::move(item), false);
    auto it = self->queues.find(queue_key(tenant, sub));
    if (it != self->queues.end()) self->pump(*it->second);
  });
}

void Notifier::forget(const std::string& tenant, const std::string& subscription_id) {
  asio::post(impl_->strand, [self = impl_, tenant, subscription_id] {
    if (!self->running) return;
    self->forget(tenant, subscription_id);
  });
}

Notifier::Stats Notifier::stats() const {
  return Stats{impl_->sent.load(), impl_->failed.load(), impl_->dropped.load(), impl_->queued.load()};
}

}  // namespace urbis::ngsild
