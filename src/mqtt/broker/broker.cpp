#include "mqtt/broker/broker.hpp"

#include <boost/asio/post.hpp>

#include <future>

#include "common/log.hpp"
#include "mqtt/broker/connection.hpp"
#include "mqtt/codec/topic_match.hpp"

namespace urbis::mqtt {

namespace asio = boost::asio;

namespace {
constexpr uint32_t kNeverExpires = 0xFFFFFFFFu;

bool is_sys(std::string_view topic) { return topic.substr(0, 5) == "$SYS/"; }

bool has_wildcard(std::string_view f) { return f.find_first_of("+#") != std::string_view::npos; }

}  // namespace

thread_local uint64_t Broker::tls_store_writes_ = 0;

Broker::Broker(const MqttOptions& opts, Authorizer& auth, BrokerStore* store, net::IoPool& pool, const Clock& clock)
    : opts_(nullptr),
      auth_(auth),
      store_(store),
      pool_(pool),
      clock_(clock),
      stats_(pool.size()),
      started_(std::chrono::steady_clock::now()),
      threads_(pool.size()) {
  opts_versions_.push_back(std::make_unique<const MqttOptions>(opts));
  opts_.store(opts_versions_.back().get(), std::memory_order_release);
}

Broker::~Broker() = default;

void Broker::update_options(const MqttOptions& opts) {
  {
    std::lock_guard lock(opts_mu_);
    opts_versions_.push_back(std::make_unique<const MqttOptions>(opts));
    opts_.store(opts_versions_.back().get(), std::memory_order_release);
  }
  // Existing subscriptions are held to the (possibly tightened) ACL too.
  // REQUIRES: the authorizer was updated before this call.
  for (size_t i = 0; i < threads_.size(); ++i) {
    asio::post(pool_.context(i), [this, i] {
      std::vector<std::shared_ptr<Connection>> conns;
      for (Connection* c = threads_[i].head; c; c = c->next) conns.push_back(c->shared_from_this());
      for (auto& c : conns) c->recheck_subscriptions();
    });
  }
}

int64_t Broker::uptime_s() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
}

size_t Broker::sessions() const {
  std::lock_guard lock(sessions_mu_);
  return sessions_.size();
}

size_t Broker::retained_count() const {
  std::lock_guard lock(retained_mu_);
  return retained_.size();
}

// ---------------------------------------------------------------- persistence

StoredMessage Broker::to_stored(const Message& m) {
  StoredMessage s;
  s.topic = m.topic;
  s.payload = m.payload;
  s.qos = m.qos;
  s.retain = m.retain;
  s.props = m.props;
  s.expiry_unix_ms = m.expiry_unix_ms;
  return s;
}

MessagePtr Broker::from_stored(const StoredMessage& s) {
  auto m = std::make_shared<Message>();
  m->topic = s.topic;
  m->payload = s.payload;
  m->qos = s.qos;
  m->retain = s.retain;
  m->props = s.props;
  m->expiry_unix_ms = s.expiry_unix_ms;
  return m;
}

void Broker::persist_session(Session& s) {
  if (!store_ || !s.persistent) return;
  s.stored = true;
  StoredSession ss;
  ss.client_id = s.client_id();
  ss.protocol_version = static_cast<uint8_t>(s.version);
  ss.expiry_interval = s.expiry_interval;
  ss.disconnected_unix_ms = s.disconnected_unix_ms;
  store_->put_session(ss);
}

void Broker::persist_queued(const Session& s, const Pending& p, uint16_t packet_id, bool pubrel_sent) {
  if (!store_ || !p.seq) return;
  StoredQueuedMessage q;
  q.seq = p.seq;
  q.packet_id = packet_id;
  q.pubrel_sent = pubrel_sent;
  q.msg = to_stored(*p.msg);
  q.msg.qos = p.qos;
  q.msg.retain = p.retain;
  q.subscription_ids = p.sub_ids;
  store_->put_queued(s.client_id(), q);
  ++tls_store_writes_;
}

