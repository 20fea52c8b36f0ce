// Plain TCP transport that costs almost nothing while its client is idle.
//
// An idle MQTT connection holds no buffer and no pending operation here: the
// socket sits in its thread's edge-triggered epoll set (poller.hpp) instead of
// Asio's reactor, a read waits as nothing but the stored handler, and bytes
// are read into a per-thread scratch buffer and handed to the handler (only a
// partial packet is copied, by the connection). Writes go straight to the
// socket; only the rest of a write the kernel could not take is kept.
//
// Completion: a read handler may run inside async_read() (when bytes are
// already there, as Asio's speculative reads do, but never from inside a read
// handler of the same transport: that call returns at once and the read
// continues from the io_context, so a busy connection cannot starve others).
// A write handler always runs from the io_context, never inside async_write().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/poller.hpp"
#include "net/transport.hpp"

namespace urbis::net {

class TcpTransport final : public Transport, private PollTarget {
 public:
  // Takes over an accepted socket. Construct on the thread that runs the
  // socket's io_context; destroy before that io_context.
  explicit TcpTransport(boost::asio::ip::tcp::socket socket);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  boost::asio::any_io_executor executor() override { return poller_->context().get_executor(); }
  void async_read(ReadHandler handler) override;
  void async_write(std::string data, WriteHandler handler) override;
  void close() override;
  std::string remote_endpoint() const override;
  const std::string& remote_ip() const override { return ip_; }
  const char* kind() const override { return "tcp"; }

 private:
  void on_ready(uint32_t events) override;
  void read_now(ReadHandler handler);
  // Sends as much of the pending write as the socket takes; completes it when done or failed.
  void write_more();
  void complete_write(std::error_code ec);

  // The part of a write the socket could not take at once. Allocated only then.
  struct PendingWrite {
    std::string data;
    size_t sent = 0;
    WriteHandler handler;
  };

  Poller* poller_;
  int fd_ = -1;
  uint16_t port_ = 0;
  bool readable_ = true;     // no read came back short since the last EPOLLIN
  bool in_handler_ = false;  // a read handler is running on this transport
  ReadHandler read_handler_;  // the pending read, empty when none
  std::unique_ptr<PendingWrite> write_;
  std::string ip_;
};

}  // namespace urbis::net
