// End-to-end: a real HttpServer on 127.0.0.1:0, driven by Beast clients.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <future>
#include <thread>

#include "common/clock.hpp"
#include "http/health.hpp"

namespace urbis::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Runs one io_context on a thread: the server's whole "pool".
class ServerRig {
 public:
  explicit ServerRig(HttpOptions opts = default_options(), bool with_ws = true) {
    auto router = std::make_shared<Router>();
    EXPECT_TRUE(register_health_routes(*router, clock_, [] {
                  return boost::json::object{{"connections", 3}};
                }).ok());
    EXPECT_TRUE(register_mqtt_websocket_route(*router).ok());
    EXPECT_TRUE(router->add(bhttp::verb::post, "/echo", "echo the body", [](const Request& r) {
                  Response res;
                  res.content_type = "text/plain";
                  res.body = r.body;
                  return res;
                }).ok());
    net::TransportSink sink;
    if (with_ws) {
      sink = [this](std::unique_ptr<net::Transport> t) { transports_.set_value(std::move(t)); };
    }
    server_ = std::make_unique<HttpServer>([this]() -> asio::io_context& { return ioc_; }, opts,
                                           std::move(router), std::move(sink));
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~ServerRig() {
    server_.reset();
    if (transport_) {  // a transport is used on its own executor only
      std::promise<void> done;
      asio::post(transport_->executor(), [&] {
        transport_.reset();
        done.set_value();
      });
      done.get_future().wait();
    }
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }

  static HttpOptions default_options() {
    HttpOptions o;
    o.listener.host = "127.0.0.1";
    o.listener.port = 0;
    o.max_body_bytes = 1024;
    o.idle_timeout_s = 30;
    return o;
  }

  HttpServer& server() { return *server_; }
  asio::io_context& ioc() { return ioc_; }

  // Waits for the WebSocket sink; keeps the transport alive for the test.
  net::Transport* wait_transport() {
    auto fut = transports_.get_future();
    if (fut.wait_for(10s) != std::future_status::ready) return nullptr;
    transport_ = fut.get();
    return transport_.get();
  }

 private:
  SystemClock clock_;
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{ioc_.get_executor()};
  std::unique_ptr<HttpServer> server_;
  std::promise<std::unique_ptr<net::Transport>> transports_;
  std::unique_ptr<net::Transport> transport_;
  std::thread thread_;
};

bhttp::response<bhttp::string_body> roundtrip(beast::tcp_stream& s, bhttp::verb method,
                                              std::string target, std::string body = {}) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.body() = std::move(body);
  req.prepare_payload();
  bhttp::write(s, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  return res;
}

class Client {
 public:
  explicit Client(uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream_.expires_after(10s);  // a hung server fails the test instead of hanging it
  }
  beast::tcp_stream& stream() { return stream_; }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
};

TEST(HttpServer, HealthAnswersJsonWithVersionUptimeAndAppMembers) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  ASSERT_NE(rig.server().port(), 0);
  Client c(rig.server().port());
  auto res = roundtrip(c.stream(), bhttp::verb::get, "/api/v1/health");
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  auto o = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(o["status"].as_string(), "ok");
  EXPECT_EQ(o["version"].as_string(), URBIS_VERSION);
  EXPECT_GE(o["uptime_s"].as_int64(), 0);
  EXPECT_EQ(o["connections"].as_int64(), 3);
}

TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  Client c(rig.server().port());
  auto first = roundtrip(c.stream(), bhttp::verb::post, "/echo", "one");
  EXPECT_EQ(first.body(), "one");
  EXPECT_TRUE(first.keep_alive());
  auto second = roundtrip(c.stream(), bhttp::verb::post, "/echo", "two");
  EXPECT_EQ(second.body(), "two");
  auto third = roundtrip(c.stream(), bhttp::verb::get, "/api/v1/health");
  EXPECT_EQ(third.result(), bhttp::status::ok);
}

TEST(HttpServer, UnknownPathIs404AndConnectionStaysUsable) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  Client c(rig.server().port());
  auto res = roundtrip(c.stream(), bhttp::verb::get, "/no/such/thing");
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
  EXPECT_EQ(boost::json::parse(res.body()).as_object()["status"].as_int64(), 404);
  auto wrong = roundtrip(c.stream(), bhttp::verb::delete_, "/api/v1/health");
  EXPECT_EQ(wrong.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(wrong[bhttp::field::allow], "GET");
}

TEST(HttpServer, BodyOverLimitIs413ProblemAndCloses) {
  ServerRig rig;  // max_body_bytes = 1024
  ASSERT_TRUE(rig.server().start().ok());
  Client c(rig.server().port());
  auto ok = roundtrip(c.stream(), bhttp::verb::post, "/echo", std::string(1024, 'a'));
  EXPECT_EQ(ok.result(), bhttp::status::ok);
  auto res = roundtrip(c.stream(), bhttp::verb::post, "/echo", std::string(4096, 'b'));
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
  auto o = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(o["status"].as_int64(), 413);
  EXPECT_NE(std::string(o["detail"].as_string()).find("1024"), std::string::npos);
  EXPECT_FALSE(res.keep_alive());
}

