// Context processing (JSON-LD 1.1 "Context Processing Algorithm", 4.1) reduced to
// what NGSI-LD names need: term -> IRI mappings, prefixes, @vocab, @type
// coercion, @import, remote contexts. Scoped contexts, containers, @reverse,
// @language, @base and @protected are accepted and ignored.
//
// Term definitions may refer to each other in any order ({"NO2": "sdm:NO2",
// "sdm": "https://..."}), so a local context is processed term by term with a
// "defined" map (true = done, false = in progress) that detects cycles
// ({"a": "b:x", "b": "a:y"} is InvalidRequest), exactly as JSON-LD's Create Term
// Definition does.
#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/context_internal.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>

namespace urbis::ngsild {

namespace json = boost::json;

namespace {

bool is_keyword(std::string_view s) {
  static constexpr std::string_view kKeywords[] = {
      "@base",   "@container", "@context", "@direction", "@graph", "@id",       "@import",
      "@included", "@index",   "@json",    "@language",  "@list",  "@nest",     "@none",
      "@prefix", "@preserve",  "@propagate", "@protected", "@reverse", "@set", "@type",
      "@value",  "@version",   "@vocab"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), s) != std::end(kKeywords);
}

// RFC 3986 scheme followed by ':' — what JSON-LD treats as an absolute IRI once
// no prefix matched. Blank node identifiers ("_:b0") count too.
bool has_scheme(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0]) && s[0] != '_') return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

bool ends_with_gen_delim(std::string_view iri) {
  return !iri.empty() && std::string_view(":/?#[]@").find(iri.back()) != std::string_view::npos;
}

Status invalid(std::string m) { return InvalidArgument("InvalidRequest: " + std::move(m)); }
Status unavailable(std::string_view url, std::string_view why) {
  return Status(Code::kUnavailable, "LdContextNotAvailable: " + std::string(url) +
                                        (why.empty() ? "" : ": " + std::string(why)));
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

// Every published version of the core context names the same vocabulary for
// the terms a broker needs; all of them are answered by the built-in copy so
// that no request ever waits on uri.etsi.org.
bool is_core_context_url(std::string_view url) {
  constexpr std::string_view kPrefix = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context";
  return url.starts_with(kPrefix) && url.ends_with(".jsonld");
}

}  // namespace

Result<std::string> resolve_context_url(std::string_view ref, std::string_view base) {
  if (ref.empty()) return invalid("empty @context URL");
  auto r = boost::urls::parse_uri_reference(ref);
  if (!r) return invalid("@context URL '" + std::string(ref) + "' is not a valid URL");
  if (r->has_scheme()) return std::string(ref);
  if (base.empty()) return invalid("@context URL '" + std::string(ref) + "' is relative and has no base");
  auto b = boost::urls::parse_uri(base);
  if (!b) return invalid("@context base URL '" + std::string(base) + "' is not a valid URL");
  boost::urls::url dest;
  auto rr = boost::urls::resolve(*b, *r, dest);
  if (!rr) return invalid("@context URL '" + std::string(ref) + "' cannot be resolved against " + std::string(base));
  return std::string(dest.buffer());
}

bool is_builtin_core_url(std::string_view url) { return is_core_context_url(url); }

// Builds a Context; holds the state of the Context Processing Algorithm.
class ContextBuilder {
 public:
  explicit ContextBuilder(const Context* start) {
    if (start) {
      ctx_->terms_ = start->terms_;
      ctx_->vocab_ = start->vocab_;
    }
  }

  Status process(const json::value& v, std::string_view base, const Context::DocumentLookup& lookup,
                 std::vector<std::string>& stack) {
    if (stack.size() > Context::kMaxDepth) {
      return invalid("@context nesting deeper than " + std::to_string(Context::kMaxDepth) + " levels");
    }
    switch (v.kind()) {
      case json::kind::null:
        // A null context resets to the initial context, which in NGSI-LD always
        // holds the core context.
        ctx_->terms_ = Context::core()->terms_;
        ctx_->vocab_ = Context::core()->vocab_;
        return Status::Ok();
      case json::kind::string: return process_url(v.get_string(), base, lookup, stack);
      case json::kind::array:
        for (const auto& item : v.get_array()) {
          if (!item.is_string() && !item.is_object() && !item.is_null()) {
            return invalid("@context array members must be URL strings or objects; got " +
                           std::string(kind_name(item)));
          }
          if (auto st = process(item, base, lookup, stack); !st.ok()) return st;
        }
        return Status::Ok();
      case json::kind::object: return process_object(v.get_object(), base, lookup, stack);
      default:
        return invalid("@context must be a URL string, an object or an array; got " + std::string(kind_name(v)));
    }
  }