void Broker::store_erase_queued(const Session& s, uint64_t seq) {
  if (store_ && seq) store_->erase_queued(s.client_id(), seq);
}

void Broker::persist_subscription(Session& s, const std::string& filter, const SubOptions& o) {
  if (!store_) return;
  {
    // Only persistent sessions are stored.
    std::lock_guard lock(s.mu);
    if (!s.persistent) return;
  }
  StoredSubscription sub{filter, o.qos, o.no_local, o.retain_as_published, o.retain_handling, o.subscription_id};
  store_->put_subscription(s.client_id(), sub);
}

void Broker::unpersist_subscription(const Session& s, const std::string& filter) {
  if (store_) store_->erase_subscription(s.client_id(), filter);
}

Status Broker::load() {
  if (!store_) return Status::Ok();
  auto snap = store_->load();
  if (!snap.ok()) return snap.status();
  int64_t now = clock_.unix_ms();
  {
    std::lock_guard lock(retained_mu_);
    for (auto& r : snap->retained) {
      if (r.expiry_unix_ms && r.expiry_unix_ms <= now) {
        store_->erase_retained(r.topic);
        continue;
      }
      retained_[r.topic] = from_stored(r);
    }
  }
  size_t queued = 0;
  for (auto& ss : snap->sessions) {
    auto s = std::make_shared<Session>(ss.client_id);
    s->version = ss.protocol_version == 4 ? Version::v311 : Version::v5;
    s->persistent = true;
    s->stored = true;
    s->expiry_interval = ss.expiry_interval;
    // A session that was connected when the process died counts as
    // disconnected since now: its clients get the full expiry to come back.
    s->disconnected_unix_ms = ss.disconnected_unix_ms ? ss.disconnected_unix_ms : now;
    for (auto& sub : ss.subscriptions) {
      SubOptions o{sub.qos, sub.no_local, sub.retain_as_published, sub.retain_handling, sub.subscription_id};
      s->subscriptions[sub.filter] = o;
      tree_.subscribe(s, sub.filter, o);
    }
    for (auto& q : ss.queue) {
      Pending p;
      p.msg = from_stored(q.msg);
      p.qos = q.msg.qos;
      p.retain = q.msg.retain;
      p.sub_ids = q.subscription_ids;
      p.seq = q.seq;
      s->next_seq = std::max(s->next_seq, q.seq + 1);
      if (q.packet_id) {
        auto& inf = s->inflight[q.packet_id];
        inf.p = std::move(p);
        inf.pubrel_sent = q.pubrel_sent;
      } else {
        s->queued_bytes += p.msg->payload.size() + p.msg->topic.size();
        s->queue.push_back(std::move(p));
      }
      ++queued;
    }
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(s->client_id());
    sessions_.emplace(s->client_id(), s);
  }
  ULOG_INFO("mqtt: restored {} retained messages, {} sessions, {} queued messages", retained_.size(),
            snap->sessions.size(), queued);
  return Status::Ok();
}

// ---------------------------------------------------------------- lifecycle

void Broker::start() {
  for (size_t i = 0; i < threads_.size(); ++i) {
    threads_[i].sweep_timer = std::make_unique<asio::steady_timer>(pool_.context(i));
    asio::post(pool_.context(i), [this, i] { sweep(i); });
  }
  // Sessions restored from disk expire on schedule even if nobody reconnects.
  std::vector<SessionPtr> restored;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, s] : sessions_) restored.push_back(s);
  }
  for (auto& s : restored) {
    asio::post(pool_.next(), [this, s] {
      std::lock_guard lock(s->mu);
      if (!s->conn && s->expiry_interval != kNeverExpires) {
        int64_t due = s->disconnected_unix_ms + int64_t(s->expiry_interval) * 1000 - clock_.unix_ms();
        s->expiry_timer = std::make_unique<asio::steady_timer>(pool_.context(std::max(0, net::IoPool::thread_index())));
        s->expiry_timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(due, 0)));
        s->expiry_timer->async_wait([this, s](const boost::system::error_code& ec) {
          if (!ec) expire_session(s);
        });
      }
    });
  }
  auto interval = options()->sys_interval;
  if (interval) {
    sys_timer_ = std::make_unique<asio::steady_timer>(pool_.context(0));
    asio::post(pool_.context(0), [this] { publish_sys(); });
  }
}

