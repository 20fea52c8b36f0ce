// Readiness of many mostly idle sockets, with no allocation per socket.
//
// Asio's reactor keeps a descriptor record (~170 B) for every socket it knows
// and a heap operation (~200 B) for every pending wait. At 10,000 idle MQTT
// clients that is more than the rest of a connection together. A Poller is one
// edge-triggered epoll set per io_context, and that set is the only descriptor
// Asio watches for it: a socket registers once (EPOLLIN | EPOLLOUT | EPOLLRDHUP
// | EPOLLET) with a pointer to its PollTarget, and the kernel keeps the rest.
//
// Edge-triggered means a target is told when its state changes (new bytes, new
// room to write, hang-up), not while it stays ready: it must remember that it
// is readable until a read comes back short or with EAGAIN (see TcpTransport).
//
// Threading: a Poller belongs to one io_context that one thread runs (IoPool);
// add(), remove() and on_ready() all happen on that thread. Linux only (epoll).
#pragma once

#include <sys/epoll.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstdint>

namespace urbis::net {

class PollTarget {
 public:
  // `events` is the epoll event mask. The target may remove itself, or any
  // other target, from inside the call.
  virtual void on_ready(uint32_t events) = 0;

 protected:
  ~PollTarget() = default;
};

class Poller : public boost::asio::io_context::service {
 public:
  static boost::asio::io_context::id id;

  // The poller of `ctx`, created on first use. Call on ctx's thread.
  static Poller& of(boost::asio::io_context& ctx) { return boost::asio::use_service<Poller>(ctx); }

  explicit Poller(boost::asio::io_context& ctx);
  ~Poller() override;

  boost::asio::io_context& context() { return get_io_context(); }

  // Watches `fd` for `target` until remove(). Returns errno on failure, 0 on success.
  int add(int fd, PollTarget* target);
  // Stops watching: `target` gets no on_ready() after this returns, not even
  // for events already fetched in the batch being dispatched. Call before
  // closing `fd`. Safe after the io_context shut down.
  void remove(int fd, PollTarget* target);

 private:
  void shutdown() override;
  void wait();
  void dispatch();

  boost::asio::posix::stream_descriptor epoll_;
  // Events fetched by the last epoll_wait; entries of removed targets are nulled.
  std::array<epoll_event, 128> batch_{};
  int batch_size_ = 0;
  int batch_pos_ = 0;
};

}  // namespace urbis::net
