#include "net/tls_context.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fstream>

namespace urbis::net {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason for the last failure, e.g. "no start line" for a non-PEM file.
std::string reason(const boost::system::error_code& ec) {
  std::string r = ec.message();
  ERR_clear_error();
  return r;
}

Status check_readable(std::string_view option, const std::string& path) {
  if (path.empty()) return InvalidArgument(std::string(option) + " is empty");
  std::ifstream f(path);
  if (!f) return IoError(std::string(option) + " '" + path + "' cannot be read");
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls_context(const TlsOptions& o) {
  int min_version = 0;
  if (o.min_version == "1.2") {
    min_version = TLS1_2_VERSION;
  } else if (o.min_version == "1.3") {
    min_version = TLS1_3_VERSION;
  } else {
    return InvalidArgument("tls min_version '" + o.min_version + "' is not \"1.2\" or \"1.3\"");
  }
  if (o.require_client_cert && o.ca_file.empty()) {
    return InvalidArgument("tls require_client_cert needs ca_file to verify client certificates");
  }
  if (Status s = check_readable("tls cert_file", o.cert_file); !s.ok()) return s;
  if (Status s = check_readable("tls key_file", o.key_file); !s.ok()) return s;
  if (!o.ca_file.empty()) {
    if (Status s = check_readable("tls ca_file", o.ca_file); !s.ok()) return s;
  }

  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(native, min_version) != 1) {
    return Internal("tls: cannot set minimum protocol version");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);

  boost::system::error_code ec;
  if (ctx->use_certificate_chain_file(o.cert_file, ec); ec) {
    return InvalidArgument("tls cert_file '" + o.cert_file + "': " + reason(ec));
  }
  if (ctx->use_private_key_file(o.key_file, ssl::context::pem, ec); ec) {
    return InvalidArgument("tls key_file '" + o.key_file + "': " + reason(ec));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return InvalidArgument("tls key_file '" + o.key_file + "' does not match cert_file '" +
                           o.cert_file + "'");
  }

  if (!o.ca_file.empty()) {
    if (ctx->load_verify_file(o.ca_file, ec); ec) {
      return InvalidArgument("tls ca_file '" + o.ca_file + "': " + reason(ec));
    }
    // Tell clients which CAs we accept, so one holding several certificates can
    // pick the right one.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    ERR_clear_error();
    ssl::verify_mode mode = ssl::verify_peer;
    if (o.require_client_cert) mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode);
    // Session resumption with client verification needs a context id, or
    // OpenSSL fails resumed handshakes.
    static constexpr unsigned char kSid[] = "urbis-mqtt";
    SSL_CTX_set_session_id_context(native, kSid, sizeof(kSid) - 1);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

// ---------------------------------------------------------------- client side

Status check_client_tls_options(const ClientTlsOptions& o) {
  if (!o.ca_file.empty() && !std::ifstream(o.ca_file).good()) {
    return InvalidArgument("ca_file '" + o.ca_file + "': cannot be read");
  }
  return Status::Ok();
}

Result<std::shared_ptr<ssl::context>> make_client_tls_context(const ClientTlsOptions& o) {
  if (Status s = check_client_tls_options(o); !s.ok()) return s;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return Internal("tls: cannot set minimum protocol version");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  if (ctx->set_default_verify_paths(ec); ec) {
    return IoError("system CA paths: " + reason(ec));
  }
  if (!o.ca_file.empty()) {
    if (ctx->load_verify_file(o.ca_file, ec); ec) {
      return InvalidArgument("ca_file '" + o.ca_file + "': " + reason(ec));
    }
  }
  ctx->set_verify_mode(o.verify ? ssl::verify_peer : ssl::verify_none);
  return ctx;
}

Result<std::shared_ptr<ssl::context>> LazyClientTlsContext::get() {
  if (ctx_) return ctx_;
  auto made = make_client_tls_context(options_);
  if (!made.ok()) return made.status();
  ctx_ = std::move(*made);
  return ctx_;
}

Status prepare_client_handshake(SSL* ssl, const std::string& host) {
  boost::system::error_code addr_ec;
  boost::asio::ip::make_address(host, addr_ec);
  const bool ip_literal = !addr_ec;
  // RFC 6066: SNI carries host names only, never an address literal.
  if (!ip_literal && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    ERR_clear_error();
    return InvalidArgument("TLS: cannot send server name '" + host + "'");
  }
  if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0) return Status::Ok();
  // The check is part of OpenSSL's chain verification, so a mismatch fails
  // the handshake with its own verify result ("hostname mismatch").
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  const int ok = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                            : SSL_set1_host(ssl, host.c_str());
  if (ok != 1) {
    ERR_clear_error();
    return InvalidArgument("TLS: cannot check the certificate against '" + host + "'");
  }
  if (!ip_literal) X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return Status::Ok();
}

std::string describe_client_handshake_error(SSL* ssl, const boost::system::error_code& ec) {
  const long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK && ec.category() == boost::asio::error::get_ssl_category()) {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  if (ec == boost::asio::ssl::error::stream_truncated) return "connection closed during the TLS handshake";
  return ec.message();
}

}  // namespace urbis::net