void Broker::shutdown() {
  if (stopping_.exchange(true)) return;
  ULOG_INFO("mqtt: shutting down, disconnecting {} clients", connected_.load());
  std::vector<std::future<void>> done;
  for (size_t i = 0; i < threads_.size(); ++i) {
    auto pr = std::make_shared<std::promise<void>>();
    done.push_back(pr->get_future());
    asio::post(pool_.context(i), [this, i, pr] {
      std::vector<std::shared_ptr<Connection>> conns;
      for (Connection* c = threads_[i].head; c; c = c->next) conns.push_back(c->shared_from_this());
      for (auto& c : conns) c->shutdown();
      if (threads_[i].sweep_timer) threads_[i].sweep_timer->cancel();
      if (i == 0 && sys_timer_) sys_timer_->cancel();
      pr->set_value();
    });
  }
  for (auto& f : done) f.wait_for(std::chrono::seconds(5));
  // Give DISCONNECT packets a moment to reach the clients.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Cancel session timers and write the final state of persistent sessions.
  std::vector<SessionPtr> all;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) {
    std::lock_guard lock(s->mu);
    if (s->expiry_timer) s->expiry_timer->cancel();
    if (s->will_timer) s->will_timer->cancel();
  }
  if (store_) {
    auto st = store_->flush();
    if (!st.ok()) ULOG_ERROR("mqtt: final flush of broker state failed: {}", st.message());
  }
}

void Broker::accept(std::unique_ptr<net::Transport> transport) {
  int thread = net::IoPool::thread_index();
  bool admitted = !stopping_.load() && admit(transport->remote_ip());
  auto conn = std::make_shared<Connection>(*this, std::move(transport), std::max(thread, 0));
  conn->refused_ = !admitted;
  connections_.fetch_add(1, std::memory_order_relaxed);
  conn->start();
}

bool Broker::admit(const std::string& ip) {
  auto opts = options();
  std::lock_guard lock(admit_mu_);
  if (opts->max_connections && admitted_ >= opts->max_connections) return false;
  auto& n = per_ip_[ip];
  if (opts->max_connections_per_ip && n >= opts->max_connections_per_ip) {
    if (n == 0) per_ip_.erase(ip);
    return false;
  }
  ++n;
  ++admitted_;
  return true;
}

