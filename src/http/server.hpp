// The HTTP/1.1 listener (Boost.Beast): REST routes and MQTT over WebSocket.
//
// One acceptor; each accepted socket moves to the io_context the app's
// round-robin picker returns, and lives there as a small session:
//   read request (idle timeout, body limit) -> Router::dispatch -> write response
//   -> keep-alive: read the next one; otherwise close.
// A GET /mqtt carrying "Upgrade: websocket" is not routed: when a WebSocket sink
// is configured and the client offers the "mqtt" (or legacy "mqttv3.1")
// subprotocol, the session performs the WebSocket handshake and hands a
// WsTransport to the sink (the MQTT broker); the HTTP server forgets it then.
// Without an acceptable subprotocol the answer is a 400 ProblemDetails.
//
// Limits: a body larger than HttpOptions::max_body_bytes is answered 413 and the
// connection is closed; a connection that sends nothing for idle_timeout_s is
// closed; headers are capped at 16 KiB (431).
//
// Graceful stop: stop() closes the acceptor and every connection that is idle
// between requests; a connection with a request in flight finishes that response
// (sent with "Connection: close") and then closes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/status.hpp"
#include "config/options.hpp"
#include "http/router.hpp"
#include "net/transport.hpp"

namespace urbis::http {

namespace detail {
struct ServerShared;  // state shared by the server and its connections
}  // namespace detail

// Returns the io_context the next accepted connection should live on. Called on
// the acceptor's thread; must be thread-safe if shared with other listeners.
using ContextPicker = std::function<boost::asio::io_context&()>;

// Registers GET /mqtt in the route table, so the docs list it and a plain GET
// (no Upgrade) gets a 400 ProblemDetails explaining what is expected. The
// WebSocket upgrade itself is handled by HttpServer before routing.
[[nodiscard]] Status register_mqtt_websocket_route(Router& router);

class HttpServer {
 public:
  // `next_context` picks the io_context per connection (the acceptor lives on the
  // first one it returns). `router` is shared read-only by every connection.
  // `ws_sink` receives MQTT-over-WebSocket transports; empty disables WebSocket
  // (an upgrade to /mqtt is then routed like any request).
  // REQUIRES: router != nullptr.
  HttpServer(ContextPicker next_context, HttpOptions options, std::shared_ptr<const Router> router,
             net::TransportSink ws_sink);
  // Calls stop(). Connections still open keep what they need alive by themselves.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds options.listener.host:port (port 0 picks a free port) and starts
  // accepting. Fails with a message naming host:port (e.g. address in use).
  // REQUIRES: called once, before stop().
  [[nodiscard]] Status start();

  // The bound port; valid after a successful start().
  uint16_t port() const { return port_; }

  // Stops accepting and closes idle connections (see the note above).
  // Thread-safe, idempotent, does not wait.
  void stop();

 private:
  std::shared_ptr<detail::ServerShared> shared_;
  uint16_t port_ = 0;
};

}  // namespace urbis::http