  std::shared_ptr<Context> finish(json::value source, bool is_core) {
    ctx_->source_ = std::move(source);
    ctx_->is_core_ = is_core;
    if (is_core) {
      ctx_->link_url_ = std::string(kCoreContextUrl);
    } else if (ctx_->source_.is_string()) {
      ctx_->link_url_ = std::string(ctx_->source_.get_string());
    }
    if (ctx_->vocab_.empty()) ctx_->vocab_ = std::string(kDefaultVocab);
    ctx_->index();
    return std::move(ctx_);
  }

 private:
  Status process_url(std::string_view ref, std::string_view base, const Context::DocumentLookup& lookup,
                     std::vector<std::string>& stack) {
    auto url = resolve_context_url(ref, base);
    if (!url.ok()) return url.status();
    // Bounds the work one @context may cause: a remote document that names
    // another one many times, which names another one many times, ... would
    // otherwise grow exponentially.
    if (++inclusions_ > kMaxInclusions) {
      return invalid("@context includes more than " + std::to_string(kMaxInclusions) + " remote contexts");
    }
    const json::value* doc = nullptr;
    if (is_core_context_url(*url)) {
      doc = &core_context_document();
    } else {
      if (std::find(stack.begin(), stack.end(), *url) != stack.end()) {
        return invalid("recursive @context inclusion of " + *url);
      }
      doc = lookup ? lookup(*url) : nullptr;
      if (!doc) return unavailable(*url, "");
    }
    const json::object* o = doc->if_object();
    const json::value* inner = o ? o->if_contains("@context") : nullptr;
    if (!inner) return unavailable(*url, "not a JSON-LD context document (no top-level \"@context\" member)");
    stack.push_back(*url);
    Status st = process(*inner, *url, lookup, stack);
    stack.pop_back();
    return st;
  }

  Status process_object(const json::object& local_in, std::string_view base, const Context::DocumentLookup& lookup,
                        std::vector<std::string>& stack) {
    const json::object* local = &local_in;
    json::object merged;
    if (const json::value* imp = local_in.if_contains("@import")) {
      // @import: the imported context's definitions, overridden by the local ones.
      if (!imp->is_string()) return invalid("@import must be a URL string");
      auto url = resolve_context_url(imp->get_string(), base);
      if (!url.ok()) return url.status();
      const json::value* doc = is_core_context_url(*url) ? &core_context_document()
                                                          : (lookup ? lookup(*url) : nullptr);
      if (!doc) return unavailable(*url, "");
      const json::value* inner = doc->is_object() ? doc->get_object().if_contains("@context") : nullptr;
      if (!inner || !inner->is_object()) return invalid("@import of " + *url + ": its @context must be an object");
      if (inner->get_object().contains("@import")) return invalid("@import of " + *url + " itself has @import");
      merged = inner->get_object();
      for (const auto& kv : local_in) {
        if (kv.key() != "@import") merged[kv.key()] = kv.value();
      }
      local = &merged;
    }
    if (const json::value* vocab = local->if_contains("@vocab")) {
      if (vocab->is_null()) {
        ctx_->vocab_ = std::string(kDefaultVocab);  // NGSI-LD always has a vocabulary
      } else if (vocab->is_string()) {
        std::map<std::string, bool, std::less<>> defined;
        auto iri = expand_in(vocab->get_string(), *local, defined);
        if (!iri.ok()) return iri.status();
        if (!has_scheme(*iri)) return invalid("@vocab '" + std::string(vocab->get_string()) + "' is not an absolute IRI");
        ctx_->vocab_ = *iri;
      } else {
        return invalid("@vocab must be a string or null");
      }
    }
    std::map<std::string, bool, std::less<>> defined;
    for (const auto& kv : *local) {
      if (kv.key().starts_with("@")) continue;  // keywords: handled above or ignored
      if (auto st = define(*local, kv.key(), defined); !st.ok()) return st;
    }
    return Status::Ok();
  }

