// JSON-LD @context handling for the NGSI-LD API (ETSI GS CIM 009 v1.8, 5.5.7 and 5.13).
//
// NGSI-LD names (attribute names, entity types) are JSON-LD terms: a request's
// @context (inline, or a URL in a Link header) maps each short term to an IRI,
// and the broker answers in the caller's terms. This module turns @context
// values into an active Context and translates names both ways.
//
// Storage convention: names are stored in CANONICAL form, the expanded IRI
// compacted against the core context alone, without compact IRIs:
//   "https://uri.etsi.org/ngsi-ld/default-context/temperature"  -> "temperature"
//   "https://uri.etsi.org/ngsi-ld/location"                      -> "location"
//   "https://smartdatamodels.org/dataModel.Environment/NO2"      -> stays the full IRI
// request term --to_stored()--> stored name --from_stored()--> response term.
//
// Expansion and compaction follow JSON-LD 1.1 IRI expansion/compaction for
// vocabulary-relative names, reduced to what NGSI-LD needs (no containers,
// no scoped contexts, no reverse properties):
//   expand: keyword or keyword alias -> unchanged; defined term -> its IRI;
//           "prefix:suffix" with a prefix-capable term -> IRI + suffix;
//           absolute IRI (scheme:...) -> unchanged; else @vocab + term
//           (@vocab is the default-context IRI from the core context unless a
//           user context sets another).
//   compact: shortest term whose IRI is exactly the IRI (ties: lexicographically
//           least); else, when the IRI starts with @vocab, the rest if it is no
//           defined term and has no ':' (checked BEFORE compact IRIs, as JSON-LD
//           does, so "ngsi-ld:default-context/x" never appears); else the shortest
//           "prefix:rest"; else the IRI itself.
// A term defined as null (JSON-LD "decoupled" term) falls back to @vocab here, so
// that a client never loses an attribute silently.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"

namespace urbis::ngsild {

inline constexpr std::string_view kCoreContextUrl = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";
inline constexpr std::string_view kDefaultVocab = "https://uri.etsi.org/ngsi-ld/default-context/";
// The Link relation that names a JSON-LD context (JSON-LD 1.1, 6.1).
inline constexpr std::string_view kContextLinkRel = "http://www.w3.org/ns/json-ld#context";

// The built-in core context document ({"@context": {...}}), as served under
// kCoreContextUrl. Parsed once; immutable.
const boost::json::value& core_context_document();

// A resolved (active) JSON-LD context: term definitions of the core context plus the user's contexts
// in order (later definitions win, as JSON-LD processing says). Immutable, cheap to share.
// Thread-safety: all const members are safe from any thread.
class Context {
 public:
  // Looks up a remote context document ({"@context": ...}) by absolute URL;
  // nullptr when the document is not available.
  using DocumentLookup = std::function<const boost::json::value*(std::string_view url)>;

  // The built-in NGSI-LD core context (v1.8) alone; works offline; a process-wide immutable object.
  static std::shared_ptr<const Context> core();

  // Builds core + `context` (a string URL, an object of term definitions, an
  // array of those, or null = core alone). URLs, including nested ones inside
  // remote documents (relative ones resolved against the document's URL), are
  // taken from `lookup`. Pure: no I/O. Failures: kUnavailable
  // "LdContextNotAvailable: <url>..." when lookup has no document or it is not a
  // context document; kInvalidArgument "InvalidRequest: ..." naming the term for a
  // malformed value; cycles and nesting deeper than kMaxDepth are InvalidRequest.
  static Result<std::shared_ptr<const Context>> build(const boost::json::value& context,
                                                      const DocumentLookup& lookup);
  static constexpr int kMaxDepth = 16;

  // The absolute URLs `context` references directly (strings, array members;
  // relative ones resolved against `base`, which may be empty). InvalidRequest
  // for a value that is no context (number, bool, bad array member) or a
  // relative URL without a base. Used by the resolver to fetch before build().
  static Result<std::vector<std::string>> referenced_urls(const boost::json::value& context,
                                                          std::string_view base);

  // Term or compact IRI -> absolute IRI: a defined term -> its @id; "prefix:suffix" with a defined
  // prefix -> expanded; an absolute IRI (scheme:...) -> unchanged; keywords (@id, id, type ...) unchanged;
  // anything else -> default-context IRI + term.
  std::string expand(std::string_view term) const;
  // IRI -> the shortest term of this context (a term whose @id is the IRI; else a default-context
  // (@vocab) IRI becomes the bare term; else prefix:rest with a defined prefix; else the IRI itself).
  std::string compact(std::string_view iri) const;
  // Canonical stored form of a term given in this context: core()->compact(expand(term)), except that
  // the core compaction never yields a compact IRI: the result is a core term, a bare default-context
  // name, or the full IRI (so "ngsi-ld:x" is stored as "https://uri.etsi.org/ngsi-ld/x").
  std::string to_stored(std::string_view term) const;
  // Response form of a stored name: compact(core()->expand(stored)).
  std::string from_stored(std::string_view stored) const;
  // The @context value to echo in responses (the client's original value: a URL string, an object, or
  // an array; the core context URL when the client gave none).
  const boost::json::value& source() const;
  // True when this is the core context alone (no user context).
  bool is_core() const;

