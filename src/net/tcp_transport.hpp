// Plain TCP transport with lazily allocated read buffers.
//
// An idle MQTT connection costs almost nothing here: instead of keeping a read
// buffer per connection, the transport waits for readability with no buffer
// (async_wait), then reads into a per-thread scratch buffer and hands the bytes
// to the connection. Only a partial packet is copied into the connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/transport.hpp"

namespace urbis::net {

class TcpTransport final : public Transport {
 public:
  // Takes over an accepted socket. The socket is re-bound to the concrete
  // io_context executor type: operations on it then carry an 8-byte executor
  // instead of a polymorphic one, which matters at 10,000 idle connections.
  explicit TcpTransport(boost::asio::ip::tcp::socket socket);
  ~TcpTransport() override;

  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  void async_read(ReadHandler handler) override;
  void async_write(std::string data, WriteHandler handler) override;
  void close() override;
  const std::string& remote_endpoint() const override { return remote_; }
  const std::string& remote_ip() const override { return ip_; }
  const char* kind() const override { return "tcp"; }

 private:
  void try_read(ReadHandler handler);

  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
  static Socket rebind(boost::asio::ip::tcp::socket s);
  Socket socket_;
  bool in_handler_ = false;  // true while a read handler runs synchronously
  std::string write_buf_;  // kept alive while a write is in flight
  std::string remote_;
  std::string ip_;
};

}  // namespace urbis::net