TEST(HttpServer, PortInUseIsAClearError) {
  ServerRig first;
  ASSERT_TRUE(first.server().start().ok());
  HttpOptions o = ServerRig::default_options();
  o.listener.port = first.server().port();
  ServerRig second(o);
  Status s = second.server().start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(o.listener.port)), std::string::npos)
      << s.message();
}

TEST(HttpServer, StopClosesIdleKeepAliveConnectionsAndRefusesNewOnes) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  uint16_t port = rig.server().port();
  Client c(port);
  auto res = roundtrip(c.stream(), bhttp::verb::get, "/api/v1/health");
  ASSERT_TRUE(res.keep_alive());
  rig.server().stop();
  // The idle connection is closed by the server: the next read sees EOF.
  char byte;
  beast::error_code ec;
  c.stream().read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  EXPECT_NE(ec, beast::error::timeout) << "idle connection still open after stop()";
  // And nobody accepts any more.
  asio::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code cec;
  for (int i = 0; i < 50 && !cec; ++i) {  // the acceptor closes asynchronously
    s = tcp::socket(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), cec);
    if (!cec) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(cec, asio::error::connection_refused);
}

TEST(HttpServer, PlainGetOnMqttPathExplainsWebSocket) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  Client c(rig.server().port());
  auto res = roundtrip(c.stream(), bhttp::verb::get, "/mqtt");
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
  EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
}

TEST(HttpServer, WebSocketWithoutMqttSubprotocolIs400) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), rig.server().port()));
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1", "/mqtt", ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
}

// Connects a WebSocket MQTT client offering `offer`; returns the accepted subprotocol.
std::string ws_connect(websocket::stream<tcp::socket>& ws, uint16_t port, const std::string& offer) {
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ws.set_option(websocket::stream_base::decorator([offer](websocket::request_type& req) {
    req.set(bhttp::field::sec_websocket_protocol, offer);
  }));
  websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/mqtt");
  return std::string(res[bhttp::field::sec_websocket_protocol]);
}

TEST(HttpServer, WebSocketMqttCarriesBytesBothWays) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  EXPECT_EQ(ws_connect(ws, rig.server().port(), "mqtt"), "mqtt");

  net::Transport* t = rig.wait_transport();
  ASSERT_NE(t, nullptr) << "sink never got a transport";
  EXPECT_STREQ(t->kind(), "ws");
  EXPECT_EQ(t->remote_ip(), "127.0.0.1");

  // Client -> server: two frames that together hold one CONNECT-like byte run.
  // The transport must deliver all bytes in order regardless of frame cuts.
  const std::string part1("\x10\x0c\x00\x04MQ", 6), part2("TT\x04\x02\x00\x3c\x00\x00", 8);
  ws.binary(true);
  ws.write(asio::buffer(part1));
  ws.write(asio::buffer(part2));
  std::promise<std::string> got;
  auto received = std::make_shared<std::string>();
  std::function<void()> read_more;
  read_more = [&, received] {
    t->async_read([&, received](const std::error_code& ec, std::span<const uint8_t> data) {
      if (ec) {
        got.set_value("error: " + ec.message());
        return;
      }
      received->append(reinterpret_cast<const char*>(data.data()), data.size());
      if (received->size() >= part1.size() + part2.size()) {
        got.set_value(*received);
      } else {
        read_more();
      }
    });
  };
  asio::post(t->executor(), read_more);
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get(), part1 + part2);

  // Server -> client: one write arrives as one binary message.
  std::promise<std::error_code> wrote;
  asio::post(t->executor(), [&] {
    t->async_write(std::string("\x20\x02\x00\x00", 4), [&](const std::error_code& ec) { wrote.set_value(ec); });
  });
  beast::flat_buffer buf;
  ws.read(buf);
  EXPECT_TRUE(ws.got_binary());
  EXPECT_EQ(beast::buffers_to_string(buf.data()), std::string("\x20\x02\x00\x00", 4));
  EXPECT_FALSE(wrote.get_future().get());

  // close() from the server ends the client's session with a close frame.
  asio::post(t->executor(), [t] { t->close(); });
  beast::error_code ec;
  buf.clear();
  ws.read(buf, ec);
  EXPECT_EQ(ec, websocket::error::closed);
}

TEST(HttpServer, WebSocketLegacySubprotocolIsEchoed) {
  ServerRig rig;
  ASSERT_TRUE(rig.server().start().ok());
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  EXPECT_EQ(ws_connect(ws, rig.server().port(), "mqttv3.1"), "mqttv3.1");
  EXPECT_NE(rig.wait_transport(), nullptr);
}

}  // namespace
}  // namespace urbis::http
