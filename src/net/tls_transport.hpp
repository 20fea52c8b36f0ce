// MQTT over TLS: a net::Transport over an OpenSSL stream, and the listener that
// accepts such connections.
//
// A connection reaches the broker only after a completed handshake: accept()
// runs the server handshake under a timeout (so a client that opens a socket
// and says nothing cannot hold it), verifies the client certificate when the
// context asks for one (see tls_context.hpp), records the certificate's common
// name, and only then hands the TlsTransport to the sink. A failed or timed-out
// handshake is logged at debug level and the socket closed; the sink never sees it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "config/options.hpp"
#include "net/io_pool.hpp"
#include "net/listener.hpp"
#include "net/transport.hpp"

namespace urbis::net {

class TlsTransport final : public Transport {
 public:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // Runs the server handshake on `socket` (on the socket's executor) and, on
  // success, calls `sink` there with the new transport. `ctx` is kept alive by
  // every connection made from it.
  static void accept(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> ctx,
                     std::chrono::milliseconds handshake_timeout, TransportSink sink);

  // REQUIRES: the server handshake on `stream` has completed; `ctx` is its context.
  TlsTransport(std::shared_ptr<boost::asio::ssl::context> ctx, std::unique_ptr<Stream> stream);
  // Closes the socket. Outstanding handlers still run (with an error).
  ~TlsTransport() override;

  boost::asio::any_io_executor executor() override;
  void async_read(ReadHandler handler) override;
  void async_write(std::string data, WriteHandler handler) override;
  // Closes the TCP socket without a TLS close_notify: MQTT ends sessions with
  // DISCONNECT, and waiting for a peer's close_notify would let it hold us.
  void close() override;
  std::string remote_endpoint() const override { return remote_endpoint_; }
  const std::string& remote_ip() const override { return remote_ip_; }
  std::string client_certificate_cn() const override { return client_cn_; }
  const char* kind() const override { return "tls"; }

  struct State;  // shared with in-flight handlers; public only for the .cpp

 private:
  std::shared_ptr<State> st_;
  std::string remote_endpoint_;
  std::string remote_ip_;
  std::string client_cn_;
};

// The MQTT TLS listener: a TcpListener whose sockets go through
// TlsTransport::accept before reaching the sink.
class TlsListener {
 public:
  // REQUIRES: ctx != nullptr; `pool` outlives the listener.
  TlsListener(IoPool& pool, std::shared_ptr<boost::asio::ssl::context> ctx, TransportSink sink,
              std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10));

  // Binds host:port (port 0 picks a free one, see port()). The error names host:port.
  [[nodiscard]] Status start(const std::string& host, uint16_t port);
  // Stops accepting; connections already handed to the sink are not touched.
  void stop() { listener_.stop(); }
  uint16_t port() const { return listener_.port(); }

 private:
  TcpListener listener_;
};

}  // namespace urbis::net
