// A byte stream a broker connection runs over: plain TCP, TLS or WebSocket.
//
// The MQTT connection code is written once against this interface; each
// transport is one implementation in its own file (tcp_transport, tls_transport,
// http/ws_transport). All calls and callbacks happen on the transport's executor
// (one io_context thread); an implementation is not thread-safe.
//
// Memory: an idle connection should cost as little as possible, so a transport
// is free to read into a per-thread scratch buffer (see TcpTransport) and only
// hand the bytes to the callback; it must not keep large per-connection buffers
// while no data is flowing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace urbis::net {

class Transport {
 public:
  // Called with bytes received. `data` is valid only during the call.
  // An error (including end of stream) is reported once, with empty data.
  using ReadHandler = std::function<void(const std::error_code&, std::span<const uint8_t> data)>;
  using WriteHandler = std::function<void(const std::error_code&)>;

  virtual ~Transport() = default;

  virtual boost::asio::any_io_executor executor() = 0;

  // Starts one read. REQUIRES: no other read outstanding.
  virtual void async_read(ReadHandler handler) = 0;

  // Writes all of `data`; the transport keeps `data` alive until `handler` runs.
  // REQUIRES: no other write outstanding.
  virtual void async_write(std::string data, WriteHandler handler) = 0;

  // Closes the stream; outstanding operations complete with an error.
  // Safe to call more than once.
  virtual void close() = 0;

  // Peer address as "ip:port", for logs. Built on each call, so an idle
  // connection does not keep it.
  virtual std::string remote_endpoint() const = 0;
  // Peer IP only, for logs, per-IP limits and ACLs.
  virtual const std::string& remote_ip() const = 0;

  // Common name of a verified TLS client certificate, empty otherwise.
  virtual std::string client_certificate_cn() const { return {}; }

  // "tcp", "tls", "ws" or "wss": for logs and $SYS.
  virtual const char* kind() const = 0;
};

// Whoever accepts a transport hands it to a sink (the MQTT broker). Called on
// the transport's executor.
using TransportSink = std::function<void(std::unique_ptr<Transport>)>;

}  // namespace urbis::net
