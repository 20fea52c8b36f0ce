#include "http/router.hpp"

#include "model/json_format.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <set>

namespace urbis::http {

std::optional<std::string_view> Request::param(std::string_view name) const {
  auto it = path_params.find(name);
  if (it == path_params.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

Response Response::json(const boost::json::value& body, bhttp::status status) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  // The one serialisation point for JSON bodies: Boost.JSON alone would print
  // 21.5 as 2.15E1 (see model/json_format.hpp).
  r.body = model::to_json(body);
  return r;
}

Response problem(bhttp::status status, std::string_view type, std::string_view title,
                 std::string_view detail, boost::json::object extra) {
  boost::json::object o;
  o["type"] = type;
  o["title"] = title;
  o["status"] = static_cast<unsigned>(status);
  o["detail"] = detail;
  // Extension members never replace the four RFC 7807 members.
  for (auto& kv : extra) {
    if (!o.contains(kv.key())) o[kv.key()] = std::move(kv.value());
  }
  Response r = Response::json(o, status);
  r.content_type = "application/problem+json";
  return r;
}

namespace {

std::string status_phrase(bhttp::status s) { return std::string(bhttp::obsolete_reason(s)); }

Response generic_problem(bhttp::status s, std::string_view detail) {
  return problem(s, "about:blank", status_phrase(s), detail);
}

// Clients type query strings such as q=NO2>35, q=name=="x", q=a[b]==1|c==2 or
// coordinates=[2.35,48.85] without percent-encoding them (curl sends them as
// typed; FIWARE brokers accept them). RFC 3986 does not allow these bytes in a
// URL, so Boost.URL refuses the target. This encodes exactly the bytes it would
// refuse (controls, space, "<>[]{}|\^` and non-ASCII), which decode back to
// what the client typed. '%' and '#' stay as they are: an invalid escape or a
// fragment is still an error.
std::string encode_stray_bytes(std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(target.size() + 16);
  for (unsigned char c : target) {
    static constexpr std::string_view kStray = "\"<>[]{}|\\^`";
    if (c <= 0x20 || c >= 0x7f || kStray.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

Status Router::add(bhttp::verb method, std::string pattern, std::string summary, Handler handler) {
  if (!handler) return InvalidArgument("route " + pattern + ": empty handler");
  return add_async(method, std::move(pattern), std::move(summary),
                   [h = std::move(handler)](Request req, Reply reply) { reply(h(req)); });
}

Status Router::add_async(bhttp::verb method, std::string pattern, std::string summary,
                         AsyncHandler handler) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("route pattern '" + pattern + "': " + std::string(why));
  };
  if (!handler) return bad("empty handler");
  if (pattern.empty() || pattern.front() != '/') return bad("must start with '/'");

  Compiled c;
  std::set<std::string, std::less<>> names;
  if (pattern != "/") {
    std::string_view rest = std::string_view(pattern).substr(1);
    while (true) {
      auto slash = rest.find('/');
      std::string_view seg = rest.substr(0, slash);
      bool param = !seg.empty() && seg.front() == '{';
      if (param) {
        if (seg.size() < 3 || seg.back() != '}') return bad("parameter needs a name in {braces}");
        std::string name(seg.substr(1, seg.size() - 2));
        if (name.find_first_of("{}") != std::string::npos) return bad("stray brace in parameter");
        if (!names.insert(name).second) return bad("repeated parameter {" + name + "}");
        c.segments.push_back(std::move(name));
      } else {
        if (seg.find_first_of("{}") != std::string::npos) return bad("stray brace in literal segment");
        c.segments.emplace_back(seg);
      }
      c.is_param.push_back(param);
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
  }
  for (const auto& r : routes_) {
    if (r.method == method && r.pattern == pattern) return bad("already registered for this method");
  }
  routes_.push_back(Route{method, std::move(pattern), std::move(summary), std::move(handler)});
  compiled_.push_back(std::move(c));
  return Status::Ok();
}

void Router::dispatch(Request request, Reply reply) const {
  auto parsed = boost::urls::parse_origin_form(request.target);
  std::string lenient;
  if (!parsed && !request.target.empty() && request.target.front() == '/') {
    lenient = encode_stray_bytes(request.target);
    parsed = boost::urls::parse_origin_form(lenient);
  }
  if (!parsed) {
    reply(generic_problem(bhttp::status::bad_request,
                          "request target is not a valid origin-form URL: " + request.target));
    return;
  }
  const boost::urls::url_view& url = *parsed;
  std::vector<std::string> segs;
  for (auto s : url.segments()) segs.push_back(std::move(s));
  request.path = url.path();
  request.query.clear();
  for (auto p : url.params()) request.query.emplace(std::move(p.key), std::move(p.value));

  // Among the routes whose pattern matches, pick the most specific one for the
  // method; remember every matching method for the 405's Allow header.
  const Route* best = nullptr;
  const Compiled* best_c = nullptr;
  std::set<std::string> allowed;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Compiled& c = compiled_[i];
    if (c.segments.size() != segs.size()) continue;
    bool match = true;
    for (size_t k = 0; k < segs.size() && match; ++k) {
      if (c.is_param[k]) {
        match = !segs[k].empty();
      } else {
        match = c.segments[k] == segs[k];
      }
    }
    if (!match) continue;
    allowed.insert(std::string(bhttp::to_string(routes_[i].method)));
    if (routes_[i].method != request.method) continue;
    // vector<bool> compares lexicographically with false < true, so "fewer
    // parameters from the left" is the smaller flag vector.
    if (!best || c.is_param < best_c->is_param) {
      best = &routes_[i];
      best_c = &c;
    }
  }

  if (!best) {
    if (allowed.empty()) {
      reply(generic_problem(bhttp::status::not_found, "no resource at " + request.path));
      return;
    }
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    Response r = generic_problem(
        bhttp::status::method_not_allowed,
        std::string(bhttp::to_string(request.method)) + " is not allowed on " + request.path +
            "; allowed: " + allow);
    r.headers.emplace_back("Allow", allow);
    reply(std::move(r));
    return;
  }

  request.path_params.clear();
  for (size_t k = 0; k < segs.size(); ++k) {
    if (best_c->is_param[k]) request.path_params.emplace(best_c->segments[k], std::move(segs[k]));
  }
  best->handler(std::move(request), std::move(reply));
}

std::string Router::markdown() const {
  std::vector<const Route*> sorted;
  for (const auto& r : routes_) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Route* a, const Route* b) {
    if (a->pattern != b->pattern) return a->pattern < b->pattern;
    return bhttp::to_string(a->method) < bhttp::to_string(b->method);
  });
  std::string out =
      "# HTTP routes\n\n"
      "<!-- Generated by `urbis routes` from the route table (src/http/router.hpp).\n"
      "     Do not edit by hand: a unit test checks this file matches the table. -->\n\n"
      "Errors are RFC 7807 ProblemDetails (`application/problem+json`): an unknown path\n"
      "answers 404, a known path with another method 405 with an `Allow` header.\n\n"
      "| Method | Path | Summary |\n"
      "|---|---|---|\n";
  for (const Route* r : sorted) {
    std::string summary;
    for (char ch : r->summary) {
      if (ch == '|') summary += "\\|";
      else if (ch == '\n') summary += ' ';
      else summary += ch;
    }
    out += "| " + std::string(bhttp::to_string(r->method)) + " | `" + r->pattern + "` | " +
           summary + " |\n";
  }
  return out;
}

}  // namespace urbis::http
