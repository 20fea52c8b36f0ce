#include "net/tls_transport.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/log.hpp"

namespace urbis::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Bytes asked for per read: one TLS record's worth. Allocated per read and freed
// after the callback, so an idle connection holds no read buffer of ours.
constexpr size_t kReadChunk = 16 * 1024;

// The common name of the peer's certificate, only if OpenSSL verified it.
std::string verified_peer_cn(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME* subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
      ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, data);
      if (len > 0) cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  X509_free(cert);
  return cn;
}

std::string endpoint_string(const tcp::socket& s, bool with_port) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  std::string ip = ep.address().to_string();
  if (!with_port) return ip;
  if (ep.address().is_v6()) return "[" + ip + "]:" + std::to_string(ep.port());
  return ip + ":" + std::to_string(ep.port());
}

}  // namespace

struct TlsTransport::State {
  std::shared_ptr<ssl::context> ctx;  // must outlive the stream
  std::unique_ptr<Stream> stream;
  std::string write_buf;  // the one in-flight write
};

void TlsTransport::accept(tcp::socket socket, std::shared_ptr<ssl::context> ctx,
                          std::chrono::milliseconds handshake_timeout, TransportSink sink) {
  struct Pending {
    std::shared_ptr<ssl::context> ctx;
    std::unique_ptr<Stream> stream;
    std::unique_ptr<asio::steady_timer> timer;
    TransportSink sink;
    std::string peer;
  };
  auto p = std::make_shared<Pending>();
  p->peer = endpoint_string(socket, true);
  p->stream = std::make_unique<Stream>(std::move(socket), *ctx);
  p->ctx = std::move(ctx);
  p->sink = std::move(sink);
  p->timer = std::make_unique<asio::steady_timer>(p->stream->get_executor(), handshake_timeout);

  p->timer->async_wait([p](const boost::system::error_code& ec) {
    // Closing the socket makes the pending handshake fail; the stream may
    // already belong to a transport if the handshake won the race.
    if (!ec && p->stream) {
      boost::system::error_code ignored;
      p->stream->lowest_layer().close(ignored);
    }
  });
  p->stream->async_handshake(ssl::stream_base::server, [p](const boost::system::error_code& ec) {
    p->timer->cancel();
    if (ec) {
      ULOG_DEBUG("tls: handshake with {} failed: {}", p->peer, ec.message());
      boost::system::error_code ignored;
      p->stream->lowest_layer().close(ignored);
      return;
    }
    p->sink(std::make_unique<TlsTransport>(p->ctx, std::move(p->stream)));
  });
}

TlsTransport::TlsTransport(std::shared_ptr<ssl::context> ctx, std::unique_ptr<Stream> stream)
    : st_(std::make_shared<State>()) {
  remote_endpoint_ = endpoint_string(stream->next_layer(), true);
  remote_ip_ = endpoint_string(stream->next_layer(), false);
  client_cn_ = verified_peer_cn(stream->native_handle());
  boost::system::error_code ignored;
  stream->next_layer().set_option(tcp::no_delay(true), ignored);
  st_->ctx = std::move(ctx);
  st_->stream = std::move(stream);
}

TlsTransport::~TlsTransport() { close(); }

asio::any_io_executor TlsTransport::executor() { return st_->stream->get_executor(); }

void TlsTransport::async_read(ReadHandler handler) {
  auto buf = std::make_unique<uint8_t[]>(kReadChunk);
  uint8_t* p = buf.get();
  st_->stream->async_read_some(
      asio::buffer(p, kReadChunk),
      [st = st_, buf = std::move(buf), handler = std::move(handler)](
          const boost::system::error_code& ec, size_t n) {
        if (ec) {
          handler(ec, {});
          return;
        }
        handler({}, std::span<const uint8_t>(buf.get(), n));
      });
}

void TlsTransport::async_write(std::string data, WriteHandler handler) {
  st_->write_buf = std::move(data);
  asio::async_write(*st_->stream, asio::buffer(st_->write_buf),
                    [st = st_, handler = std::move(handler)](const boost::system::error_code& ec, size_t) {
                      std::string().swap(st->write_buf);  // an idle connection keeps no buffer
                      handler(ec);
                    });
}

void TlsTransport::close() {
  boost::system::error_code ignored;
  auto& sock = st_->stream->lowest_layer();
  if (sock.is_open()) {
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
  }
}

TlsListener::TlsListener(IoPool& pool, std::shared_ptr<ssl::context> ctx, TransportSink sink,
                         std::chrono::milliseconds handshake_timeout)
    : listener_(pool, "mqtt-tls",
                [ctx = std::move(ctx), sink = std::move(sink), handshake_timeout](tcp::socket s) {
                  TlsTransport::accept(std::move(s), ctx, handshake_timeout, sink);
                }) {}

Status TlsListener::start(const std::string& host, uint16_t port) {
  return listener_.start(host, port);
}

}  // namespace urbis::net