  // JSON-LD "Create Term Definition".
  Status define(const json::object& local, std::string_view term, std::map<std::string, bool, std::less<>>& defined) {
    if (auto it = defined.find(term); it != defined.end()) {
      if (it->second) return Status::Ok();
      return invalid("cyclic IRI mapping involving term '" + std::string(term) + "'");
    }
    // Definitions that refer to each other recurse; a long chain must not
    // exhaust the stack.
    if (define_depth_ >= kMaxDefineDepth) {
      return invalid("term definitions refer to each other more than " + std::to_string(kMaxDefineDepth) +
                     " levels deep (at '" + std::string(term) + "')");
    }
    defined.emplace(std::string(term), false);
    if (term.empty()) return invalid("empty term in @context");
    ++define_depth_;
    Status st = define_body(local, term, defined);
    --define_depth_;
    return st;
  }

  Status define_body(const json::object& local, std::string_view term,
                     std::map<std::string, bool, std::less<>>& defined) {
    const json::value& value = local.at(term);
    Context::TermDef def;
    const json::value* id = nullptr;
    bool simple = false;
    bool has_id_member = false;
    if (value.is_null()) {
      ctx_->terms_[std::string(term)] = def;  // decoupled term
      defined[std::string(term)] = true;
      return Status::Ok();
    } else if (value.is_string()) {
      id = &value;
      simple = true;
      has_id_member = true;
    } else if (value.is_object()) {
      const json::object& o = value.get_object();
      if (const json::value* i = o.if_contains("@id")) {
        has_id_member = true;
        if (i->is_null()) {
          ctx_->terms_[std::string(term)] = def;
          defined[std::string(term)] = true;
          return Status::Ok();
        }
        if (!i->is_string()) return invalid("@id of term '" + std::string(term) + "' must be a string");
        id = i;
      } else if (const json::value* r = o.if_contains("@reverse")) {
        if (!r->is_string()) return invalid("@reverse of term '" + std::string(term) + "' must be a string");
        id = r;
        has_id_member = true;
      }
      if (const json::value* t = o.if_contains("@type")) {
        if (!t->is_string()) return invalid("@type of term '" + std::string(term) + "' must be a string");
        std::string_view ts = t->get_string();
        if (ts.starts_with("@")) {
          def.type = std::string(ts);
        } else {
          auto e = expand_in(ts, local, defined);
          if (!e.ok()) return e.status();
          def.type = *e;
        }
      }
      if (const json::value* p = o.if_contains("@prefix")) {
        if (!p->is_bool()) return invalid("@prefix of term '" + std::string(term) + "' must be true or false");
        if (p->get_bool() && (term.find(':') != std::string_view::npos || term.find('/') != std::string_view::npos)) {
          return invalid("term '" + std::string(term) + "' contains ':' or '/' and cannot be a prefix");
        }
        def.prefix = p->get_bool();
      }
    } else {
      return invalid("definition of term '" + std::string(term) + "' must be a string, an object or null; got " +
                     std::string(kind_name(value)));
    }

    if (has_id_member && id) {
      std::string_view ids = id->get_string();
      if (ids.starts_with("@")) {
        if (!is_keyword(ids)) {  // "@foo"-like values are reserved: JSON-LD ignores the term
          defined[std::string(term)] = true;
          return Status::Ok();
        }
        if (ids == "@context") return invalid("term '" + std::string(term) + "' cannot alias @context");
        def.iri = std::string(ids);
      } else {
        auto e = expand_in(ids, local, defined);
        if (!e.ok()) return e.status();
        if (!has_scheme(*e)) {
          return invalid("term '" + std::string(term) + "' maps to '" + std::string(ids) +
                         "', which is not an absolute IRI");
        }
        def.iri = std::move(*e);
        // A term that reads as a compact or absolute IRI must mean that IRI, or
        // compaction could produce names that expand to something else (JSON-LD
        // 1.1, Create Term Definition 14.2.4).
        if (auto colon = term.find(':'); colon != std::string_view::npos && colon > 0 && colon + 1 < term.size()) {
          auto as_iri = expand_in(term, local, defined, /*self=*/true);
          if (!as_iri.ok()) return as_iri.status();
          if (*as_iri != def.iri) {
            return invalid("term '" + std::string(term) + "' looks like the IRI '" + *as_iri + "' but maps to '" +
                           def.iri + "'");
          }
        }
      }
    } else {
      // No @id: the term itself names the IRI (compact IRI, absolute IRI, or vocab-relative).
      auto e = expand_in(term, local, defined, /*self=*/true);
      if (!e.ok()) return e.status();
      def.iri = std::move(*e);
    }
    if (simple && term.find(':') == std::string_view::npos && term.find('/') == std::string_view::npos &&
        (ends_with_gen_delim(def.iri) || def.iri.starts_with("_:"))) {
      def.prefix = true;
    }
    ctx_->terms_[std::string(term)] = std::move(def);
    defined[std::string(term)] = true;
    return Status::Ok();
  }

