// Private to the notifier: notifications published to MQTT brokers through
// the project's client (mqtt/client), one connection per (scheme, broker,
// credentials, MQTT version), reused by every subscription that names it.
// mqtts:// connects with TLS through the notifier's client TLS context (the
// same trust as https://: system CAs plus NotifierOptions::ca_file, server
// certificate and host name verified); a server that does not verify fails
// the attempt with "TLS handshake with host:port: certificate verify failed: ...".
//
// A connection is opened on first use; sends arriving while it connects wait
// for the CONNACK. When it ends (network error, broker DISCONNECT) the entry
// is dropped and the next send opens a new one; the client fails whatever was
// in flight, and the notifier retries those deliveries.
// An attempt that is not acknowledged within options.timeout fails with
// "timeout" and closes its connection (a broker that stops acknowledging is
// treated like one that is gone).
//
// Threading: every method runs on the strand given to the constructor.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "net/tls_context.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/notify/target.hpp"

namespace urbis::mqtt {
class Client;
}

namespace urbis::ngsild::notify {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// The MQTT payload of a notification (NGSI-LD MQTT binding):
// {"metadata": {"Content-Type": ..., "Link": ..., "NGSILD-Tenant": ..., <receiverInfo>...},
//  "body": <the notification>}. The body text is embedded as is.
std::string mqtt_payload(const Delivery& d);

class MqttSender {
 public:
  // `tls` (used for mqtts:// only) must outlive the sender; it is used on the strand.
  MqttSender(Strand strand, const NotifierOptions& options, net::LazyClientTlsContext& tls);
  ~MqttSender();
  // REQUIRES: t is mqtt or mqtts. `done` is called exactly once, on the strand.
  void send(const Target& t, const Delivery& d, SendDone done);
  // Disconnects every connection; sends in progress fail.
  void close();
  uint64_t connections_opened() const { return opened_; }

  struct Conn;

 private:
  // Fails only for mqtts:// when the TLS context cannot be built.
  Result<std::shared_ptr<Conn>> conn_for(const Target& t, bool v5);

  Strand strand_;
  const NotifierOptions& options_;
  net::LazyClientTlsContext& tls_;
  std::unordered_map<std::string, std::shared_ptr<Conn>> conns_;
  bool closed_ = false;
  uint64_t opened_ = 0;
  uint64_t next_client_ = 0;
};

}  // namespace urbis::ngsild::notify