void Broker::release(const std::string& ip, bool refused) {
  connections_.fetch_sub(1, std::memory_order_relaxed);
  if (refused) return;
  std::lock_guard lock(admit_mu_);
  --admitted_;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

void Broker::link(Connection* c) {
  auto& ts = threads_[c->thread()];
  c->next = ts.head;
  c->prev = nullptr;
  if (ts.head) ts.head->prev = c;
  ts.head = c;
}

void Broker::unlink(Connection* c) {
  auto& ts = threads_[c->thread()];
  if (c->prev) c->prev->next = c->next;
  if (c->next) c->next->prev = c->prev;
  if (ts.head == c) ts.head = c->next;
  c->prev = c->next = nullptr;
}

void Broker::sweep(size_t i) {
  auto now = std::chrono::steady_clock::now();
  // Walks the list holding the current and the next connection (a check may
  // close, unlink and free the current one), not a copy of the list: that
  // would be 16 bytes per client every second.
  Connection* head = threads_[i].head;
  std::shared_ptr<Connection> c = head ? head->shared_from_this() : nullptr;
  while (c) {
    std::shared_ptr<Connection> next = c->next ? c->next->shared_from_this() : nullptr;
    c->check_timeouts(now);
    c = std::move(next);
  }
  if (stopping_.load()) return;
  threads_[i].sweep_timer->expires_after(std::chrono::seconds(1));
  threads_[i].sweep_timer->async_wait([this, i](const boost::system::error_code& ec) {
    if (!ec) sweep(i);
  });
}

// ---------------------------------------------------------------- sessions

Broker::Attach Broker::attach_session(const std::shared_ptr<Connection>& conn, const std::string& client_id,
                                      bool clean_start, uint32_t expiry, Version version) {
  Attach a;
  SessionPtr old_session;
  {
    std::unique_lock reg(sessions_mu_);
    auto it = sessions_.find(client_id);
    if (it != sessions_.end()) {
      SessionPtr s = it->second;
      std::shared_ptr<Connection> old;
      bool old_persistent;
      {
        std::lock_guard lock(s->mu);
        old_persistent = s->persistent;
        old = std::move(s->conn);
        s->conn.reset();
        s->set_online(false);
        s->flush_scheduled = false;
        if (s->expiry_timer) s->expiry_timer->cancel();
        // Reconnecting within the will delay cancels the will (MQTT-3.1.3-9).
        if (s->will_timer) s->will_timer->cancel();
        s->will_timer.reset();
        s->expiry_timer.reset();
      }
      if (old) {
        ULOG_INFO("mqtt: client '{}' taken over by a new connection", client_id);
        asio::post(old->transport().executor(), [old] { old->taken_over(); });
      }
      // A session with expiry 0 ends with its network connection, which we are
      // closing; resuming it would also race with a DISCONNECT the old
      // connection may not have processed yet on its own thread.
      if (clean_start || !old_persistent) {
        sessions_.erase(it);
        old_session = s;
      } else {
        a.session = s;
        a.present = true;
      }
    }
    if (!a.session) {
      a.session = std::make_shared<Session>(client_id);
      sessions_.emplace(a.session->client_id(), a.session);
    }
  }
  if (old_session) discard_session(old_session);

  auto& s = *a.session;
  std::lock_guard lock(s.mu);
  bool was_persistent = s.persistent;
  s.conn = conn;
  s.set_online(true);
  s.version = version;
  s.expiry_interval = expiry;
  s.persistent = expiry > 0;
  s.disconnected_unix_ms = 0;
  if (s.persistent) {
    persist_session(s);
    if (!was_persistent && store_) {
      // A session that becomes persistent: store what it already has.
      for (auto& [f, o] : s.subscriptions) {
        store_->put_subscription(s.client_id(), {f, o.qos, o.no_local, o.retain_as_published, o.retain_handling,
                                                 o.subscription_id});
      }
    }
  } else if (s.stored) {
    store_->erase_session(s.client_id());
    s.stored = false;
  }
  return a;
}

void Broker::discard_session(const SessionPtr& s) {
  std::map<std::string, SubOptions> subs;
  bool stored;
  {
    std::lock_guard lock(s->mu);
    s->discarded = true;
    subs = s->subscriptions.take();
    s->queue.clear();
    s->queued_bytes = 0;
    s->inflight.clear();
    s->qos2_incoming.clear();
    if (s->expiry_timer) s->expiry_timer->cancel();
    stored = std::exchange(s->stored, false);
  }
  for (auto& [f, o] : subs) tree_.unsubscribe(s.get(), f);
  // Clean sessions were never written: no store work on their disconnect.
  if (store_ && stored) store_->erase_session(s->client_id());
}

void Broker::detach_session(const SessionPtr& s, const Connection* conn, std::unique_ptr<Will> will, bool send_will,
                            uint32_t expiry) {
  bool owner = false;
  bool persistent = false;
  bool continued = false;  // another connection holds this session now
  Version version = Version::v5;
  {
    std::lock_guard lock(s->mu);
    continued = s->conn && s->conn.get() != conn;
    if (s->conn.get() == conn) {
      owner = true;
      s->conn.reset();
      s->set_online(false);
      s->flush_scheduled = false;
      persistent = s->persistent;
      version = s->version;
    }
  }
  if (!owner) {
    // Taken over: the old connection's will is published now, unless it has
    // a will delay and the new connection continues the session (MQTT 5
    // 3.1.3.2.2: a new connection to the session within the delay means no
    // will).
    const bool delayed = will && will->props.will_delay_interval.value_or(0) > 0;
    if (will && send_will && !(delayed && continued)) publish_will(*will, s->client_id(), version);
    return;
  }
  if (!persistent) {
    {
      std::lock_guard reg(sessions_mu_);
      auto it = sessions_.find(s->client_id());
      if (it != sessions_.end() && it->second == s) sessions_.erase(it);
    }
    discard_session(s);
    if (will && send_will) publish_will(*will, s->client_id(), version);
    return;
  }

  if (stopping_.load()) {
    {
      std::lock_guard lock(s->mu);
      s->disconnected_unix_ms = clock_.unix_ms();
      persist_session(*s);
    }
    // Shutting down: timers will not run, so a will is published now (and,
    // routed to persistent sessions, stored before the final flush).
    if (will && send_will) publish_will(*will, s->client_id(), version);
    return;
  }
  std::lock_guard lock(s->mu);
  s->disconnected_unix_ms = clock_.unix_ms();
  persist_session(*s);
  auto& ctx = pool_.context(std::max(0, net::IoPool::thread_index()));
  if (will && send_will) {
    // MQTT 5 will delay: publish after min(delay, session expiry) unless the
    // client comes back first.
    uint32_t delay = std::min(will->props.will_delay_interval.value_or(0), expiry);
    if (delay == 0) {
      auto w = std::move(*will);
      asio::post(ctx, [this, w = std::move(w), id = s->client_id(), version] { publish_will(w, id, version); });
    } else {
      s->will_timer = std::make_unique<asio::steady_timer>(ctx, std::chrono::seconds(delay));
      s->will_timer->async_wait([this, w = std::move(*will), weak = std::weak_ptr<Session>(s), version](
                                    const boost::system::error_code& ec) {
        if (ec) return;
        auto sp = weak.lock();
        if (!sp) return;
        {
          std::lock_guard l(sp->mu);
          if (sp->conn) return;
          sp->will_timer.reset();
        }
        publish_will(w, sp->client_id(), version);
      });
    }
  }
  if (expiry != kNeverExpires) {
    s->expiry_timer = std::make_unique<asio::steady_timer>(ctx, std::chrono::seconds(expiry));
    s->expiry_timer->async_wait([this, weak = std::weak_ptr<Session>(s)](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto sp = weak.lock()) expire_session(sp);
    });
  }
}

