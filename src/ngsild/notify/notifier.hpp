// Notifier: delivers NGSI-LD notifications to their endpoints (HTTP(S) POST,
// MQTT publish) without losing any silently.
//
// The subscription manager matches change events and hands each notification,
// ready to send, to enqueue(). The notifier owns everything after that: the
// network, the order, the retries and the persisted queue. After every attempt
// it calls the report callback, from which the manager keeps the subscription's
// status, timesSent, lastNotification, lastSuccess and lastFailure.
//
// Design note
// -----------
// Order. Each (tenant, subscription) has its own FIFO. Only its head is in
// flight, so a receiver sees one subscription's notifications in enqueue order,
// one at a time; different subscriptions proceed independently and in parallel
// (on separate pooled connections).
//
// Coalescing. One attempt in flight per subscription caps it at one
// notification per round trip, so when deliveries wait behind the one in
// flight, the next attempt sends the waiting ones as ONE notification whose
// "data" array holds all their entities in enqueue order (NGSI-LD lets a
// Notification carry several entities; see coalesce.hpp for which bodies can
// be merged). The batch takes the queue's head and the compatible deliveries
// right behind it, up to max_entities_per_notification entities and
// max_notification_bytes (a single delivery larger than that is still sent).
// A batch is formed once: a failed batch is retried as the same text (same
// notification id, so a receiver can recognise a duplicate). Each delivery
// keeps its own queue row and is settled when its batch succeeds. Bound drops
// never touch a batch in flight; a drop inside a batch waiting for its retry
// dissolves it and the retry forms a new one. Reports and Stats::sent count
// notifications (attempts), not entities: one report per attempt, as the
// NGSI-LD timesSent counts notifications sent.
//
// Durability without slowing the happy path. A delivery is sent at once; the
// deliveries not settled persist_delay later are written to the SQLite queue
// in one work item of the group-committing SqliteWriter. A delivery that
// succeeds before its row is written is never written; one whose row was
// written is deleted after success (deletes are batched too). A crash within
// persist_delay (plus one commit) of an enqueue can lose that notification;
// after that, nothing is lost.
// A failed head stays queued (in memory and on disk) and is retried with
// exponential backoff plus jitter (retry_initial doubling up to retry_max); the
// deliveries behind it wait. After a crash, start() re-sends the rows left on
// disk, in order: delivery is at-least-once.
//
// Bounds. A subscription's queue holds at most max_queued_per_subscription
// deliveries; one more drops the oldest waiting one (never the one in flight),
// counts it in Stats::dropped, reports it as a failure ("dropped: ...") and
// logs at a bounded rate. Nothing is dropped without a report.
//
// Transports.
// - http://, https://: Boost.Beast, keep-alive connection pool per
//   (scheme, host, port). POST to the URI's path and query with Content-Type =
//   endpoint.accept, the Link header (for application/json), NGSILD-Tenant
//   (when the tenant is not empty) and every receiverInfo pair as a header.
//   2xx is success; any other status, a connection error or the timeout is a
//   failure. TLS verifies the peer (system CAs, plus NotifierOptions::ca_file).
// - mqtt://[user:pass@]host[:port]/topic: one client connection per (broker,
//   credentials, MQTT version), reused. Topic = the URI path without its leading
//   '/'. notifierInfo MQTT-Version ("mqtt3.1.1" | "mqtt5.0", default 5.0) and
//   MQTT-QoS (0..2, default 0). Payload = {"metadata": {...}, "body": <notification>}
//   where metadata holds Content-Type, Link, NGSILD-Tenant and the receiverInfo
//   pairs; with MQTT 5 receiverInfo pairs are also sent as user properties.
//   Success = handed to the socket (QoS 0), PUBACK (1), PUBCOMP (2).
// - mqtts://[user:pass@]host[:port]/topic (port 8883 by default): the same over
//   TLS, with the same trust as https:// (system CAs plus
//   NotifierOptions::ca_file; certificate chain and host name verified, SNI
//   sent). A server that does not verify fails the attempt with a reason
//   naming the certificate problem, retried like any failure.
//
// Threading. All state lives on one strand of the io_context passed in; the
// public methods are thread-safe and never block on the network (enqueue()
// posts to the strand). Reports are called on that strand.
//
// Lifetime. Construct, on_report(), start(), ..., stop() (or the destructor).
// The io_context must outlive the Notifier; stop() must be called from a
// thread that is not running the io_context's handlers for this notifier
// when the io_context runs on other threads (it waits for the strand).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace urbis::ngsild {

