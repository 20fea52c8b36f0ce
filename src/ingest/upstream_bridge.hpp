// UpstreamBridge: Urbis as an MQTT client of another broker, typically the
// Mosquitto of a ChirpStack v4 installation, feeding what it receives to the
// same ingest sink as Urbis's own broker ([[devices.upstream]] in urbis.toml).
//
// Durability (ARCHITECTURE.md: nothing acknowledged is lost)
//   The bridge connects with clean_start = false and a session expiry, so the
//   upstream broker keeps its subscriptions and queues messages while Urbis is
//   away. Each QoS 1/2 message is acknowledged upstream only when the sink's
//   `done` says it is settled:
//     ok                                    stored       -> ack
//     kInvalidArgument / kPermissionDenied  refused      -> ack (a payload that
//     / kNotFound                                           does not decode, an
//                                                           unknown or disabled
//                                                           device: redelivering
//                                                           cannot help)
//     anything else (storage failure)       not stored   -> no ack; the
//                                                           connection is closed
//                                                           so the broker
//                                                           redelivers it after
//                                                           the reconnect
//   A message on a topic the sink does not want is acknowledged and counted
//   as refused. Acks go out in arrival order (mqtt::Client's manual mode);
//   the upstream's Receive Maximum bounds what is in flight.
//
// Reconnection: after a failed connect or a lost connection the bridge waits
// 1 s, doubling up to 60 s, and starts again at 1 s once a connection is up.
// The state is logged when it changes (up, down with the reason), not per retry.
//
// TLS: an mqtts:// (or ssl://) url connects over TLS with a client context
// built once in start() from `tls` (system CAs plus [outgoing_tls] ca_file;
// the broker's certificate and host name are verified). A broker that does not
// verify is a failed connect like any other: logged and retried.
//
// Identity: messages reach the sink as if published to Urbis's broker by a
// client whose transport is "upstream" and whose client id is the bridge's.
//
// Threading: the bridge lives on one io_context (one pool thread). start() and
// stop() may be called from any thread; stats() from any thread. The sink's
// `done` may run on any thread.
//
// Lifetime: `sink` and the io_context must outlive the bridge. stop() before
// destroying it; a destroyed bridge leaves nothing behind that touches it.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "config/options.hpp"
#include "mqtt/broker/ingest.hpp"
#include "net/tls_context.hpp"

namespace urbis::ingest {

struct UpstreamStats {
  bool connected = false;   // subscribed and receiving
  uint64_t received = 0;    // messages delivered by the upstream broker (redeliveries included)
  uint64_t stored = 0;      // committed by the sink
  uint64_t refused = 0;     // refused by the sink (or not an ingest topic), acknowledged
  uint64_t failed = 0;      // not stored (storage failure), left for redelivery
  uint64_t reconnects = 0;  // connections established after the first one
};

class UpstreamBridge {
 public:
  // REQUIRES: `entry` passed config validation (validate_options). `tls` is
  // the trust for mqtts:// urls (unused for mqtt://).
  UpstreamBridge(UpstreamEntry entry, mqtt::IngestSink& sink, boost::asio::io_context& io,
                 net::ClientTlsOptions tls = {});
  ~UpstreamBridge();
  UpstreamBridge(const UpstreamBridge&) = delete;
  UpstreamBridge& operator=(const UpstreamBridge&) = delete;

  // Starts connecting (in the background; failures are retried, not returned).
  // Fails only for a url that does not parse, or for mqtts:// when the TLS
  // context cannot be built (ca_file unreadable or not PEM).
  [[nodiscard]] Status start();

  // Disconnects (DISCONNECT, session kept upstream) and stops retrying; waits
  // at most a few seconds for the io_context to do it. Messages whose commit
  // is still running stay unacknowledged and are redelivered next time (the
  // store's idempotency keys make that harmless). Idempotent.
  // REQUIRES: not called on the bridge's own io_context thread.
  void stop();

  UpstreamStats stats() const;
  // The configured url, for logs and health.
  const std::string& url() const;
  // The client id used upstream (the configured one or urbis-<hostname>).
  const std::string& client_id() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace urbis::ingest
