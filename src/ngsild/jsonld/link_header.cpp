// The HTTP Link header (RFC 8288, 3) as NGSI-LD uses it to name a request's
// @context (JSON-LD 1.1 API, 9.5):
//   Link: <https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"
// Grammar handled: link-value *( "," link-value ), link-value = "<" URI ">"
// *( ";" param ), param = token [ "=" ( token / quoted-string ) ], with optional
// whitespace around separators. Several links may be given; only the one whose
// rel (a space-separated list) contains the JSON-LD context relation counts,
// and more than one such link is an error (JSON-LD "multiple context link headers").
#include <cctype>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/context_internal.hpp"

namespace urbis::ngsild {

namespace {

Status bad(std::string_view why) { return InvalidArgument("InvalidRequest: Link header: " + std::string(why)); }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return s[i]; }
  void skip_ows() {
    while (!done() && is_ows(s[i])) ++i;
  }
};

}  // namespace

Result<std::optional<std::string>> context_url_from_link_header(std::string_view link) {
  Cursor c{link};
  std::optional<std::string> found;
  bool any = false;
  while (true) {
    c.skip_ows();
    if (c.done()) break;
    if (c.peek() == ',') {  // empty list elements are allowed (RFC 9110 5.6.1)
      ++c.i;
      continue;
    }
    if (c.peek() != '<') return bad("expected '<' at offset " + std::to_string(c.i));
    ++c.i;
    size_t close = c.s.find('>', c.i);
    if (close == std::string_view::npos) return bad("unterminated '<' (no '>')");
    std::string_view url = c.s.substr(c.i, close - c.i);
    if (url.find('<') != std::string_view::npos) return bad("'<' inside a link target");
    c.i = close + 1;
    any = true;
    bool is_context = false;
    // Parameters.
    while (true) {
      c.skip_ows();
      if (c.done() || c.peek() == ',') break;
      if (c.peek() != ';') return bad("expected ';' or ',' after a link at offset " + std::to_string(c.i));
      ++c.i;
      c.skip_ows();
      if (!c.done() && (c.peek() == ';' || c.peek() == ',')) continue;  // empty parameter
      size_t start = c.i;
      while (!c.done() && is_tchar(c.peek())) ++c.i;
      if (c.i == start) return bad("expected a parameter name at offset " + std::to_string(c.i));
      std::string name(c.s.substr(start, c.i - start));
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.skip_ows();
      std::string value;
      if (!c.done() && c.peek() == '=') {
        ++c.i;
        c.skip_ows();
        if (!c.done() && c.peek() == '"') {
          ++c.i;
          bool closed = false;
          while (!c.done()) {
            char ch = c.s[c.i++];
            if (ch == '"') {
              closed = true;
              break;
            }
            if (ch == '\\') {
              if (c.done()) break;
              ch = c.s[c.i++];
            }
            value += ch;
          }
          if (!closed) return bad("unterminated quoted string in parameter '" + name + "'");
        } else {
          // Lenient: clients often leave rel="...#context" unquoted although ':'
          // and '/' are no token characters.
          size_t vs = c.i;
          while (!c.done() && c.peek() != ';' && c.peek() != ',' && !is_ows(c.peek())) ++c.i;
          value = std::string(c.s.substr(vs, c.i - vs));
          if (value.empty()) return bad("parameter '" + name + "' has an empty value");
        }
      }
      if (name == "rel") {
        size_t p = 0;
        while (p < value.size()) {
          while (p < value.size() && std::isspace(static_cast<unsigned char>(value[p]))) ++p;
          size_t q = p;
          while (q < value.size() && !std::isspace(static_cast<unsigned char>(value[q]))) ++q;
          if (std::string_view(value).substr(p, q - p) == kContextLinkRel) is_context = true;
          p = q;
        }
      }
    }
    if (is_context) {
      if (found) return bad("more than one JSON-LD context link (rel=\"" + std::string(kContextLinkRel) + "\")");
      if (url.empty()) return bad("empty JSON-LD context URL");
      auto abs = resolve_context_url(url, "");
      if (!abs.ok()) return bad("context URL '" + std::string(url) + "' is not an absolute URL");
      found = std::move(*abs);
    }
    c.skip_ows();
    if (c.done()) break;
    if (c.peek() != ',') return bad("expected ',' between links at offset " + std::to_string(c.i));
    ++c.i;
  }
  (void)any;
  return found;
}

std::string link_header_for(std::string_view url) {
  return "<" + std::string(url) + ">; rel=\"" + std::string(kContextLinkRel) + "\"; type=\"application/ld+json\"";
}

}  // namespace urbis::ngsild
