#include "net/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <future>

#include "common/log.hpp"

namespace urbis::net {

namespace asio = boost::asio;
using asio::ip::tcp;

TcpListener::TcpListener(IoPool& pool, std::string name, OnAccept on_accept)
    : pool_(pool), name_(std::move(name)), on_accept_(std::move(on_accept)) {}

TcpListener::~TcpListener() { stop(); }

Status TcpListener::start(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument(name_ + ": invalid listen address '" + host + "'");
  tcp::endpoint ep(addr, port);
  acceptor_ = std::make_unique<tcp::acceptor>(pool_.context(0));
  std::string where = host + ":" + std::to_string(port);
  if (acceptor_->open(ep.protocol(), ec); ec) return IoError(name_ + ": cannot open " + where + ": " + ec.message());
  acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (acceptor_->bind(ep, ec); ec) return IoError(name_ + ": cannot listen on " + where + ": " + ec.message());
  if (acceptor_->listen(asio::socket_base::max_listen_connections, ec); ec)
    return IoError(name_ + ": cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  ULOG_INFO("{} listening on {}:{}", name_, host, port_);
  accept_next();
  return Status::Ok();
}

void TcpListener::accept_next() {
  auto& ctx = pool_.next();
  acceptor_->async_accept(ctx, [this, &ctx](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      // EMFILE and friends: log, back off briefly, keep serving.
      ULOG_WARN("{}: accept failed: {}", name_, ec.message());
      auto timer = std::make_shared<asio::steady_timer>(pool_.context(0), std::chrono::milliseconds(50));
      timer->async_wait([this, timer](const boost::system::error_code& tec) {
        if (!tec && acceptor_->is_open()) accept_next();
      });
      return;
    }
    asio::post(ctx, [this, s = std::move(socket)]() mutable { on_accept_(std::move(s)); });
    accept_next();
  });
}

void TcpListener::stop() {
  if (!acceptor_) return;
  // The acceptor lives on context 0; close it there to avoid racing the loop.
  auto* acc = acceptor_.get();
  if (pool_.thread_index() == 0 || pool_.context(0).stopped()) {
    boost::system::error_code ec;
    acc->close(ec);
  } else {
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    asio::post(pool_.context(0), [acc, done] {
      boost::system::error_code ec;
      acc->close(ec);
      done->set_value();
    });
    fut.wait_for(std::chrono::seconds(2));
  }
}

}  // namespace urbis::net
