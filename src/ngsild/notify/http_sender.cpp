#include "ngsild/notify/http_sender.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <optional>
#include <utility>

#include "common/log.hpp"

namespace urbis::ngsild::notify {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// One message for the report, the same words for the same cause whatever the
// stage, so a subscription's lastFailure reads well.
std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::connection_reset) return "connection reset";
  if (ec == http::error::end_of_stream || ec == asio::error::eof) return "connection closed by the receiver";
  if (ec == asio::error::operation_aborted) return "stopped";
  return ec.message();
}

// The receiver closed a kept-alive connection before we used it again.
bool stale(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}
}  // namespace

struct HttpSender::Conn {
  std::optional<beast::tcp_stream> tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool open = false;
  std::string setup_error;  // https:// without a TLS context: every attempt fails with this

  beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *tcp; }
  void shut() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    open = false;
  }
};

struct HttpSender::Job {
  http::request<http::string_body> req;
  SendDone done;
};

struct HttpSender::Host {
  std::string key, host;
  uint16_t port = 0;
  bool tls = false;
  std::vector<std::shared_ptr<Conn>> idle;
  size_t active = 0;
  std::deque<std::shared_ptr<Job>> waiting;
};

namespace {

template <typename Stream>
asio::awaitable<std::pair<beast::error_code, bool>> exchange_on(Stream& s, beast::flat_buffer& buffer,
                                                                http::request<http::string_body>& req,
                                                                http::response<http::string_body>& res) {
  // Returns the error and whether any response byte was read (a stale
  // connection fails before that).
  auto [wec, wn] = co_await http::async_write(s, req, kAwait);
  if (wec) co_return std::pair{wec, false};
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  auto [rec, rn] = co_await http::async_read(s, buffer, parser, kAwait);
  if (rec) co_return std::pair{rec, parser.got_some()};
  res = parser.release();
  co_return std::pair{beast::error_code{}, true};
}

}  // namespace

HttpSender::HttpSender(Strand strand, const NotifierOptions& options, net::LazyClientTlsContext& tls)
    : strand_(strand), options_(options), tls_(tls) {}
HttpSender::~HttpSender() = default;

HttpSender::Host& HttpSender::host_for(const Target& t) {
  const bool tls = t.kind == Target::Kind::kHttps;
  std::string key = (tls ? "https://" : "http://") + t.host + ":" + std::to_string(t.port);
  auto it = hosts_.find(key);
  if (it != hosts_.end()) return *it->second;
  auto h = std::make_unique<Host>();
  h->key = key;
  h->host = t.host;
  h->port = t.port;
  h->tls = tls;
  return *hosts_.emplace(key, std::move(h)).first->second;
}

std::shared_ptr<HttpSender::Conn> HttpSender::make_conn(const Host& h) {
  auto c = std::make_shared<Conn>();
  if (h.tls) {
    // Built on the first https endpoint (see LazyClientTlsContext). A ca_file
    // that is not PEM shows as failed https deliveries.
    auto ctx = tls_.get();
    if (ctx.ok()) {
      c->tls.emplace(strand_, **ctx);
    } else {
      c->tcp.emplace(strand_);
      c->setup_error = "notifier TLS: " + ctx.status().message();
    }
  } else {
    c->tcp.emplace(strand_);
  }
  all_.insert(c);
  return c;
}

void HttpSender::send(const Target& t, const Delivery& d, SendDone done) {
  if (closed_) {
    asio::post(strand_, [done = std::move(done)] { done("stopped"); });
    return;
  }
  auto job = std::make_shared<Job>();
  http::request<http::string_body>& req = job->req;
  req.method(http::verb::post);
  req.target(t.target);
  req.version(11);
  const bool default_port = (t.kind == Target::Kind::kHttp && t.port == 80) ||
                            (t.kind == Target::Kind::kHttps && t.port == 443);
  const bool v6 = t.host.find(':') != std::string::npos;
  std::string host_header = v6 ? "[" + t.host + "]" : t.host;
  if (!default_port) host_header += ":" + std::to_string(t.port);
  req.set(http::field::host, host_header);
  req.set(http::field::content_type, d.endpoint.accept.empty() ? "application/json" : d.endpoint.accept);
  req.set(http::field::user_agent, "urbis/" URBIS_VERSION);
  if (!d.link_header.empty() && d.endpoint.accept != "application/ld+json") req.set(http::field::link, d.link_header);
  if (!d.tenant.empty()) req.set("NGSILD-Tenant", d.tenant);
  for (const auto& [k, v] : d.endpoint.receiver_info) req.set(k, v);
  req.keep_alive(true);
  req.body() = d.body;
  req.prepare_payload();
  job->done = std::move(done);

  Host& h = host_for(t);
  if (!h.idle.empty()) {
    auto c = std::move(h.idle.back());
    h.idle.pop_back();
    run(h, std::move(c), std::move(job));
  } else if (h.active < std::max<size_t>(1, options_.max_connections_per_host)) {
    run(h, make_conn(h), std::move(job));
  } else {
    h.waiting.push_back(std::move(job));
  }
}