void Broker::expire_session(const SessionPtr& s) {
  {
    std::lock_guard lock(s->mu);
    if (s->conn || s->discarded) return;
  }
  {
    std::lock_guard reg(sessions_mu_);
    auto it = sessions_.find(s->client_id());
    if (it == sessions_.end() || it->second != s) return;
    sessions_.erase(it);
  }
  ULOG_DEBUG("mqtt: session '{}' expired", s->client_id());
  // A delayed will never outlives its session: its delay was capped at the
  // session expiry when it was scheduled (MQTT-3.1.3-9).
  discard_session(s);
}

// ---------------------------------------------------------------- routing

void Broker::schedule_flush(Session& s) {
  if (s.flush_scheduled || !s.conn) return;
  s.flush_scheduled = true;
  asio::post(s.conn->transport().executor(), [c = s.conn] { c->flush_session(); });
}

bool Broker::deliver(const SessionPtr& sp, const MessagePtr& msg, const SubOptions& opts,
                     std::vector<uint32_t> sub_ids, bool retained_delivery) {
  auto& s = *sp;
  uint8_t qos = std::min(msg->qos, opts.qos);
  bool retain = retained_delivery ? true : (opts.retain_as_published && msg->retain);
  size_t bytes = msg->payload.size() + msg->topic.size();
  auto o = options();
  std::lock_guard lock(s.mu);
  if (s.discarded) return true;
  if (!s.conn && (!s.persistent || qos == 0)) {
    // Offline: QoS 0 is not queued; for a persistent session that is a drop.
    if (s.persistent) stats_.add(Stat::kDroppedQos0);
    return true;
  }
  bool over = s.queue.size() >= o->max_queued_messages || s.queued_bytes + bytes > o->max_queued_bytes;
  if (over) {
    if (qos == 0) {
      stats_.add(Stat::kDroppedQos0);
      return true;
    }
    if (!s.conn) {
      stats_.add(Stat::kDroppedQueueFull);
      return true;
    }
  }
  Pending p{msg, qos, retain, std::move(sub_ids), 0};
  if (s.persistent && qos > 0 && store_) {
    p.seq = s.next_seq++;
    persist_queued(s, p, 0, false);
  }
  s.queue.push_back(std::move(p));
  s.queued_bytes += bytes;
  schedule_flush(s);
  return !over;
}

