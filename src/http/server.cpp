#include "http/server.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/log.hpp"
#include "http/ws_transport.hpp"

namespace urbis::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr uint32_t kHeaderLimit = 16 * 1024;
// After refusing a request whose body we will not read (413), we read and drop
// what the client is still sending for a short while, so closing the socket does
// not turn into a TCP reset that destroys our answer before the client reads it.
constexpr size_t kDrainLimit = 1 << 20;
constexpr auto kDrainTimeout = std::chrono::seconds(2);
constexpr std::string_view kMqttPath = "/mqtt";

std::string server_header() { return std::string("urbis/") + URBIS_VERSION; }

// The subprotocol to answer with, or empty when the client offers none we speak.
// "mqtt" is the registered name (MQTT 3.1.1 and 5.0); "mqttv3.1" is what older
// clients send. We echo the one offered because a WebSocket client must refuse
// a subprotocol it did not offer.
std::string pick_subprotocol(std::string_view offered) {
  bool legacy = false;
  while (!offered.empty()) {
    auto comma = offered.find(',');
    std::string_view tok = offered.substr(0, comma);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (beast::iequals(tok, "mqtt")) return "mqtt";
    if (beast::iequals(tok, "mqttv3.1")) legacy = true;
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  return legacy ? "mqttv3.1" : "";
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

Status register_mqtt_websocket_route(Router& router) {
  return router.add(
      bhttp::verb::get, std::string(kMqttPath),
      "MQTT over WebSocket: Upgrade: websocket with subprotocol `mqtt` (or `mqttv3.1`)",
      [](const Request&) {
        return problem(bhttp::status::bad_request, "about:blank", "Bad Request",
                       "/mqtt carries MQTT over WebSocket: send Upgrade: websocket with "
                       "Sec-WebSocket-Protocol: mqtt");
      });
}

class Session;

struct detail::ServerShared {
  ContextPicker next_context;
  HttpOptions options;
  std::shared_ptr<const Router> router;
  net::TransportSink ws_sink;
  std::unique_ptr<tcp::acceptor> acceptor;  // set once by start(); used on its executor
  std::unique_ptr<asio::steady_timer> retry_timer;

  std::mutex mu;
  bool stopping = false;                                          // guarded by mu
  uint64_t next_id = 0;                                           // guarded by mu
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;  // guarded by mu

  // Returns 0 when the server is stopping: the caller must drop the connection.
  uint64_t enroll(const std::shared_ptr<Session>& s) {
    std::lock_guard lock(mu);
    if (stopping) return 0;
    sessions.emplace(++next_id, s);
    return next_id;
  }
  void leave(uint64_t id) {
    std::lock_guard lock(mu);
    sessions.erase(id);
  }
};

// One HTTP connection. Lives on its strand; owned by its in-flight handlers.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<detail::ServerShared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ip_ = ep.address().to_string();
  }
  ~Session() {
    if (id_ != 0) shared_->leave(id_);
  }

  void start(uint64_t id) {
    id_ = id;
    do_read();
  }

  // From HttpServer::stop(), posted onto our strand.
  void shutdown() {
    stopping_ = true;
    if (phase_ == Phase::kReading) close_now();
    // Otherwise the response in flight goes out with "Connection: close".
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Thread-safe: moves the response onto our strand.
  void post_response(Response r) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), r = std::move(r)]() mutable { self->write(std::move(r)); });
  }

 private:
  enum class Phase { kReading, kHandling, kWriting, kDone };

  void do_read() {
    if (stopping_) {
      close_now();
      return;
    }
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(std::chrono::seconds(shared_->options.idle_timeout_s));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        refuse(bhttp::status::payload_too_large,
               "request body exceeds the limit of " +
                   std::to_string(shared_->options.max_body_bytes) + " bytes (http.max_body_bytes)");
      } else if (ec == bhttp::error::header_limit) {
        refuse(bhttp::status::request_header_fields_too_large,
               "request headers exceed " + std::to_string(kHeaderLimit) + " bytes");
      } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                 ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        refuse(bhttp::status::bad_request, "malformed HTTP request: " + ec.message());
      } else {
        // End of stream, timeout, reset, or our own close: nothing to answer.
        close_now();
      }
      return;
    }

    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();

    if (shared_->ws_sink && websocket::is_upgrade(msg) && path_of(msg.target()) == kMqttPath) {
      upgrade(parser_->release());
      return;
    }

    Request req;
    req.method = msg.method();
    req.target = std::string(msg.target());
    req.body = std::move(msg.body());
    req.headers = std::move(static_cast<bhttp::fields&>(msg));
    req.remote_ip = remote_ip_;
    parser_.reset();
    phase_ = Phase::kHandling;

    // Exactly one response per request: the guard answers 500 if the handler
    // drops its Reply, and ignores a second call.
    struct Once {
      std::shared_ptr<Session> s;
      std::atomic<bool> done{false};
      void operator()(Response r) {
        if (!done.exchange(true)) s->post_response(std::move(r));
      }
      ~Once() {
        if (!done.load()) {
          s->post_response(problem(bhttp::status::internal_server_error, "about:blank",
                                   "Internal Server Error", "the request handler gave no answer"));
        }
      }
    };
    auto once = std::make_shared<Once>();
    once->s = shared_from_this();
    try {
      shared_->router->dispatch(std::move(req), [once](Response r) { (*once)(std::move(r)); });
    } catch (const std::exception& e) {
      // No exception crosses this network callback.
      ULOG_ERROR("http: handler threw: {}", e.what());
      (*once)(problem(bhttp::status::internal_server_error, "about:blank", "Internal Server Error",
                      "the request handler failed"));
    }
  }

  // Answers an error we found while reading, then closes the connection.
  void refuse(bhttp::status status, std::string detail) {
    keep_alive_ = false;
    drain_ = status == bhttp::status::payload_too_large;
    if (version_ == 0) version_ = 11;
    write(problem(status, "about:blank", std::string(bhttp::obsolete_reason(status)), detail));
  }

  void write(Response r) {
    if (phase_ == Phase::kDone) return;
    phase_ = Phase::kWriting;
    auto& res = response_.emplace(r.status, version_ ? version_ : 11);
    res.set(bhttp::field::server, server_header());
    // No body, no media type (a 201 with only a Location is not "application/json").
    if (!r.content_type.empty() && !r.body.empty()) {
      res.set(bhttp::field::content_type, r.content_type);
    }
    for (auto& [name, value] : r.headers) res.insert(name, value);
    res.body() = std::move(r.body);
    res.keep_alive(keep_alive_ && !stopping_);
    res.prepare_payload();
    stream_.expires_after(std::chrono::seconds(shared_->options.idle_timeout_s));
    bhttp::async_write(stream_, res, [self = shared_from_this()](error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    bool keep = response_ && response_->keep_alive();
    response_.reset();
    if (ec) {
      close_now();
      return;
    }
    if (!keep) {
      graceful_close();
      return;
    }
    do_read();
  }

  void graceful_close() {
    phase_ = Phase::kDone;
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!drain_) {
      close_now();
      return;
    }
    stream_.expires_after(kDrainTimeout);
    drain_buf_.resize(16 * 1024);
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kDrainLimit) {
                                self->close_now();
                                return;
                              }
                              self->do_drain();
                            });
  }

  void close_now() {
    phase_ = Phase::kDone;
    error_code ignored;
    stream_.socket().close(ignored);
  }

  void upgrade(bhttp::request<bhttp::string_body> req) {
    std::string proto = pick_subprotocol(req[bhttp::field::sec_websocket_protocol]);
    if (proto.empty()) {
      phase_ = Phase::kHandling;
      write(problem(bhttp::status::bad_request, "about:blank", "Bad Request",
                    "MQTT over WebSocket needs Sec-WebSocket-Protocol: mqtt"));
      return;
    }
    phase_ = Phase::kDone;
    stream_.expires_never();
    auto ws = std::make_shared<WsTransport::Stream>(stream_.release_socket());
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(shared_->options.idle_timeout_s);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws->set_option(t);
    ws->set_option(websocket::stream_base::decorator([proto](websocket::response_type& res) {
      res.set(bhttp::field::sec_websocket_protocol, proto);
      res.set(bhttp::field::server, server_header());
    }));
    auto held = std::make_shared<bhttp::request<bhttp::string_body>>(std::move(req));
    ws->async_accept(*held, [ws, held, sink = shared_->ws_sink, ip = remote_ip_](error_code ec) {
      if (ec) {
        ULOG_DEBUG("http: websocket handshake with {} failed: {}", ip, ec.message());
        return;
      }
      sink(std::make_unique<WsTransport>(std::move(*ws)));
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::shared_ptr<detail::ServerShared> shared_;
  std::string remote_ip_;
  uint64_t id_ = 0;
  Phase phase_ = Phase::kReading;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool stopping_ = false;
  bool drain_ = false;
  std::vector<char> drain_buf_;
  size_t drained_ = 0;
};

namespace {

void do_accept(std::shared_ptr<detail::ServerShared> sh) {
  auto& acceptor = *sh->acceptor;
  acceptor.async_accept(asio::make_strand(sh->next_context()), [sh](error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    {
      std::lock_guard lock(sh->mu);
      if (sh->stopping) return;
    }
    if (ec) {
      // Usually out of file descriptors: back off instead of spinning.
      ULOG_WARN("http: accept failed: {}", ec.message());
      sh->retry_timer->expires_after(std::chrono::milliseconds(100));
      sh->retry_timer->async_wait([sh](error_code tec) {
        if (!tec) do_accept(sh);
      });
      return;
    }
    auto session = std::make_shared<Session>(std::move(s), sh);
    asio::post(session->executor(), [session, sh] {
      if (uint64_t id = sh->enroll(session)) session->start(id);
    });
    do_accept(sh);
  });
}

}  // namespace

HttpServer::HttpServer(ContextPicker next_context, HttpOptions options,
                       std::shared_ptr<const Router> router, net::TransportSink ws_sink)
    : shared_(std::make_shared<detail::ServerShared>()) {
  shared_->next_context = std::move(next_context);
  shared_->options = std::move(options);
  shared_->router = std::move(router);
  shared_->ws_sink = std::move(ws_sink);
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  const auto& l = shared_->options.listener;
  const std::string where = l.host + ":" + std::to_string(l.port);
  error_code ec;
  auto addr = asio::ip::make_address(l.host, ec);
  if (ec) return InvalidArgument("http listener " + where + ": host is not an IP address");

  auto& ioc = shared_->next_context();
  auto acceptor = std::make_unique<tcp::acceptor>(ioc);
  tcp::endpoint ep(addr, l.port);
  if (acceptor->open(ep.protocol(), ec); ec) {
    return IoError("http listener " + where + ": cannot open socket: " + ec.message());
  }
  if (acceptor->set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return IoError("http listener " + where + ": " + ec.message());
  }
  if (acceptor->bind(ep, ec); ec) {
    return IoError("http listener " + where + ": cannot bind: " + ec.message());
  }
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return IoError("http listener " + where + ": cannot listen: " + ec.message());
  }
  port_ = acceptor->local_endpoint().port();
  shared_->retry_timer = std::make_unique<asio::steady_timer>(acceptor->get_executor());
  shared_->acceptor = std::move(acceptor);
  ULOG_INFO("http: listening on {}:{}", l.host, port_);
  asio::post(shared_->acceptor->get_executor(), [sh = shared_] { do_accept(sh); });
  return Status::Ok();
}

void HttpServer::stop() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->stopping) return;
    shared_->stopping = true;
    for (auto& [id, weak] : shared_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  if (shared_->acceptor) {
    asio::post(shared_->acceptor->get_executor(), [sh = shared_] {
      error_code ignored;
      sh->acceptor->close(ignored);
      sh->retry_timer->cancel();
    });
  }
  for (auto& s : live) {
    asio::post(s->executor(), [s] { s->shutdown(); });
  }
}

}  // namespace urbis::http