  // JSON-LD "IRI Expansion" (vocab = true) while processing `local`. `self` is
  // set when expanding the term being defined, which must not look itself up.
  Result<std::string> expand_in(std::string_view v, const json::object& local,
                                std::map<std::string, bool, std::less<>>& defined, bool self = false) {
    if (v.starts_with("@")) return std::string(v);
    if (!self && local.contains(v)) {
      if (auto st = define(local, v, defined); !st.ok()) return st;
    }
    if (!self) {
      if (auto it = ctx_->terms_.find(std::string(v)); it != ctx_->terms_.end()) {
        if (it->second.iri.empty()) return ctx_->vocab_ + std::string(v);
        return it->second.iri;
      }
    }
    if (auto colon = v.find(':'); colon != std::string_view::npos) {
      std::string_view prefix = v.substr(0, colon), suffix = v.substr(colon + 1);
      if (prefix == "_" || suffix.starts_with("//")) return std::string(v);
      if (local.contains(prefix)) {
        if (auto st = define(local, prefix, defined); !st.ok()) return st;
      }
      if (auto it = ctx_->terms_.find(std::string(prefix));
          it != ctx_->terms_.end() && it->second.prefix && !it->second.iri.empty()) {
        return it->second.iri + std::string(suffix);
      }
      if (has_scheme(v)) return std::string(v);
    }
    std::string vocab = ctx_->vocab_.empty() ? std::string(kDefaultVocab) : ctx_->vocab_;
    return vocab + std::string(v);
  }

  static constexpr int kMaxInclusions = 64;
  static constexpr int kMaxDefineDepth = 200;
  int define_depth_ = 0;
  int inclusions_ = 0;
  std::shared_ptr<Context> ctx_{new Context()};
};

void Context::index() {
  iri_to_term_.clear();
  prefixes_.clear();
  for (const auto& [term, def] : terms_) {
    if (def.iri.empty()) continue;
    auto [it, fresh] = iri_to_term_.emplace(def.iri, term);
    if (!fresh) {
      const std::string& cur = it->second;
      if (term.size() < cur.size() || (term.size() == cur.size() && term < cur)) it->second = term;
    }
    if (def.prefix && !def.iri.starts_with("@")) prefixes_.emplace_back(def.iri, term);
  }
  std::sort(prefixes_.begin(), prefixes_.end(), [](const auto& a, const auto& b) {
    if (a.first.size() != b.first.size()) return a.first.size() > b.first.size();
    return a.second < b.second;
  });
}

std::shared_ptr<const Context> Context::core() {
  // Built once from the constant document; immutable afterwards.
  static const std::shared_ptr<const Context> core = [] {
    ContextBuilder b(nullptr);
    std::vector<std::string> stack;
    const json::value& doc = core_context_document();
    Status st = b.process(doc.at("@context"), "", nullptr, stack);
    assert(st.ok() && "the built-in core context must process");
    (void)st;
    return std::shared_ptr<const Context>(b.finish(json::string(kCoreContextUrl), true));
  }();
  return core;
}

Result<std::shared_ptr<const Context>> Context::build(const json::value& context, const DocumentLookup& lookup) {
  if (context.is_null()) return core();
  if (context.is_string() && is_core_context_url(context.get_string())) return core();
  ContextBuilder b(core().get());
  std::vector<std::string> stack;
  if (auto st = b.process(context, "", lookup, stack); !st.ok()) return st;
  return std::shared_ptr<const Context>(b.finish(context, false));
}