  // The URL a response's Link header should name: the client's URL when the
  // source is one URL string, kCoreContextUrl for the core context, else empty
  // (an inline context cannot be linked; see ContextResolver::implicit()).
  const std::string& link_url() const { return link_url_; }
  // The JSON-LD @type coercion of a term ("@id", "@vocab", "@json", an IRI) or
  // empty. "@vocab" marks values that are themselves terms (NGSI-LD VocabProperty,
  // attributeNames in queries): the HTTP layer expands those values too.
  std::string_view term_type(std::string_view term) const;
  // The vocabulary mapping in effect (kDefaultVocab unless a user context sets one).
  const std::string& vocab() const { return vocab_; }

  struct TermDef {
    std::string iri;    // empty for a null (decoupled) term
    std::string type;   // @type coercion, expanded; empty when none
    bool prefix = false;  // usable as the prefix of a compact IRI
  };

 private:
  friend class ContextBuilder;
  Context() = default;
  void index();  // fills the reverse maps from terms_
  std::string compact_impl(std::string_view iri, bool use_prefixes) const;

  std::unordered_map<std::string, TermDef> terms_;
  std::string vocab_;
  std::unordered_map<std::string, std::string> iri_to_term_;      // IRI -> best term
  std::vector<std::pair<std::string, std::string>> prefixes_;     // (IRI, term), longest IRI first
  boost::json::value source_;
  std::string link_url_;
  bool is_core_ = false;
};

struct ContextOptions {
  std::chrono::milliseconds fetch_timeout{5000};      // per remote fetch
  size_t max_cached = 1000;                            // LRU bound on cached remote contexts
  size_t max_bytes = 1 << 20;                           // refuse larger context documents
  // URL -> local file: these URLs are never fetched; loaded at start (air-gapped cities). The core
  // context URL always maps to the built-in copy.
  std::map<std::string, std::string> preload;
};

// Resolves @context values, fetching remote documents over http:// and https:// (Boost.Beast client,
// OpenSSL; follow up to 3 redirects; Accept: application/ld+json, application/json) with a timeout,
// caching them (LRU), and keeping the list that /jsonldContexts serves. Thread-safe.
class ContextResolver {
 public:
  // `io` runs the fetches (an existing io_context of the server; do not block its threads).
  // `io` must outlive the resolver; destroy the resolver only after `io` stopped
  // running handlers (or with no fetch in flight).
  ContextResolver(boost::asio::io_context& io, ContextOptions options);
  ~ContextResolver();
  ContextResolver(const ContextResolver&) = delete;
  ContextResolver& operator=(const ContextResolver&) = delete;

  // Loads options.preload files; InvalidArgument naming the file when one is unreadable/invalid.
  Status start();
  using Done = std::function<void(Result<std::shared_ptr<const Context>>)>;
  // `context`: a JSON value as found in "@context" or parsed from a Link header URL (a string URL, an
  // object of term definitions, or an array of those, nested contexts in remote documents included).
  // Calls done exactly once, possibly before returning (everything cached/inline), else from the io
  // thread. Failures: Status code kUnavailable with a message starting "LdContextNotAvailable: " and the
  // URL (fetch failed, timeout, not JSON, too big); kInvalidArgument starting "InvalidRequest: " for a
  // malformed context value. Concurrent resolutions of one URL share one fetch.
  void resolve(const boost::json::value& context, Done done);
  // Contexts known to the cache, for GET /jsonldContexts: url, kind ("Cached", "Hosted",
  // "ImplicitlyCreated"), createdAt/lastUsage ms, numberOfHits, and the document.
  struct Entry { std::string url; std::string kind; int64_t created_at_ms; int64_t last_usage_ms; uint64_t hits; boost::json::value document; std::string id; };
  std::vector<Entry> list() const;
  std::optional<Entry> get(std::string_view url_or_id) const;
  // POST /jsonldContexts: host a context document given by the client; returns its new URL/id (served
  // under the given base URL); DELETE removes a hosted or cached one (NotFound otherwise).
  // `base_url` is the URL of the collection, e.g. "http://broker:8080/ngsi-ld/v1/jsonldContexts";
  // the hosted URL is base_url + "/" + id. The document must be {"@context": ...} with a valid
  // context (InvalidArgument "InvalidRequest: ..." otherwise; URLs in it must be resolvable at use).
  // Hosted contexts are never evicted; at most max_cached of them (kResourceExhausted beyond).
  Result<std::string> host(boost::json::value document, std::string_view base_url);
  Status remove(std::string_view url_or_id);
  // Registers an inline (object/array) @context as an ImplicitlyCreated entry so
  // that notifications in application/json can name it in a Link header; the same
  // value gives the same URL. Returns that URL (base_url as for host()).
  Result<std::string> implicit(const boost::json::value& context, std::string_view base_url);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Parses an HTTP Link header value and returns the URL of the link with
// rel="http://www.w3.org/ns/json-ld#context" (nullopt when absent; InvalidArgument when malformed or
// when several such links are given).
Result<std::optional<std::string>> context_url_from_link_header(std::string_view link);
// The Link header value that points to `url` as the JSON-LD context (for responses).
std::string link_header_for(std::string_view url);

}  // namespace urbis::ngsild
