// The HTTP route table: one source of truth for what the HTTP API answers.
//
// Every route is one entry {method, path pattern, handler, summary}. The server
// asks the router to dispatch each request; `urbis routes` and
// docs/http-routes.md are rendered from the same table by markdown(), and a unit
// test keeps the committed document equal to it.
//
// Path patterns are absolute and split on '/'. A segment is either literal
// ("health") or a parameter in braces ("{id}") that matches one non-empty,
// percent-decoded segment:
//   "/api/v1/health"             matches /api/v1/health only
//   "/ngsi-ld/v1/entities/{id}"  matches /ngsi-ld/v1/entities/urn%3Aa  (id = "urn:a")
// Invalid patterns: "" , "api" (not absolute), "/a/{}" (empty name), "/a/{x" (unclosed),
// "/a/{x}/{x}" (repeated name). A trailing slash is significant: "/a/" is not "/a".
//
// When several patterns match a path, the most specific wins: compared segment by
// segment from the left, a literal beats a parameter (so "/e/count" beats "/e/{id}").
//
// Errors are RFC 7807 ProblemDetails (application/problem+json); problem() is the
// one helper every module uses to build them.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace urbis::http {

namespace bhttp = boost::beast::http;

// One parsed request as a handler sees it. The router fills `path`,
// `path_params` and `query` from `target`; the server fills the rest.
struct Request {
  bhttp::verb method = bhttp::verb::get;
  std::string target;  // as received: "/a/b?x=1" (origin form)
  std::string path;    // percent-decoded path: "/a/b"
  std::map<std::string, std::string, std::less<>> path_params;  // "{name}" -> decoded segment
  std::map<std::string, std::string, std::less<>> query;  // decoded; for a repeated key the first wins
  bhttp::fields headers;  // case-insensitive lookup
  std::string body;
  std::string remote_ip;  // peer IP, for logs and per-IP limits

  // The value of a path parameter or query parameter, if present.
  std::optional<std::string_view> param(std::string_view name) const;
  std::optional<std::string_view> query_param(std::string_view name) const;
};

struct Response {
  bhttp::status status = bhttp::status::ok;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow, Location
  std::string body;

  // A JSON response: serialises `body` once, here.
  static Response json(const boost::json::value& body, bhttp::status status = bhttp::status::ok);
};

// An RFC 7807 ProblemDetails response: {"type","title","status","detail"} plus
// any `extra` members (e.g. {"field": "id"} to name the offending field).
// `type` is a URI identifying the problem kind; "about:blank" means "nothing more
// than the HTTP status", and then `title` should be the status phrase.
Response problem(bhttp::status status, std::string_view type, std::string_view title,
                 std::string_view detail, boost::json::object extra = {});

// Completes a request. May be called from any thread, exactly once; the server
// moves the response onto the connection's executor.
using Reply = std::function<void(Response)>;
// A handler that answers later (e.g. after a store commit). It must call `reply`
// exactly once; if it drops `reply` uncalled the server answers 500.
using AsyncHandler = std::function<void(Request, Reply)>;
// A handler that answers at once. Runs on an I/O thread: it must not block.
using Handler = std::function<Response(const Request&)>;

struct Route {
  bhttp::verb method;
  std::string pattern;
  std::string summary;  // one line for the docs table
  AsyncHandler handler;
};

// Thread-safety: build the table first (add*, not thread-safe), then share it
// read-only; dispatch() and markdown() are const and safe from any thread.
class Router {
 public:
  // Adds a route. Fails (InvalidArgument naming the pattern) on an invalid pattern
  // or when the same method and pattern are already present.
  [[nodiscard]] Status add(bhttp::verb method, std::string pattern, std::string summary,
                           Handler handler);
  [[nodiscard]] Status add_async(bhttp::verb method, std::string pattern, std::string summary,
                                 AsyncHandler handler);

  // Matches `request.target` and runs the route's handler, or replies with a
  // ProblemDetails: 400 for an unparsable target, 404 for an unknown path,
  // 405 with an Allow header when the path exists for other methods only.
  void dispatch(Request request, Reply reply) const;

  // The table as a Markdown document (title, note, one row per route, sorted by
  // path then method). docs/http-routes.md is exactly this text.
  std::string markdown() const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // literal text, or the parameter name
    std::vector<bool> is_param;
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;  // parallel to routes_
};

}  // namespace urbis::http
