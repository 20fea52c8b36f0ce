#include "http/ws_transport.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "common/log.hpp"

namespace urbis::http {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

namespace {
// Bytes asked for per read. Allocated per read and freed after the callback so an
// idle connection holds no read buffer of ours (Beast keeps its own small one).
constexpr size_t kReadChunk = 8 * 1024;
}  // namespace

struct WsTransport::State {
  explicit State(Stream s) : ws(std::move(s)) {}
  Stream ws;
  std::string write_buf;  // the one in-flight write
  bool writing = false;
  bool closed = false;             // close() was called
  bool close_after_write = false;  // close() came while a write was in flight
};

namespace {

void start_close(const std::shared_ptr<WsTransport::State>& st) {
  // The close handshake needs the peer's answer; the timeout set below bounds
  // the wait, and the socket is closed whatever the outcome.
  st->ws.async_close(websocket::close_code::normal, [st](boost::system::error_code) {
    boost::system::error_code ignored;
    st->ws.next_layer().close(ignored);
  });
}

std::string endpoint_string(const asio::ip::tcp::socket& s, bool with_port) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  std::string ip = ep.address().to_string();
  if (!with_port) return ip;
  if (ep.address().is_v6()) return "[" + ip + "]:" + std::to_string(ep.port());
  return ip + ":" + std::to_string(ep.port());
}

}  // namespace

WsTransport::WsTransport(Stream stream) : st_(std::make_shared<State>(std::move(stream))) {
  remote_endpoint_ = endpoint_string(st_->ws.next_layer(), true);
  remote_ip_ = endpoint_string(st_->ws.next_layer(), false);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(5);  // bounds the closing handshake
  t.idle_timeout = websocket::stream_base::none();  // MQTT keep-alive decides idleness
  t.keep_alive_pings = false;
  st_->ws.set_option(t);
  st_->ws.binary(true);
}

WsTransport::~WsTransport() { close(); }

asio::any_io_executor WsTransport::executor() { return st_->ws.get_executor(); }

void WsTransport::async_read(ReadHandler handler) {
  auto buf = std::make_unique<uint8_t[]>(kReadChunk);
  uint8_t* p = buf.get();
  st_->ws.async_read_some(
      asio::buffer(p, kReadChunk),
      [st = st_, buf = std::move(buf), handler = std::move(handler)](
          boost::system::error_code ec, size_t n) {
        if (ec) {
          handler(ec, {});
          return;
        }
        handler({}, std::span<const uint8_t>(buf.get(), n));
      });
}

void WsTransport::async_write(std::string data, WriteHandler handler) {
  if (st_->closed) {
    asio::post(st_->ws.get_executor(), [handler = std::move(handler)] {
      handler(std::make_error_code(std::errc::operation_canceled));
    });
    return;
  }
  st_->write_buf = std::move(data);
  st_->writing = true;
  st_->ws.async_write(asio::buffer(st_->write_buf),
                      [st = st_, handler = std::move(handler)](boost::system::error_code ec, size_t) {
                        st->writing = false;
                        st->write_buf.clear();
                        st->write_buf.shrink_to_fit();
                        handler(ec);
                        if (st->close_after_write) {
                          st->close_after_write = false;
                          start_close(st);
                        }
                      });
}

void WsTransport::close() {
  if (st_->closed) return;
  st_->closed = true;
  // Beast allows one write-like operation at a time, and a close frame is one.
  if (st_->writing) {
    st_->close_after_write = true;
    return;
  }
  start_close(st_);
}

}  // namespace urbis::http
