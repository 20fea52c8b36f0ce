// The MQTT broker: sessions, routing, retained messages, wills, $SYS.
//
// Threading: connections run on the I/O pool's threads (one io_context each);
// the broker's shared state is the session registry, the topic tree and the
// retained store, each behind its own lock, and sessions behind their own
// mutex (session.hpp). Routing a PUBLISH happens on the publisher's thread:
// match in the topic tree, append to each subscriber's session queue, and post
// one flush to each subscriber's thread (coalesced while one is pending).
//
// Memory is bounded: each session queue has a message and a byte limit. When a
// subscriber is full, QoS 0 is dropped (counted in $SYS) and every publisher of
// QoS 1/2 to it stops reading (back-pressure) until the queue is below the
// limit again, so the queue overshoots by at most one read batch per
// publisher. Only an offline session that is full drops QoS 1/2 (counted):
// nobody is there to drain it, and publishers must not stall on it.
//
// Lifetime: construct, load(), start listeners (outside), then shutdown()
// before destroying. All public methods are thread-safe unless noted.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "config/options.hpp"
#include "mqtt/broker/auth.hpp"
#include "mqtt/broker/broker_store.hpp"
#include "mqtt/broker/ingest.hpp"
#include "mqtt/broker/message.hpp"
#include "mqtt/broker/session.hpp"
#include "mqtt/broker/stats.hpp"
#include "mqtt/broker/topic_tree.hpp"
#include "net/io_pool.hpp"
#include "net/transport.hpp"

namespace urbis::mqtt {

class Connection;

class Broker {
 public:
  // `auth`, `store` (may be null: nothing persists), `pool` and `clock` must
  // outlive the broker.
  Broker(const MqttOptions& opts, Authorizer& auth, BrokerStore* store, net::IoPool& pool, const Clock& clock);
  ~Broker();

  // Restores retained messages and persistent sessions. Call once before start().
  [[nodiscard]] Status load();
  // Starts the per-thread timers (keep-alive sweep, $SYS). REQUIRES: pool running.
  void start();
  // Graceful stop: every connection gets DISCONNECT 0x8B (MQTT 5) and is closed,
  // session state is written, the store flushed. Blocks until done (bounded).
  void shutdown();

  // Takes a new client connection (from any listener). Runs on the transport's thread.
  void accept(std::unique_ptr<net::Transport> transport);

  // Sets the sink for measurement topics (see ingest.hpp). Call before start();
  // `sink` must outlive the broker. Null: no topic is ingested.
  void set_ingest(IngestSink* sink) { ingest_ = sink; }

  // Applies the options that can change at run time (SIGHUP): limits, users, ACL;
  // connected clients lose subscriptions the authorizer no longer allows.
  // REQUIRES: the authorizer was updated first.
  void update_options(const MqttOptions& opts);

  const Stats& stats() const { return stats_; }

  // Changes submitted to the store by the calling thread so far; routing code
  // compares it before and after to know whether an ack must wait for a commit.
  static uint64_t store_writes() { return tls_store_writes_; }
  size_t clients_connected() const { return connected_.load(std::memory_order_relaxed); }
  size_t sessions() const;
  size_t retained_count() const;
  size_t subscription_count() const { return tree_.subscription_count(); }
  int64_t uptime_s() const;

  // Publishes a message originating inside the server ($SYS, later rules and
  // the NGSI-LD MQTT notifier). Thread-safe.
  void publish_internal(std::string topic, std::string payload, bool retain);

  // Publishes a downlink command (devices/commands) from inside the server:
  // QoS `qos`, not retained, expiring at `expiry_unix_ms` (0 = never). Returns
  // the number of sessions that took it: every matching session, or with
  // `exact_only` only those subscribed to `topic` itself (not through a
  // wildcard or a shared subscription), which under the device ACL means the
  // device that owns the topic. A session counts when it is online, or offline
  // but persistent and subscribed with QoS > 0 (it gets the message when it
  // reconnects). Thread-safe; never blocks on a congested subscriber.
  size_t publish_downlink(std::string topic, std::string payload, uint8_t qos, int64_t expiry_unix_ms,
                          bool exact_only);

  // Called after a SUBSCRIBE granted `filter` (as given, a shared one with its
  // $share/<group>/ prefix), on the subscriber's I/O
  // thread, once the SUBACK is queued. Lets the command service offer waiting
  // downlinks at once. Set before start(); it must be quick and must not block.
  using SubscribeObserver = std::function<void(std::string_view filter)>;
  void set_subscribe_observer(SubscribeObserver observer) { subscribe_observer_ = std::move(observer); }

 private:
  friend class Connection;

