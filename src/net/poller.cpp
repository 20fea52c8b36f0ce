#include "net/poller.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace urbis::net {

boost::asio::io_context::id Poller::id;

Poller::Poller(boost::asio::io_context& ctx) : boost::asio::io_context::service(ctx), epoll_(ctx) {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    // Every add() then fails, and each transport reports the error on its first read.
    ULOG_ERROR("epoll_create1 failed: {}", std::strerror(errno));
    return;
  }
  boost::system::error_code ec;
  epoll_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    ULOG_ERROR("cannot watch the epoll set: {}", ec.message());
    return;
  }
  wait();
}

Poller::~Poller() = default;

void Poller::shutdown() {
  boost::system::error_code ec;
  epoll_.close(ec);
}

int Poller::add(int fd, PollTarget* target) {
  if (!epoll_.is_open()) return EBADF;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = target;
  return ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void Poller::remove(int fd, PollTarget* target) {
  if (epoll_.is_open()) ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
  // The batch being dispatched may still name the target; it may be gone
  // before its turn comes.
  for (int i = batch_pos_ + 1; i < batch_size_; ++i) {
    if (batch_[i].data.ptr == target) batch_[i].data.ptr = nullptr;
  }
}

void Poller::wait() {
  epoll_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (!ec) dispatch();
  });
}

void Poller::dispatch() {
  int n = ::epoll_wait(epoll_.native_handle(), batch_.data(), static_cast<int>(batch_.size()), 0);
  batch_size_ = n > 0 ? n : 0;
  for (batch_pos_ = 0; batch_pos_ < batch_size_; ++batch_pos_) {
    if (auto* t = static_cast<PollTarget*>(batch_[batch_pos_].data.ptr)) t->on_ready(batch_[batch_pos_].events);
  }
  batch_size_ = batch_pos_ = 0;
  if (!epoll_.is_open()) return;
  if (n == static_cast<int>(batch_.size())) {
    // More may be ready, and the epoll set signals Asio only when something
    // new becomes ready: fetch the rest after the handlers already queued.
    boost::asio::post(context(), [this] { dispatch(); });
  } else {
    wait();
  }
}

}  // namespace urbis::net
