// Server-side TLS settings, built once from TlsOptions and shared by every TLS
// connection of a listener.
//
// Policy: TLS 1.2 or newer ("1.3": 1.3 only), OpenSSL's default cipher list
// (no legacy protocols, no compression, no renegotiation). With a CA file the
// server asks for a client certificate and verifies it against that CA; with
// require_client_cert a client that sends none is refused during the handshake.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "common/status.hpp"
#include "config/options.hpp"

namespace urbis::net {

// Fails with a message naming the offending option and file (missing, unreadable,
// not PEM, key not matching the certificate), or an unknown min_version.
// Also fails when require_client_cert is set without a ca_file.
[[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const TlsOptions& options);

}  // namespace urbis::net
