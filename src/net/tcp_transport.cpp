#include "net/tcp_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>

#include "common/log.hpp"

namespace urbis::net {

namespace asio = boost::asio;

namespace {
// Per-thread scratch space for reads; 64 KiB lets one read drain many small packets.
constexpr size_t kScratch = 64 * 1024;
thread_local std::unique_ptr<uint8_t[]> tls_scratch;

uint8_t* scratch() {
  if (!tls_scratch) tls_scratch = std::make_unique<uint8_t[]>(kScratch);
  return tls_scratch.get();
}

std::error_code errno_code(int e) { return {e, std::system_category()}; }

template <typename E>
std::error_code asio_code(E e) {
  return boost::system::error_code(e);
}

// Sends from data[sent..] until all is sent, the socket is full (would_block)
// or it fails.
std::error_code send_some(int fd, const std::string& data, size_t& sent) {
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return asio_code(asio::error::would_block);
    } else if (errno != EINTR) {
      return errno_code(errno);
    }
  }
  return {};
}
}  // namespace

TcpTransport::TcpTransport(asio::ip::tcp::socket socket)
    : poller_(&Poller::of(
          static_cast<asio::io_context&>(asio::query(socket.get_executor(), asio::execution::context)))) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (!ec) {
    ip_ = ep.address().to_string();
    port_ = ep.port();
  } else {
    ip_ = "unknown";
  }
  // Asio lets go of the socket (and of its reactor record); the poller watches it from now on.
  int fd = socket.release(ec);
  if (ec) {
    ULOG_WARN("tcp {}: cannot take over the socket: {}", remote_endpoint(), ec.message());
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::ioctl(fd, FIONBIO, &one);
  if (int err = poller_->add(fd, this)) {
    ULOG_WARN("tcp {}: cannot watch the socket: {}", remote_endpoint(), errno_code(err).message());
    ::close(fd);
    return;
  }
  fd_ = fd;
}

TcpTransport::~TcpTransport() { close(); }

std::string TcpTransport::remote_endpoint() const {
  if (!port_) return ip_;
  bool v6 = ip_.find(':') != std::string::npos;
  return (v6 ? "[" + ip_ + "]" : ip_) + ":" + std::to_string(port_);
}

void TcpTransport::async_read(ReadHandler handler) {
  if (in_handler_) {
    // Called from inside our own read handler: continue from the io_context,
    // after the handlers already queued. The handler keeps its owner, and so
    // this transport, alive meanwhile.
    asio::post(poller_->context(), [this, h = std::move(handler)]() mutable { read_now(std::move(h)); });
    return;
  }
  read_now(std::move(handler));
}

void TcpTransport::read_now(ReadHandler handler) {
  if (fd_ < 0) {
    handler(asio_code(asio::error::bad_descriptor), {});
    return;
  }
  if (!readable_) {
    read_handler_ = std::move(handler);  // on_ready() resumes it
    return;
  }
  uint8_t* buf = scratch();
  ssize_t n;
  do {
    n = ::recv(fd_, buf, kScratch, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    // A short read emptied the socket: the next bytes bring a new edge.
    if (static_cast<size_t>(n) < kScratch) readable_ = false;
    in_handler_ = true;
    handler({}, std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    in_handler_ = false;  // `handler` still holds our owner here
    return;
  }
  if (n == 0) {
    handler(asio_code(asio::error::eof), {});
    return;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    readable_ = false;
    read_handler_ = std::move(handler);
    return;
  }
  handler(errno_code(errno), {});
}

void TcpTransport::on_ready(uint32_t events) {
  if (write_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) write_more();
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
    readable_ = true;
    // Last: the read handler may end this transport's life.
    if (read_handler_) read_now(std::exchange(read_handler_, nullptr));
  }
}

void TcpTransport::async_write(std::string data, WriteHandler handler) {
  // Most writes fit in the socket buffer at once: no state is kept for them.
  size_t sent = 0;
  auto ec = fd_ < 0 ? asio_code(asio::error::bad_descriptor) : send_some(fd_, data, sent);
  if (ec == asio_code(asio::error::would_block)) {
    write_ = std::make_unique<PendingWrite>(PendingWrite{std::move(data), sent, std::move(handler)});
    return;  // EPOLLOUT resumes
  }
  asio::post(poller_->context(), [h = std::move(handler), ec] { h(ec); });
}

void TcpTransport::write_more() {
  auto ec = fd_ < 0 ? asio_code(asio::error::bad_descriptor) : send_some(fd_, write_->data, write_->sent);
  if (ec != asio_code(asio::error::would_block)) complete_write(ec);
}

void TcpTransport::complete_write(std::error_code ec) {
  auto w = std::move(write_);
  asio::post(poller_->context(), [h = std::move(w->handler), ec] { h(ec); });
}

void TcpTransport::close() {
  if (fd_ < 0) return;
  poller_->remove(fd_, this);
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  fd_ = -1;
  // Outstanding operations end with an error, from the io_context.
  if (read_handler_) {
    asio::post(poller_->context(), [h = std::exchange(read_handler_, nullptr)] {
      h(asio_code(asio::error::operation_aborted), {});
    });
  }
  if (write_) complete_write(asio_code(asio::error::operation_aborted));
}

}  // namespace urbis::net