Result<std::vector<std::string>> Context::referenced_urls(const json::value& context, std::string_view base) {
  std::vector<std::string> out;
  auto add = [&](std::string_view ref) -> Status {
    auto url = resolve_context_url(ref, base);
    if (!url.ok()) return url.status();
    if (!is_core_context_url(*url) && std::find(out.begin(), out.end(), *url) == out.end()) out.push_back(*url);
    return Status::Ok();
  };
  auto from_object = [&](const json::object& o) -> Status {
    if (const json::value* imp = o.if_contains("@import")) {
      if (!imp->is_string()) return invalid("@import must be a URL string");
      return add(imp->get_string());
    }
    return Status::Ok();
  };
  switch (context.kind()) {
    case json::kind::null: break;
    case json::kind::string:
      if (auto st = add(context.get_string()); !st.ok()) return st;
      break;
    case json::kind::object:
      if (auto st = from_object(context.get_object()); !st.ok()) return st;
      break;
    case json::kind::array:
      for (const auto& item : context.get_array()) {
        Status st;
        if (item.is_string()) st = add(item.get_string());
        else if (item.is_object()) st = from_object(item.get_object());
        else if (!item.is_null())
          st = invalid("@context array members must be URL strings or objects; got " + std::string(kind_name(item)));
        if (!st.ok()) return st;
      }
      break;
    default:
      return invalid("@context must be a URL string, an object or an array; got " + std::string(kind_name(context)));
  }
  return out;
}

std::string Context::expand(std::string_view term) const {
  if (term.empty() || term.starts_with("@")) return std::string(term);
  if (auto it = terms_.find(std::string(term)); it != terms_.end()) {
    const TermDef& d = it->second;
    if (d.iri.empty()) return vocab_ + std::string(term);
    if (d.iri.starts_with("@")) return std::string(term);  // keyword alias ("id", "type")
    return d.iri;
  }
  if (auto colon = term.find(':'); colon != std::string_view::npos) {
    std::string_view prefix = term.substr(0, colon), suffix = term.substr(colon + 1);
    if (prefix == "_" || suffix.starts_with("//")) return std::string(term);
    if (auto it = terms_.find(std::string(prefix)); it != terms_.end() && it->second.prefix && !it->second.iri.empty()) {
      return it->second.iri + std::string(suffix);
    }
    if (has_scheme(term)) return std::string(term);
  }
  return vocab_ + std::string(term);
}

std::string Context::compact(std::string_view iri) const { return compact_impl(iri, true); }

std::string Context::compact_impl(std::string_view iri, bool use_prefixes) const {
  if (iri.empty()) return std::string();
  if (auto it = iri_to_term_.find(std::string(iri)); it != iri_to_term_.end()) return it->second;
  if (iri.size() > vocab_.size() && iri.starts_with(vocab_)) {
    std::string_view rest = iri.substr(vocab_.size());
    if (rest.find(':') == std::string_view::npos && !rest.starts_with("@") && !terms_.contains(std::string(rest))) {
      return std::string(rest);
    }
  }
  if (!use_prefixes) return std::string(iri);
  std::string best;
  for (const auto& [piri, term] : prefixes_) {
    if (iri.size() <= piri.size() || !iri.starts_with(piri)) continue;
    std::string_view rest = iri.substr(piri.size());
    if (rest.starts_with("//")) continue;
    std::string candidate = term + ":" + std::string(rest);
    if (terms_.contains(candidate)) continue;  // would read back as that term
    if (best.empty() || candidate.size() < best.size() || (candidate.size() == best.size() && candidate < best)) {
      best = std::move(candidate);
    }
  }
  if (!best.empty()) return best;
  return std::string(iri);
}

std::string Context::to_stored(std::string_view term) const {
  // No compact IRIs in stored names: "ngsi-ld:x" and its full IRI must not be
  // two spellings of one stored name.
  return core()->compact_impl(expand(term), false);
}

std::string Context::from_stored(std::string_view stored) const {
  return compact(core()->expand(stored));
}

const json::value& Context::source() const { return source_; }
bool Context::is_core() const { return is_core_; }

std::string_view Context::term_type(std::string_view term) const {
  auto it = terms_.find(std::string(term));
  return it == terms_.end() ? std::string_view() : std::string_view(it->second.type);
}

}  // namespace urbis::ngsild