void HttpSender::run(Host& h, std::shared_ptr<Conn> c, std::shared_ptr<Job> job) {
  ++h.active;
  Host* hp = &h;  // hosts are never erased while the sender lives
  auto attempt = [this, hp, c, job]() -> asio::awaitable<std::pair<std::string, bool>> {
    const auto timeout = options_.timeout;
    if (!c->setup_error.empty()) co_return std::pair{c->setup_error, false};
    for (int round = 0; round < 2; ++round) {
      const bool reused = c->open;
      if (!c->open) {
        tcp::resolver resolver(strand_);
        auto [rec, endpoints] = co_await resolver.async_resolve(hp->host, std::to_string(hp->port), kAwait);
        if (rec) co_return std::pair{"cannot resolve '" + hp->host + "': " + rec.message(), false};
        if (closed_) co_return std::pair{std::string("stopped"), false};
        c->lowest().expires_after(timeout);
        auto [cec, ep] = co_await c->lowest().async_connect(endpoints, kAwait);
        if (cec) {
          c->shut();
          co_return std::pair{describe(cec), false};
        }
        beast::error_code ignored;
        c->lowest().socket().set_option(tcp::no_delay(true), ignored);
        ++opened_;
        if (c->tls) {
          if (Status st = net::prepare_client_handshake(c->tls->native_handle(), hp->host); !st.ok()) {
            c->shut();
            co_return std::pair{st.message(), false};
          }
          auto [hec] = co_await c->tls->async_handshake(asio::ssl::stream_base::client, kAwait);
          if (hec) {
            c->shut();
            // A timeout or reset reads as for plain HTTP; a TLS failure names its cause.
            const bool tls_error = hec.category() == asio::error::get_ssl_category();
            co_return std::pair{"TLS handshake: " + (tls_error ? net::describe_client_handshake_error(
                                                                     c->tls->native_handle(), hec)
                                                               : describe(hec)),
                                false};
          }
        }
        c->open = true;
        c->buffer.clear();
      }
      c->lowest().expires_after(timeout);
      http::response<http::string_body> res;
      std::pair<beast::error_code, bool> r =
          c->tls ? co_await exchange_on(*c->tls, c->buffer, job->req, res)
                 : co_await exchange_on(*c->tcp, c->buffer, job->req, res);
      if (r.first) {
        c->shut();
        if (reused && !r.second && stale(r.first) && !closed_) continue;
        co_return std::pair{describe(r.first), false};
      }
      c->lowest().expires_never();
      const bool keep = res.keep_alive() && !closed_;
      if (!keep) c->shut();
      const unsigned status = res.result_int();
      if (status >= 200 && status < 300) co_return std::pair{std::string(), keep};
      co_return std::pair{"HTTP " + std::to_string(status), keep};
    }
    co_return std::pair{std::string("connection closed by the receiver"), false};
  };
  asio::co_spawn(strand_, std::move(attempt),
                 [this, hp, c, job](std::exception_ptr ep, std::pair<std::string, bool> result) {
                   std::string error = std::move(result.first);
                   bool reusable = result.second;
                   if (ep) {
                     // Nothing in the attempt throws by design (as_tuple everywhere);
                     // still, an exception must not escape into the io_context.
                     error = "internal error";
                     reusable = false;
                     try {
                       std::rethrow_exception(ep);
                     } catch (const std::exception& e) {
                       error = std::string("internal error: ") + e.what();
                     } catch (...) {
                     }
                   }
                   release(*hp, c, reusable);
                   job->done(std::move(error));
                 });
}

void HttpSender::release(Host& h, std::shared_ptr<Conn> c, bool reusable) {
  --h.active;
  if (closed_) {
    all_.erase(c);
    return;
  }
  if (!reusable || !c->open) {
    all_.erase(c);
    c.reset();
  }
  if (!h.waiting.empty()) {
    auto job = std::move(h.waiting.front());
    h.waiting.pop_front();
    run(h, c ? std::move(c) : make_conn(h), std::move(job));
    return;
  }
  if (!c) return;
  if (h.idle.size() < options_.max_idle_per_host) {
    h.idle.push_back(std::move(c));
  } else {
    c->shut();
    all_.erase(c);
  }
}

void HttpSender::close() {
  closed_ = true;
  for (const auto& c : all_) c->shut();
  for (auto& [key, h] : hosts_) {
    h->idle.clear();
    for (auto& job : h->waiting) {
      asio::post(strand_, [job] { job->done("stopped"); });
    }
    h->waiting.clear();
  }
}

}  // namespace urbis::ngsild::notify
