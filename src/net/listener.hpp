// A TCP accept loop that hands each new socket, on its own io_context from the
// pool, to a callback. Used by the MQTT TCP listener (wrapped in TcpTransport)
// and available to any other plain TCP service.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "net/io_pool.hpp"

namespace urbis::net {

class TcpListener {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket)>;

  // The accept loop runs on pool.context(0); accepted sockets are bound to
  // pool.next(). `on_accept` runs on the socket's context.
  TcpListener(IoPool& pool, std::string name, OnAccept on_accept);
  ~TcpListener();

  // Binds and listens. Port 0 picks a free port (see port()).
  [[nodiscard]] Status start(const std::string& host, uint16_t port);
  // Stops accepting. Thread-safe; connections already accepted are not touched.
  void stop();
  uint16_t port() const { return port_; }

 private:
  void accept_next();

  IoPool& pool_;
  std::string name_;
  OnAccept on_accept_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
};

}  // namespace urbis::net
