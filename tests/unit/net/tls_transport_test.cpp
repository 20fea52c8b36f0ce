// TLS for MQTT: context errors name the file; a real handshake over 127.0.0.1
// with throwaway certificates made by the `openssl` command at run time.
#include "net/tls_transport.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "net/io_pool.hpp"
#include "net/tls_context.hpp"

namespace urbis::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A CA, a server certificate and a client certificate (CN "sensor-42") in a
// temporary directory, removed at the end of the test suite.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/urbis-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    ok_ = run("openssl req -x509 " + key + " -keyout ca.key -out ca.crt -subj /CN=UrbisTestCA -days 2") &&
          run("openssl req " + key + " -keyout server.key -out server.csr -subj /CN=127.0.0.1") &&
          run("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2") &&
          run("openssl req " + key + " -keyout client.key -out client.csr -subj /CN=sensor-42") &&
          run("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2") &&
          // A second, unrelated CA and a client certificate it signed.
          run("openssl req -x509 " + key + " -keyout other.key -out other.crt -subj /CN=OtherCA -days 2") &&
          run("openssl req " + key + " -keyout rogue.key -out rogue.csr -subj /CN=rogue") &&
          run("openssl x509 -req -in rogue.csr -CA other.crt -CAkey other.key -CAcreateserial -out rogue.crt -days 2");
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  bool run(const std::string& cmd) {
    return std::system(("cd " + dir_ + " && " + cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  std::string dir_;
  bool ok_ = false;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_->ok()) << "openssl could not make test certificates"; }

  TlsOptions server_options(bool with_ca, bool require) const {
    TlsOptions o;
    o.enabled = true;
    o.cert_file = pki_->path("server.crt");
    o.key_file = pki_->path("server.key");
    if (with_ca) o.ca_file = pki_->path("ca.crt");
    o.require_client_cert = require;
    return o;
  }

  // A client context trusting the test CA, optionally presenting a certificate.
  ssl::context client_context(const std::string& cert = "") const {
    ssl::context c(ssl::context::tls_client);
    c.load_verify_file(pki_->path("ca.crt"));
    c.set_verify_mode(ssl::verify_peer);
    if (!cert.empty()) {
      c.use_certificate_file(pki_->path(cert + ".crt"), ssl::context::pem);
      c.use_private_key_file(pki_->path(cert + ".key"), ssl::context::pem);
    }
    return c;
  }

  static Pki* pki_;
};
Pki* TlsTest::pki_ = nullptr;

// The TLS listener on a one-thread IoPool, collecting what reaches the sink.
class TlsRig {
 public:
  explicit TlsRig(std::shared_ptr<ssl::context> ctx) : pool_(1) {
    listener_ = std::make_unique<TlsListener>(pool_, std::move(ctx), [this](std::unique_ptr<Transport> t) {
      std::lock_guard lock(mu_);
      got_.push_back(std::move(t));
      if (waiting_) {
        waiting_->set_value();
        waiting_.reset();
      }
    });
    pool_.start();
  }
  ~TlsRig() {
    listener_->stop();
    std::promise<void> done;
    asio::post(pool_.context(0), [&] {
      std::lock_guard lock(mu_);
      got_.clear();  // transports are destroyed on their own thread
      done.set_value();
    });
    done.get_future().wait();
    pool_.stop_and_join();
  }
  TlsListener& listener() { return *listener_; }
  Transport* wait_transport() {
    std::future<void> f;
    {
      std::lock_guard lock(mu_);
      if (!got_.empty()) return got_.front().get();
      waiting_.emplace();
      f = waiting_->get_future();
    }
    if (f.wait_for(10s) != std::future_status::ready) return nullptr;
    std::lock_guard lock(mu_);
    return got_.front().get();
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  IoPool pool_;
  std::unique_ptr<TlsListener> listener_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Transport>> got_;
  std::optional<std::promise<void>> waiting_;
};

// Runs `fn` on the transport's executor and waits for its result.
template <typename T>
T on_executor(Transport* t, std::function<void(std::promise<T>&)> fn) {
  std::promise<T> p;
  auto f = p.get_future();
  asio::post(t->executor(), [&] { fn(p); });
  EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
  return f.get();
}

TEST_F(TlsTest, ContextErrorsNameTheFile) {
  TlsOptions o = server_options(true, true);
  o.cert_file = pki_->path("missing.crt");
  auto r = make_server_tls_context(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.crt"), std::string::npos) << r.status().message();

  o = server_options(false, false);
  o.key_file = pki_->path("client.key");  // readable, but not the server certificate's key
  r = make_server_tls_context(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("client.key"), std::string::npos) << r.status().message();

  o = server_options(true, false);
  o.ca_file = pki_->path("ca.srl");  // not PEM
  r = make_server_tls_context(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ca.srl"), std::string::npos) << r.status().message();

  o = server_options(false, true);  // requires client certs but has no CA to check them
  EXPECT_FALSE(make_server_tls_context(o).ok());

  o = server_options(false, false);
  o.min_version = "1.1";
  r = make_server_tls_context(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1.1"), std::string::npos);

  EXPECT_TRUE(make_server_tls_context(server_options(true, true)).ok());
}

TEST_F(TlsTest, BytesFlowAndClientCommonNameIsReported) {
  auto ctx = make_server_tls_context(server_options(true, true));
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  TlsRig rig(*ctx);
  ASSERT_TRUE(rig.listener().start("127.0.0.1", 0).ok());

  asio::io_context ioc;
  ssl::context cctx = client_context("client");
  ssl::stream<tcp::socket> client(ioc, cctx);
  client.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), rig.listener().port()));
  client.handshake(ssl::stream_base::client);

  Transport* t = rig.wait_transport();
  ASSERT_NE(t, nullptr) << "sink never got a transport";
  EXPECT_STREQ(t->kind(), "tls");
  EXPECT_EQ(t->client_certificate_cn(), "sensor-42");
  EXPECT_EQ(t->remote_ip(), "127.0.0.1");

  asio::write(client, asio::buffer(std::string("\xc0\x00", 2)));  // PINGREQ
  std::string in = on_executor<std::string>(t, [t](std::promise<std::string>& p) {
    t->async_read([&p](const std::error_code& ec, std::span<const uint8_t> d) {
      p.set_value(ec ? "error" : std::string(d.begin(), d.end()));
    });
  });
  EXPECT_EQ(in, std::string("\xc0\x00", 2));

  std::error_code wec = on_executor<std::error_code>(t, [t](std::promise<std::error_code>& p) {
    t->async_write(std::string("\xd0\x00", 2), [&p](const std::error_code& ec) { p.set_value(ec); });
  });
  EXPECT_FALSE(wec);
  char out[2];
  asio::read(client, asio::buffer(out));
  EXPECT_EQ(std::string(out, 2), std::string("\xd0\x00", 2));
}

TEST_F(TlsTest, NoClientCertificateWhenNotAskedGivesEmptyCommonName) {
  auto ctx = make_server_tls_context(server_options(false, false));
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  TlsRig rig(*ctx);
  ASSERT_TRUE(rig.listener().start("127.0.0.1", 0).ok());
  asio::io_context ioc;
  ssl::context cctx = client_context();
  ssl::stream<tcp::socket> client(ioc, cctx);
  client.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), rig.listener().port()));
  client.handshake(ssl::stream_base::client);
  Transport* t = rig.wait_transport();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->client_certificate_cn(), "");
}

