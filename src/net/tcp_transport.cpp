#include "net/tcp_transport.hpp"

#include <boost/asio/write.hpp>

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
}  // namespace

TcpTransport::Socket TcpTransport::rebind(asio::ip::tcp::socket s) {
  auto& ctx = static_cast<asio::io_context&>(asio::query(s.get_executor(), asio::execution::context));
  boost::system::error_code ec;
  auto protocol = s.local_endpoint(ec).protocol();
  if (ec) protocol = asio::ip::tcp::v4();
  auto fd = s.release(ec);
  Socket out(ctx.get_executor());
  if (!ec) out.assign(protocol, fd, ec);
  return out;
}

TcpTransport::TcpTransport(asio::ip::tcp::socket socket) : socket_(rebind(std::move(socket))) {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    ip_ = ep.address().to_string();
    remote_ = ep.address().is_v6() ? "[" + ip_ + "]:" + std::to_string(ep.port())
                                   : ip_ + ":" + std::to_string(ep.port());
  } else {
    ip_ = remote_ = "unknown";
  }
}

TcpTransport::~TcpTransport() { close(); }

void TcpTransport::async_read(ReadHandler handler) { try_read(std::move(handler)); }

void TcpTransport::try_read(ReadHandler handler) {
  // Opportunistic read first: under load data is usually already there. Not
  // when called from inside a handler we are running, or a busy connection
  // would recurse without bound and starve every other one on this thread.
  boost::system::error_code ec;
  if (!in_handler_) {
    uint8_t* buf = scratch();
    size_t n = socket_.read_some(asio::buffer(buf, kScratch), ec);
    if (!ec) {
      in_handler_ = true;
      handler({}, std::span<const uint8_t>(buf, n));
      in_handler_ = false;
      return;
    }
  } else {
    ec = asio::error::would_block;
  }
  if (ec != asio::error::would_block && ec != asio::error::try_again) {
    handler(ec, {});
    return;
  }
  socket_.async_wait(Socket::wait_read,
                     [this, handler = std::move(handler)](const boost::system::error_code& wec) mutable {
                       if (wec) {
                         handler(wec, {});
                         return;
                       }
                       in_handler_ = false;
                       try_read(std::move(handler));
                     });
}

void TcpTransport::async_write(std::string data, WriteHandler handler) {
  write_buf_ = std::move(data);
  asio::async_write(socket_, asio::buffer(write_buf_),
                    [this, handler = std::move(handler)](const boost::system::error_code& ec, size_t) {
                      // Give the memory back while idle: an idle connection keeps no buffer.
                      std::string().swap(write_buf_);
                      handler(ec);
                    });
}

void TcpTransport::close() {
  boost::system::error_code ec;
  if (socket_.is_open()) {
    socket_.shutdown(Socket::shutdown_both, ec);
    socket_.close(ec);
  }
}

}  // namespace urbis::net
