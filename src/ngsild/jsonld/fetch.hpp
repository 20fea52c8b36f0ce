// One-shot HTTP(S) GET of a JSON-LD context document (Boost.Beast, OpenSSL).
// Private to ngsild/jsonld: the resolver is the only caller.
//
// Follows up to kMaxRedirects redirects (301, 302, 303, 307, 308; Location
// resolved against the current URL), sends Accept: application/ld+json,
// application/json, verifies TLS peers against the system trust store with host
// name checking, and enforces one deadline for the whole fetch (DNS, connect,
// handshake, every redirect and read). The body must be a JSON object with an
// "@context" member. Every failure is kUnavailable "LdContextNotAvailable: <url>: why".
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "common/status.hpp"

namespace urbis::ngsild {

struct FetchLimits {
  std::chrono::milliseconds timeout{5000};
  size_t max_bytes = 1 << 20;
  static constexpr int kMaxRedirects = 3;
};

using FetchDone = std::function<void(Result<boost::json::value>)>;

// Starts the fetch on `io` and returns at once; `done` runs exactly once on an
// `io` thread. `io` and `tls` must outlive the fetch.
void fetch_context_document(boost::asio::io_context& io, boost::asio::ssl::context& tls, std::string url,
                            FetchLimits limits, FetchDone done);

}  // namespace urbis::ngsild