size_t Broker::route(const MessagePtr& msg, SessionPtr* congested, size_t* exact) {
  if (msg->retain) set_retained(msg);
  thread_local std::vector<SubscriberMatch> matches;
  matches.clear();
  tree_.match(msg->topic, matches);
  if (matches.empty()) return 0;
  if (matches.size() > 1) {
    std::sort(matches.begin(), matches.end(),
              [](const SubscriberMatch& a, const SubscriberMatch& b) { return a.session.get() < b.session.get(); });
  }
  size_t delivered = 0;
  // Overlapping subscriptions of one session give one copy with the highest
  // QoS and every subscription identifier (MQTT-3.3.4-2, -3.3.4-5).
  for (size_t i = 0; i < matches.size();) {
    size_t j = i;
    SubOptions merged;
    bool any = false;
    std::vector<uint32_t> ids;
    for (; j < matches.size() && matches[j].session == matches[i].session; ++j) {
      const auto& o = matches[j].options;
      if (o.no_local && matches[j].session->client_id() == msg->origin_client) continue;
      merged.qos = std::max(merged.qos, o.qos);
      merged.retain_as_published = merged.retain_as_published || o.retain_as_published;
      if (o.subscription_id) ids.push_back(o.subscription_id);
      any = true;
    }
    if (any) {
      if (!deliver(matches[i].session, msg, merged, std::move(ids), false) && congested && !*congested)
        *congested = matches[i].session;
      ++delivered;
      if (exact) {
        Session& s = *matches[i].session;
        std::lock_guard lock(s.mu);
        const bool takes = !s.discarded && (s.conn || (s.persistent && std::min(msg->qos, merged.qos) > 0));
        if (takes && s.subscriptions.count(msg->topic)) ++*exact;
      }
    }
    i = j;
  }
  matches.clear();
  return delivered;
}

void Broker::set_retained(const MessagePtr& msg) {
  auto o = options();
  std::lock_guard lock(retained_mu_);
  if (msg->payload.empty()) {
    // MQTT-3.3.1-6: an empty retained message clears the topic.
    if (retained_.erase(msg->topic) && store_ && !is_sys(msg->topic)) {
      store_->erase_retained(msg->topic);
      ++tls_store_writes_;
    }
    return;
  }
  auto it = retained_.find(msg->topic);
  if (it == retained_.end() && retained_.size() >= o->max_retained_messages) {
    ULOG_WARN("mqtt: retained store full ({} topics); not retaining '{}'", retained_.size(), msg->topic);
    return;
  }
  retained_[msg->topic] = msg;
  // $SYS values describe this process; a restart starts them afresh.
  if (store_ && !is_sys(msg->topic)) {
    store_->put_retained(to_stored(*msg));
    ++tls_store_writes_;
  }
}