  struct Attach {
    SessionPtr session;
    bool present = false;
  };
  // Binds `conn` to the session of client_id, taking it over from another
  // connection if needed. Called on conn's thread.
  Attach attach_session(const std::shared_ptr<Connection>& conn, const std::string& client_id,
                        bool clean_start, uint32_t expiry, Version version);
  // The connection that owned `session` went away. Called on its thread.
  void detach_session(const SessionPtr& session, const Connection* conn, std::unique_ptr<Will> will,
                      bool send_will, uint32_t expiry);
  void discard_session(const SessionPtr& session);
  void expire_session(const SessionPtr& session);

  // Routes a message to every matching subscriber; handles the retained store.
  // Returns the number of subscribers it was queued for; sets `congested` if a
  // QoS 1/2 subscriber is over its queue limit (the caller pauses reading until
  // that session drained, see Connection::wait_for_drain). `congested` may be null.
  // `exact`, if not null, is increased by the sessions that took the message
  // through a subscription to its topic itself (see publish_downlink()).
  size_t route(const MessagePtr& msg, SessionPtr* congested, size_t* exact = nullptr);
  // Appends to one session's queue. Returns false if the subscriber is congested.
  bool deliver(const SessionPtr& s, const MessagePtr& msg, const SubOptions& opts,
               std::vector<uint32_t> sub_ids, bool retained_delivery);
  void schedule_flush(Session& s);  // REQUIRES: s.mu held

  // Subscribing: returns reason code per filter; delivers retained messages.
  void subscribe(const SessionPtr& s, const std::string& filter, const SubOptions& opts, bool existed);
  void send_retained(const SessionPtr& s, std::string_view filter, const SubOptions& opts);
  void set_retained(const MessagePtr& msg);

  void publish_will(const Will& w, const std::string& client_id, Version v);

  // Per-thread connection lists (touched only on their thread).
  void link(Connection* c);
  void unlink(Connection* c);
  void sweep(size_t thread);
  void publish_sys();

  // Connection admission (total and per IP).
  bool admit(const std::string& ip);
  void release(const std::string& ip, bool refused);

  // Persistence helpers (no-ops without a store).
  void persist_session(Session& s);  // REQUIRES: s.mu held
  void persist_queued(const Session& s, const Pending& p, uint16_t packet_id, bool pubrel_sent);
  void store_erase_queued(const Session& s, uint64_t seq);
  void persist_subscription(Session& s, const std::string& filter, const SubOptions& o);
  void unpersist_subscription(const Session& s, const std::string& filter);
  static StoredMessage to_stored(const Message& m);
  static MessagePtr from_stored(const StoredMessage& m);

  const MqttOptions* options() const { return opts_.load(std::memory_order_acquire); }

  // The options in force, read on every packet without a lock. A reload
  // publishes a new version; old versions stay alive (reloads are rare and
  // small) so a pointer read by a handler never dangles.
  std::atomic<const MqttOptions*> opts_;
  std::mutex opts_mu_;
  std::vector<std::unique_ptr<const MqttOptions>> opts_versions_;  // guarded by opts_mu_
  Authorizer& auth_;
  BrokerStore* store_;
  IngestSink* ingest_ = nullptr;
  SubscribeObserver subscribe_observer_;
  net::IoPool& pool_;
  const Clock& clock_;
  Stats stats_;
  TopicTree tree_;
  std::chrono::steady_clock::time_point started_;

  mutable std::mutex sessions_mu_;
  // Keyed by a view of the session's own client id (the session outlives its
  // entry): one copy of each id. Insert with emplace(s->client_id(), s) only.
  // The hasher is declared noexcept so the map does not cache each hash in its node.
  struct IdHash {
    size_t operator()(std::string_view id) const noexcept { return std::hash<std::string_view>()(id); }
  };
  std::unordered_map<std::string_view, SessionPtr, IdHash> sessions_;  // guarded by sessions_mu_

  mutable std::mutex retained_mu_;
  std::map<std::string, MessagePtr, std::less<>> retained_;  // guarded by retained_mu_

  std::mutex admit_mu_;
  std::unordered_map<std::string, uint32_t> per_ip_;  // guarded by admit_mu_
  size_t admitted_ = 0;                                // guarded by admit_mu_
  std::atomic<size_t> connections_{0};  // admitted transports
  std::atomic<size_t> connected_{0};    // completed CONNECT

  struct ThreadState {
    Connection* head = nullptr;  // intrusive list of live connections
    std::unique_ptr<boost::asio::steady_timer> sweep_timer;
  };
  std::vector<ThreadState> threads_;
  std::unique_ptr<boost::asio::steady_timer> sys_timer_;
  std::atomic<bool> stopping_{false};
  static thread_local uint64_t tls_store_writes_;
};

}  // namespace urbis::mqtt
