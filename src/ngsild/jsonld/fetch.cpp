#include "ngsild/jsonld/fetch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <atomic>
#include <memory>
#include <variant>

namespace urbis::ngsild {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

Status fail(std::string_view url, std::string_view why) {
  return Status(Code::kUnavailable, "LdContextNotAvailable: " + std::string(url) + ": " + std::string(why));
}

// One hop's outcome: the body, a redirect target, or a failure.
struct Hop {
  std::variant<std::string, Status> body_or_error;
  std::string location;  // non-empty for a redirect
};

bool is_redirect(unsigned s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

template <typename Stream>
asio::awaitable<Hop> exchange(Stream& stream, const std::string& url, const std::string& host_header,
                              const std::string& target, size_t max_bytes) {
  Hop hop;
  boost::system::error_code ec;
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, host_header);
  req.set(bhttp::field::user_agent, "urbis");
  req.set(bhttp::field::accept, "application/ld+json, application/json");
  req.set(bhttp::field::connection, "close");
  co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    hop.body_or_error = fail(url, ec == beast::error::timeout ? "timed out" : "sending the request: " + ec.message());
    co_return hop;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_bytes);
  co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == bhttp::error::body_limit) {
    hop.body_or_error = fail(url, "document larger than " + std::to_string(max_bytes) + " bytes");
    co_return hop;
  }
  if (ec) {
    hop.body_or_error = fail(url, ec == beast::error::timeout ? "timed out" : "reading the response: " + ec.message());
    co_return hop;
  }
  auto& res = parser.get();
  unsigned status = res.result_int();
  if (is_redirect(status)) {
    auto loc = res[bhttp::field::location];
    if (loc.empty()) {
      hop.body_or_error = fail(url, "redirect " + std::to_string(status) + " without Location");
    } else {
      hop.location = std::string(loc);
    }
    co_return hop;
  }
  if (status != 200) {
    hop.body_or_error = fail(url, "HTTP status " + std::to_string(status));
    co_return hop;
  }
  hop.body_or_error = std::move(res.body());
  co_return hop;
}

asio::awaitable<Hop> fetch_once(asio::ssl::context& tls, std::string url, std::chrono::steady_clock::time_point deadline,
                                size_t max_bytes) {
  Hop hop;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    hop.body_or_error = fail(url, "not a valid URL");
    co_return hop;
  }
  const auto& u = *parsed;
  bool https = u.scheme_id() == boost::urls::scheme::https;
  if (!https && u.scheme_id() != boost::urls::scheme::http) {
    hop.body_or_error = fail(url, "only http and https context URLs can be fetched");
    co_return hop;
  }
  std::string host = u.host_address();
  if (host.empty()) {
    hop.body_or_error = fail(url, "no host");
    co_return hop;
  }
  std::string port = u.has_port() ? std::string(u.port()) : (https ? "443" : "80");
  std::string target = std::string(u.encoded_path());
  if (target.empty()) target = "/";
  if (u.has_query()) target += "?" + std::string(u.encoded_query());
  std::string host_header = std::string(u.encoded_host_and_port());

  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;

  // DNS has no timeout of its own: a timer on the same strand cancels it.
  tcp::resolver resolver(ex);
  asio::steady_timer dns_timer(ex);
  dns_timer.expires_at(deadline);
  dns_timer.async_wait([&resolver](boost::system::error_code e) {
    if (!e) resolver.cancel();
  });
  auto endpoints = co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
  dns_timer.cancel();
  if (ec) {
    hop.body_or_error = fail(url, ec == asio::error::operation_aborted ? "timed out" : "resolving " + host + ": " + ec.message());
    co_return hop;
  }

  beast::tcp_stream tcp_stream(ex);
  tcp_stream.expires_at(deadline);
  co_await tcp_stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    hop.body_or_error = fail(url, ec == beast::error::timeout ? "timed out" : "connecting: " + ec.message());
    co_return hop;
  }
  if (!https) {
    hop = co_await exchange(tcp_stream, url, host_header, target, max_bytes);
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return hop;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), tls);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    hop.body_or_error = fail(url, "TLS: cannot set the server name");
    co_return hop;
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    hop.body_or_error = fail(url, ec == beast::error::timeout ? "timed out" : "TLS handshake: " + ec.message());
    co_return hop;
  }
  hop = co_await exchange(stream, url, host_header, target, max_bytes);
  co_return hop;
}

// Takes everything by value: the coroutine outlives the caller's frame.
asio::awaitable<void> run(asio::ssl::context& tls, std::string url, FetchLimits limits, FetchDone done) {
  const std::string original = url;
  auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  for (int redirects = 0;; ++redirects) {
    Hop hop = co_await fetch_once(tls, url, deadline, limits.max_bytes);
    if (!hop.location.empty()) {
      if (redirects >= FetchLimits::kMaxRedirects) {
        done(fail(original, "more than " + std::to_string(FetchLimits::kMaxRedirects) + " redirects"));
        co_return;
      }
      auto base = boost::urls::parse_uri(url);
      auto ref = boost::urls::parse_uri_reference(hop.location);
      boost::urls::url next;
      if (!base || !ref || !boost::urls::resolve(*base, *ref, next)) {
        done(fail(original, "invalid redirect Location '" + hop.location + "'"));
        co_return;
      }
      url = std::string(next.buffer());
      continue;
    }
    if (auto* st = std::get_if<Status>(&hop.body_or_error)) {
      // Name the URL the client gave, with the hop that failed when it differs.
      if (url != original) {
        done(Status(Code::kUnavailable, "LdContextNotAvailable: " + original + " (redirected): " + st->message()));
      } else {
        done(*st);
      }
      co_return;
    }
    const std::string& body = std::get<std::string>(hop.body_or_error);
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (ec) {
      done(fail(original, "not JSON (" + ec.message() + ")"));
      co_return;
    }
    if (!doc.is_object() || !doc.get_object().contains("@context")) {
      done(fail(original, "not a JSON-LD context document (no top-level \"@context\" member)"));
      co_return;
    }
    done(std::move(doc));
    co_return;
  }
}

}  // namespace

void fetch_context_document(asio::io_context& io, asio::ssl::context& tls, std::string url, FetchLimits limits,
                            FetchDone done) {
  // `done` runs exactly once: from run() normally, or from the completion
  // handler if run() ended with an exception (only bad_alloc and the like:
  // expected failures are error codes), which must not escape into the io thread.
  auto called = std::make_shared<std::atomic<bool>>(false);
  FetchDone once = [called, done = std::move(done)](Result<boost::json::value> r) {
    if (!called->exchange(true)) done(std::move(r));
  };
  // A strand per fetch: the DNS timer and the coroutine never run at once.
  asio::co_spawn(asio::make_strand(io), run(tls, url, limits, once),
                 [once, url](std::exception_ptr e) {
                   if (e) once(fail(url, "internal error while fetching"));
                 });
}

}  // namespace urbis::ngsild