struct Endpoint {
  // http://, https://, mqtt://[user:pass@]host[:port]/topic, mqtts://
  std::string uri;
  // Content type of the notification: "application/json" or "application/ld+json".
  std::string accept = "application/json";
  // HTTP headers / MQTT user properties (and MQTT metadata) added to each notification.
  std::vector<std::pair<std::string, std::string>> receiver_info;
  // Settings for the notifier, e.g. MQTT-Version (mqtt3.1.1|mqtt5.0), MQTT-QoS (0..2).
  std::vector<std::pair<std::string, std::string>> notifier_info;
  bool operator==(const Endpoint&) const = default;
};

struct Delivery {  // one notification to send
  std::string tenant;
  std::string subscription_id;
  Endpoint endpoint;
  // The notification JSON text, ready to send. When it is an NGSI-LD
  // Notification (an object with a "data" array), it may be sent merged with
  // the deliveries queued right behind it (see Coalescing above).
  std::string body;
  std::string link_header;  // for accept application/json: the Link header to add ("" = none)
};

struct DeliveryReport {  // after each attempt (and for each dropped delivery)
  std::string tenant, subscription_id;
  bool ok = false;
  int64_t at_ms = 0;   // wall clock, ms since the Unix epoch
  std::string error;   // why it failed ("connection refused", "HTTP 500", "timeout"); "" when ok
};

struct NotifierOptions {
  // SQLite file for the persisted queue ("" = memory only, for tests).
  std::string db_path;
  // Bound per subscription; beyond it the OLDEST waiting delivery is dropped,
  // counted and reported as a failure.
  size_t max_queued_per_subscription = 10000;
  // Whole attempt: connect + TLS handshake + request + response (or MQTT ack).
  std::chrono::milliseconds timeout{5000};
  // How long a new delivery may stay in memory only. One that is delivered
  // within this time is never written to disk (the happy path costs no
  // SQLite work); the others are written in one group commit. It is also the
  // window in which a crash (kill -9) can lose a notification.
  std::chrono::milliseconds persist_delay{5};
  // Retry backoff of a failing subscription: doubles from retry_initial up to
  // retry_max, each wait drawn at random in [backoff/2, backoff].
  std::chrono::milliseconds retry_initial{500}, retry_max{60000};
  // Extra PEM CA file trusted for https:// and mqtts:// endpoints, on top of
  // the system CAs.
  std::string ca_file;
  // Verify the TLS peer (certificate chain and host name). Only tests turn this off.
  bool tls_verify = true;
  // Most HTTP connections open to one (scheme, host, port); further
  // subscriptions to that host wait for a free connection.
  size_t max_connections_per_host = 32;
  // Idle keep-alive connections kept per host.
  size_t max_idle_per_host = 8;
  // Bounds of a coalesced notification: entities in its "data" array and body
  // bytes. 1 turns coalescing off.
  size_t max_entities_per_notification = 100;
  size_t max_notification_bytes = 1 << 20;
};

class Notifier {
 public:
  // `io` must outlive the Notifier.
  Notifier(boost::asio::io_context& io, NotifierOptions options);
  ~Notifier();  // stop(), if not done
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Opens the queue; re-sends what was pending before a restart (in order per
  // subscription). Fails when the database cannot be opened or migrated.
  Status start();
  // Closes connections and stops retrying; pending deliveries stay persisted.
  // Blocks until queued database writes are committed. Idempotent.
  void stop();

  // Thread-safe, never blocks on the network. Deliveries of one subscription
  // are sent in enqueue order, one attempt at a time (an attempt may carry
  // several coalesced deliveries); different subscriptions proceed
  // independently. Before start() or after stop(), deliveries are only
  // persisted (after stop(): ignored) - callers should not rely on that.
  void enqueue(Delivery d);

  // Called after every attempt (on the notifier's strand); the subscription
  // manager updates its status fields. Set before start(). Must not block.
  void on_report(std::function<void(const DeliveryReport&)> f);

  // The subscription was deleted: drop its queue (memory and disk). An
  // attempt in flight completes without a report. Thread-safe.
  void forget(const std::string& tenant, const std::string& subscription_id);

  struct Stats {
    uint64_t sent;     // successful attempts (a coalesced notification counts once)
    uint64_t failed;   // failed attempts (each retry counts)
    uint64_t dropped;  // deliveries dropped by the bound
    uint64_t queued;   // deliveries waiting or in flight now
  };
  Stats stats() const;  // thread-safe

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace urbis::ngsild
