// libFuzzer target for the NGSI-LD @context parsers (src/ngsild/jsonld): the
// HTTP Link header parser and inline @context processing.
//
// The input is tried as a Link header: a context URL it yields must come back
// unchanged through link_header_for(). Then, when it is JSON, as an inline
// @context: a context that builds must expand every term it defines so that
// compacting the IRI and expanding again gives the same IRI (in the context and
// in the core context, i.e. the stored form), unless compaction fell back to
// the IRI itself. Any disagreement aborts.

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ngsild/jsonld/context.hpp"

namespace {

using urbis::ngsild::Context;

[[noreturn]] void die(const char* what, std::string_view a, std::string_view b) {
  std::fprintf(stderr, "ngsild_link_fuzz: %s\n%.*s\n%.*s\n", what, static_cast<int>(a.size()), a.data(),
               static_cast<int>(b.size()), b.data());
  std::abort();
}

void check_term(const Context& ctx, const std::string& term) {
  std::string iri = ctx.expand(term);
  if (iri.empty() || iri.starts_with("@") || iri == term) return;
  std::string c = ctx.compact(iri);
  if (c != iri && ctx.expand(c) != iri) die("compact/expand disagree", term, iri);
  const auto& core = *Context::core();
  std::string stored = ctx.to_stored(term);
  if (stored != iri && core.expand(stored) != iri) die("stored form does not expand back", term, stored);
  std::string shown = ctx.from_stored(stored);
  if (shown != iri && shown != stored && ctx.expand(shown) != iri) die("from_stored lost the IRI", term, shown);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto link = urbis::ngsild::context_url_from_link_header(text);
  if (link.ok() && link->has_value()) {
    auto again = urbis::ngsild::context_url_from_link_header(urbis::ngsild::link_header_for(**link));
    if (!again.ok() || !again->has_value() || **again != **link) die("Link header does not round-trip", text, **link);
  }

  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return 0;
  (void)Context::referenced_urls(v, "https://base.example/dir/ctx.jsonld");
  // Remote documents: the input itself, served for every URL it names.
  boost::json::value doc = boost::json::object{{"@context", v}};
  auto built = Context::build(v, [&](std::string_view) { return &doc; });
  if (!built.ok()) return 0;
  const Context& ctx = **built;
  auto visit = [&](const boost::json::value& c) {
    if (const auto* o = c.if_object()) {
      for (const auto& kv : *o) check_term(ctx, std::string(kv.key()));
    }
  };
  visit(v);
  if (const auto* a = v.if_array()) {
    for (const auto& item : *a) visit(item);
  }
  for (const char* t : {"temperature", "location", "value", "ngsi-ld:x", "https://a.example/x", "urn:x:y"}) {
    check_term(ctx, t);
  }
  return 0;
}