void Broker::send_retained(const SessionPtr& s, std::string_view filter, const SubOptions& opts) {
  std::vector<MessagePtr> found;
  int64_t now = clock_.unix_ms();
  {
    std::lock_guard lock(retained_mu_);
    if (!has_wildcard(filter)) {
      auto it = retained_.find(filter);
      if (it != retained_.end()) found.push_back(it->second);
    } else {
      for (auto& [topic, m] : retained_) {
        if (topic_matches(filter, topic)) found.push_back(m);
      }
    }
  }
  std::vector<uint32_t> ids;
  if (opts.subscription_id) ids.push_back(opts.subscription_id);
  for (auto& m : found) {
    if (m->expiry_unix_ms && m->expiry_unix_ms <= now) continue;
    deliver(s, m, opts, ids, true);
  }
}

void Broker::publish_will(const Will& w, const std::string& client_id, Version v) {
  auto msg = std::make_shared<Message>();
  msg->topic = w.topic;
  msg->payload = w.payload;
  msg->qos = w.qos;
  msg->retain = w.retain;
  msg->origin_client = client_id;
  if (v == Version::v5) {
    msg->props = w.props;
    msg->props.will_delay_interval.reset();
    if (msg->props.message_expiry_interval) {
      msg->expiry_unix_ms = clock_.unix_ms() + int64_t(*msg->props.message_expiry_interval) * 1000;
      msg->props.message_expiry_interval.reset();
    }
  }
  ULOG_DEBUG("mqtt: publishing will of '{}' to '{}'", client_id, w.topic);
  route(msg, nullptr);
}

void Broker::publish_internal(std::string topic, std::string payload, bool retain) {
  auto msg = std::make_shared<Message>();
  msg->topic = std::move(topic);
  msg->payload = std::move(payload);
  msg->retain = retain;
  route(msg, nullptr);
}

size_t Broker::publish_downlink(std::string topic, std::string payload, uint8_t qos, int64_t expiry_unix_ms,
                                bool exact_only) {
  auto msg = std::make_shared<Message>();
  msg->topic = std::move(topic);
  msg->payload = std::move(payload);
  msg->qos = std::min<uint8_t>(qos, 2);
  msg->expiry_unix_ms = expiry_unix_ms;
  size_t exact = 0;
  size_t all = route(msg, nullptr, exact_only ? &exact : nullptr);
  return exact_only ? exact : all;
}

void Broker::publish_sys() {
  if (stopping_.load()) return;
  auto pub = [this](const char* t, uint64_t v) {
    publish_internal(std::string("$SYS/broker/") + t, std::to_string(v), true);
  };
  publish_internal("$SYS/broker/version", "urbis " URBIS_VERSION, true);
  publish_internal("$SYS/broker/uptime", std::to_string(uptime_s()) + " seconds", true);
  pub("clients/connected", connected_.load());
  pub("clients/total", sessions());
  pub("messages/received", stats_.get(Stat::kMessagesReceived));
  pub("messages/sent", stats_.get(Stat::kMessagesSent));
  pub("bytes/received", stats_.get(Stat::kBytesReceived));
  pub("bytes/sent", stats_.get(Stat::kBytesSent));
  pub("messages/dropped", stats_.get(Stat::kDroppedQos0) + stats_.get(Stat::kDroppedQueueFull) +
                              stats_.get(Stat::kDroppedTooLarge) + stats_.get(Stat::kDroppedExpired));
  pub("messages/dropped/qos0", stats_.get(Stat::kDroppedQos0));
  pub("messages/dropped/queue_full", stats_.get(Stat::kDroppedQueueFull));
  pub("messages/dropped/too_large", stats_.get(Stat::kDroppedTooLarge));
  pub("messages/dropped/expired", stats_.get(Stat::kDroppedExpired));
  pub("messages/throttled", stats_.get(Stat::kPublishThrottled));
  pub("clients/refused", stats_.get(Stat::kConnectionsRefused));
  pub("retained messages/count", retained_count());
  pub("subscriptions/count", subscription_count());
  if (store_) {
    auto h = store_->health();
    publish_internal("$SYS/broker/store/status", h.ok() ? "ok" : h.message(), true);
  }
  sys_timer_->expires_after(std::chrono::seconds(options()->sys_interval));
  sys_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) publish_sys();
  });
}

}  // namespace urbis::mqtt