// The client's view of a refused mutual-TLS connection: with TLS 1.3 the client
// may finish its handshake before the server checks the certificate, so the
// refusal can show up on the first read instead.
// Gives up after 5 s, so a server that wrongly keeps the connection fails the
// test instead of hanging it.
bool refused(asio::io_context& ioc, ssl::stream<tcp::socket>& client) {
  std::optional<bool> result;
  char byte;
  client.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& ec) {
    if (ec) {
      result = true;
      return;
    }
    asio::async_read(client, asio::buffer(&byte, 1),
                     [&](const boost::system::error_code& rec, size_t) { result = static_cast<bool>(rec); });
  });
  ioc.run_for(5s);
  return result.value_or(false);
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefusedWhenRequired) {
  auto ctx = make_server_tls_context(server_options(true, true));
  ASSERT_TRUE(ctx.ok());
  TlsRig rig(*ctx);
  ASSERT_TRUE(rig.listener().start("127.0.0.1", 0).ok());

  for (const std::string cert : {"", "rogue"}) {
    SCOPED_TRACE(cert.empty() ? "no certificate" : "certificate from another CA");
    asio::io_context ioc;
    ssl::context cctx = client_context(cert);
    ssl::stream<tcp::socket> client(ioc, cctx);
    client.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), rig.listener().port()));
    EXPECT_TRUE(refused(ioc, client));
  }
  // A good client still gets in afterwards, and is the only one that reached the sink.
  asio::io_context ioc;
  ssl::context cctx = client_context("client");
  ssl::stream<tcp::socket> client(ioc, cctx);
  client.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), rig.listener().port()));
  client.handshake(ssl::stream_base::client);
  Transport* t = rig.wait_transport();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->client_certificate_cn(), "sensor-42");
  EXPECT_EQ(rig.count(), 1u);
}

TEST_F(TlsTest, SilentClientIsDroppedAfterHandshakeTimeout) {
  auto ctx = make_server_tls_context(server_options(false, false));
  ASSERT_TRUE(ctx.ok());
  IoPool pool(1);
  size_t sunk = 0;
  TlsListener listener(pool, *ctx, [&](std::unique_ptr<Transport>) { ++sunk; }, 100ms);
  pool.start();
  ASSERT_TRUE(listener.start("127.0.0.1", 0).ok());
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), listener.port()));
  // Say nothing: the server must hang up (checked for 5 s).
  char byte;
  std::optional<boost::system::error_code> ec;
  s.async_read_some(asio::buffer(&byte, 1), [&](const boost::system::error_code& e, size_t) { ec = e; });
  ioc.run_for(5s);
  ASSERT_TRUE(ec.has_value()) << "server kept a silent connection open";
  EXPECT_TRUE(*ec);
  listener.stop();
  pool.stop_and_join();
  EXPECT_EQ(sunk, 0u);
}

}  // namespace
}  // namespace urbis::net
