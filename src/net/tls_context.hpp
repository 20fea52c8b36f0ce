// TLS contexts, built once and shared by every connection made from them.
//
// Server side (the MQTT TLS listener), from TlsOptions. Policy: TLS 1.2 or
// newer ("1.3": 1.3 only), OpenSSL's default cipher list (no legacy protocols,
// no compression, no renegotiation). With a CA file the server asks for a
// client certificate and verifies it against that CA; with require_client_cert
// a client that sends none is refused during the handshake.
//
// Client side (connections Urbis opens: https:// and mqtts:// notification
// endpoints, mqtts:// upstream brokers), from ClientTlsOptions. Policy: TLS
// 1.2 or newer; the server is trusted when its chain ends at a system CA
// (OpenSSL's default paths, which honour SSL_CERT_FILE / SSL_CERT_DIR) or at
// one in ca_file, and when its certificate names the host we connected to
// (DNS name, or IP address for an IP literal). SNI is sent for host names.
// Verification is on unless a test turns it off.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include <openssl/types.h>

#include "common/status.hpp"
#include "config/options.hpp"

namespace urbis::net {

// Fails with a message naming the offending option and file (missing, unreadable,
// not PEM, key not matching the certificate), or an unknown min_version.
// Also fails when require_client_cert is set without a ca_file.
[[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const TlsOptions& options);

struct ClientTlsOptions {
  // Extra PEM CA file trusted on top of the system CAs; empty: system CAs only.
  std::string ca_file;
  // Verify the server (chain and host name). Only tests turn this off.
  bool verify = true;
};

// Cheap check done at start-up: ca_file, when set, can be read. Does not load
// anything (see LazyClientTlsContext). The message names ca_file.
[[nodiscard]] Status check_client_tls_options(const ClientTlsOptions& options);

// Builds a client context (system CA paths + ca_file). Fails with a message
// naming ca_file when it cannot be read or holds no PEM certificate.
[[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> make_client_tls_context(
    const ClientTlsOptions& options);

// The client context built on first use and kept: the system CA bundle costs
// about a megabyte of memory, which a node that never opens a TLS connection
// should not pay. A failed build is retried on the next get() (the file may
// have been fixed). Not thread-safe: use it from one thread or strand.
class LazyClientTlsContext {
 public:
  explicit LazyClientTlsContext(ClientTlsOptions options) : options_(std::move(options)) {}
  const ClientTlsOptions& options() const { return options_; }
  [[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> get();

 private:
  ClientTlsOptions options_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

// Prepares one client connection, before its handshake, for `host` (a DNS
// name or an IP literal without brackets): SNI for a name, and, when the
// context verifies the peer, the name or address the certificate must carry
// (checked by OpenSSL during the handshake, so a mismatch fails it).
[[nodiscard]] Status prepare_client_handshake(SSL* ssl, const std::string& host);

// Words for a failed client handshake, the same for every transport, e.g.
// "certificate verify failed: unable to get local issuer certificate" or
// "certificate verify failed: hostname mismatch" when the server was not
// trusted, otherwise the error's own message.
std::string describe_client_handshake_error(SSL* ssl, const boost::system::error_code& ec);

}  // namespace urbis::net
