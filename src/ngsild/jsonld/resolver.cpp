// ContextResolver: remote @context documents fetched once, cached, shared.
//
// State (all under mu_): `docs_` maps a URL to its document and metadata. Kinds:
//   Cached             fetched from the URL (or preloaded from a file); fetched ones
//                      are in the LRU list and evicted beyond max_cached; preloaded
//                      ones and the built-in core context are pinned.
//   Hosted             POSTed by a client; pinned until DELETE.
//   ImplicitlyCreated  an inline @context registered by implicit(); pinned.
// A resolution walks the URLs its context references (and, transitively, the
// ones the fetched documents reference), takes known documents from the cache,
// fetches the rest (one fetch per URL however many resolutions wait on it:
// `inflight_`), and builds the Context when nothing is missing. The job keeps its
// own references to the documents, so an eviction in the middle never forces a
// refetch. Built contexts are memoised: per URL in its Doc, for inline values in
// `built_` (bounded, cleared when full); remove() clears both, since a nested
// document may be gone.
#include <boost/asio/ssl/context.hpp>
#include <boost/json.hpp>
#include <openssl/rand.h>

#include <fstream>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/context_internal.hpp"
#include "ngsild/jsonld/fetch.hpp"

namespace urbis::ngsild {

namespace json = boost::json;

namespace {

constexpr size_t kMaxBuilt = 256;          // memoised inline contexts
constexpr size_t kMaxUrlsPerResolution = 64;  // nested remote contexts of one request

std::string hex64(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kHex[v & 15];
  return s;
}

// Stable local ids for URLs and inline values (FNV-1a 64): the same context gets
// the same id in every run.
std::string stable_id(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return hex64(h);
}

std::string random_id() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) return {};
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return hex64(v);
}

using DocPtr = std::shared_ptr<const json::value>;

}  // namespace

struct ContextResolver::Impl : std::enable_shared_from_this<ContextResolver::Impl> {
  Impl(boost::asio::io_context& io_in, ContextOptions opts)
      : io(io_in), options(std::move(opts)) {}

  // The TLS client context, built on the first remote fetch: the system CA
  // bundle costs about a megabyte, which a node that never fetches a remote
  // @context should not pay.
  boost::asio::ssl::context& tls_context() {
    std::call_once(tls_once, [this] {
      tls.emplace(boost::asio::ssl::context::tls_client);
      boost::system::error_code ec;
      tls->set_default_verify_paths(ec);
      if (ec) ULOG_WARN("jsonld: no system CA store ({}); https @context fetches will fail", ec.message());
      tls->set_verify_mode(boost::asio::ssl::verify_peer);
    });
    return *tls;
  }

  struct Doc {
    std::string url;
    std::string id;
    std::string kind;
    bool pinned = false;
    int64_t created_at_ms = 0;
    int64_t last_usage_ms = 0;
    uint64_t hits = 0;
    DocPtr document;
    std::list<std::string>::iterator lru;  // valid when !pinned
    std::shared_ptr<const Context> resolved;  // core + this URL, once built
  };
  using Waiter = std::function<void(Result<DocPtr>)>;

  struct Job {
    json::value context;
    Done done;
    std::mutex m;
    std::map<std::string, DocPtr, std::less<>> docs;
    size_t pending = 0;
    bool finished = false;
  };

  boost::asio::io_context& io;
  const ContextOptions options;
  std::once_flag tls_once;
  std::optional<boost::asio::ssl::context> tls;
  SystemClock clock;

  mutable std::mutex mu;
  std::unordered_map<std::string, Doc> docs;
  std::unordered_map<std::string, std::string> url_by_id;
  std::list<std::string> lru;  // unpinned Cached URLs, most recently used first
  std::unordered_map<std::string, std::vector<Waiter>> inflight;
  std::unordered_map<std::string, std::shared_ptr<const Context>> built;

  // REQUIRES: mu held.
  Doc& insert(std::string url, std::string id, std::string kind, bool pinned, DocPtr doc) {
    erase(url);
    Doc d;
    d.url = url;
    d.id = std::move(id);
    d.kind = std::move(kind);
    d.pinned = pinned;
    d.created_at_ms = d.last_usage_ms = clock.unix_ms();
    d.document = std::move(doc);
    if (!pinned) {
      lru.push_front(url);
      d.lru = lru.begin();
    }
    url_by_id[d.id] = url;
    auto& ref = docs[url] = std::move(d);
    while (lru.size() > std::max<size_t>(1, options.max_cached)) {
      std::string victim = lru.back();
      erase(victim);
    }
    return ref;
  }

  // REQUIRES: mu held.
  void erase(const std::string& url) {
    auto it = docs.find(url);
    if (it == docs.end()) return;
    if (!it->second.pinned) lru.erase(it->second.lru);
    url_by_id.erase(it->second.id);
    docs.erase(it);
  }

  // REQUIRES: mu held.
  void touch(Doc& d) {
    d.hits++;
    d.last_usage_ms = clock.unix_ms();
    if (!d.pinned) lru.splice(lru.begin(), lru, d.lru);
  }

  // REQUIRES: mu held.
  Doc* find(std::string_view url_or_id) {
    auto it = docs.find(std::string(url_or_id));
    if (it != docs.end()) return &it->second;
    auto id = url_by_id.find(std::string(url_or_id));
    if (id == url_by_id.end()) return nullptr;
    it = docs.find(id->second);
    return it == docs.end() ? nullptr : &it->second;
  }

  // Gets the document of `url`, fetching it unless cached or in flight.
  void need(const std::string& url, Waiter w) {
    std::unique_lock lock(mu);
    if (auto it = docs.find(url); it != docs.end()) {
      DocPtr d = it->second.document;
      lock.unlock();
      w(std::move(d));
      return;
    }
    auto [it, fresh] = inflight.try_emplace(url);
    it->second.push_back(std::move(w));
    if (!fresh) return;
    lock.unlock();
    ULOG_DEBUG("jsonld: fetching @context {}", url);
    fetch_context_document(io, tls_context(), url, FetchLimits{options.fetch_timeout, options.max_bytes},
                           [self = shared_from_this(), url](Result<json::value> r) {
                             self->fetched(url, std::move(r));
                           });
  }

  void fetched(const std::string& url, Result<json::value> r) {
    std::vector<Waiter> waiters;
    Result<DocPtr> out = Internal("unset");
    {
      std::lock_guard lock(mu);
      if (auto it = inflight.find(url); it != inflight.end()) {
        waiters = std::move(it->second);
        inflight.erase(it);
      }
      if (r.ok()) {
        auto doc = std::make_shared<const json::value>(std::move(r).value());
        insert(url, stable_id(url), "Cached", false, doc);
        out = DocPtr(doc);
      } else {
        out = r.status();
      }
    }
    if (!r.ok()) ULOG_WARN("jsonld: {}", r.status().message());
    for (auto& w : waiters) w(out);
  }

  static void finish(const std::shared_ptr<Job>& job, Result<std::shared_ptr<const Context>> r) {
    Done done;
    {
      std::lock_guard lock(job->m);
      if (job->finished) return;
      job->finished = true;
      done = std::move(job->done);
    }
    done(std::move(r));
  }

  // One round: find what is missing, fetch it, and come back; build when complete.
  void step(const std::shared_ptr<Job>& job) {
    std::vector<std::string> missing;
    Status bad;
    {
      std::scoped_lock lock(mu, job->m);
      std::set<std::string> seen;
      std::vector<std::pair<json::value const*, std::string>> todo{{&job->context, std::string()}};
      while (!todo.empty() && bad.ok()) {
        auto [value, base] = todo.back();
        todo.pop_back();
        auto urls = Context::referenced_urls(*value, base);
        if (!urls.ok()) {
          bad = urls.status();
          break;
        }
        for (auto& u : *urls) {
          if (!seen.insert(u).second) continue;
          if (seen.size() > kMaxUrlsPerResolution) {
            bad = InvalidArgument("InvalidRequest: @context references more than " +
                                  std::to_string(kMaxUrlsPerResolution) + " remote contexts");
            break;
          }
          auto jd = job->docs.find(u);
          if (auto it = docs.find(u); it != docs.end()) {
            touch(it->second);
            if (jd == job->docs.end()) jd = job->docs.emplace(u, it->second.document).first;
          }
          if (jd == job->docs.end()) {
            missing.push_back(u);
            continue;
          }
          const json::value* inner = jd->second->is_object() ? jd->second->get_object().if_contains("@context") : nullptr;
          if (inner) todo.emplace_back(inner, u);
        }
      }
      if (bad.ok() && !missing.empty()) job->pending = missing.size();
    }
    if (!bad.ok()) return finish(job, bad);
    if (missing.empty()) return build(job);
    for (const auto& u : missing) {
      need(u, [self = shared_from_this(), job, u](Result<DocPtr> r) {
        bool last = false;
        {
          std::lock_guard lock(job->m);
          if (job->finished) return;
          if (r.ok()) {
            job->docs[u] = *r;
            last = --job->pending == 0;
          }
        }
        if (!r.ok()) return finish(job, r.status());
        if (last) self->step(job);
      });
    }
  }

  void build(const std::shared_ptr<Job>& job) {
    auto lookup = [&job](std::string_view url) -> const json::value* {
      auto it = job->docs.find(url);
      return it == job->docs.end() ? nullptr : it->second.get();
    };
    auto r = Context::build(job->context, lookup);
    if (r.ok()) memoise(job->context, *r);
    finish(job, std::move(r));
  }

  void memoise(const json::value& context, const std::shared_ptr<const Context>& ctx) {
    std::lock_guard lock(mu);
    if (context.is_string()) {
      if (auto it = docs.find(std::string(context.get_string())); it != docs.end()) it->second.resolved = ctx;
      return;
    }
    if (built.size() >= kMaxBuilt) built.clear();
    built[json::serialize(context)] = ctx;
  }

  void forget_built() {
    built.clear();
    for (auto& [url, d] : docs) d.resolved.reset();
  }

  static Entry entry_of(const Doc& d) {
    return Entry{d.url, d.kind, d.created_at_ms, d.last_usage_ms, d.hits, *d.document, d.id};
  }
};

ContextResolver::ContextResolver(boost::asio::io_context& io, ContextOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  std::lock_guard lock(impl_->mu);
  auto core = std::shared_ptr<const json::value>(&core_context_document(), [](const json::value*) {});
  auto& d = impl_->insert(std::string(kCoreContextUrl), stable_id(kCoreContextUrl), "Cached", true, core);
  d.resolved = Context::core();
}

ContextResolver::~ContextResolver() = default;

Status ContextResolver::start() {
  for (const auto& [url, path] : impl_->options.preload) {
    if (is_builtin_core_url(url)) continue;  // always the built-in copy
    auto where = "@context preload file '" + path + "' for " + url;
    if (auto u = resolve_context_url(url, ""); !u.ok()) return InvalidArgument(where + ": the URL is not absolute");
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument(where + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return InvalidArgument(where + ": read error");
    boost::system::error_code ec;
    json::value doc = json::parse(ss.str(), ec);
    if (ec) return InvalidArgument(where + ": not JSON (" + ec.message() + ")");
    if (!doc.is_object() || !doc.get_object().contains("@context")) {
      return InvalidArgument(where + ": no top-level \"@context\" member");
    }
    if (auto urls = Context::referenced_urls(doc.get_object().at("@context"), url); !urls.ok()) {
      return InvalidArgument(where + ": " + urls.status().message());
    }
    std::lock_guard lock(impl_->mu);
    impl_->insert(url, stable_id(url), "Cached", true, std::make_shared<const json::value>(std::move(doc)));
  }
  return Status::Ok();
}

void ContextResolver::resolve(const json::value& context, Done done) {
  if (context.is_null()) return done(Context::core());
  {
    std::unique_lock lock(impl_->mu);
    std::shared_ptr<const Context> hit;
    if (context.is_string()) {
      if (is_builtin_core_url(context.get_string())) {
        hit = Context::core();
      } else if (auto it = impl_->docs.find(std::string(context.get_string())); it != impl_->docs.end() &&
                                                                              it->second.resolved) {
        impl_->touch(it->second);
        hit = it->second.resolved;
      }
    } else if (context.is_object() || context.is_array()) {
      if (auto it = impl_->built.find(json::serialize(context)); it != impl_->built.end()) hit = it->second;
    }
    if (hit) {
      lock.unlock();
      return done(std::move(hit));
    }
  }
  auto job = std::make_shared<Impl::Job>();
  job->context = context;
  job->done = std::move(done);
  impl_->step(job);
}

std::vector<ContextResolver::Entry> ContextResolver::list() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Entry> out;
  out.reserve(impl_->docs.size());
  for (const auto& [url, d] : impl_->docs) out.push_back(Impl::entry_of(d));
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    if (a.created_at_ms != b.created_at_ms) return a.created_at_ms < b.created_at_ms;
    return a.url < b.url;
  });
  return out;
}

std::optional<ContextResolver::Entry> ContextResolver::get(std::string_view url_or_id) const {
  std::lock_guard lock(impl_->mu);
  const Impl::Doc* d = impl_->find(url_or_id);
  if (!d) return std::nullopt;
  return Impl::entry_of(*d);
}

namespace {

// Syntax check of a context a client asks us to host: every term definition
// must process; referenced URLs are not fetched now (they are at use).
Status check_hostable(const json::value& document) {
  const json::object* o = document.if_object();
  const json::value* ctx = o ? o->if_contains("@context") : nullptr;
  if (!ctx) return InvalidArgument("InvalidRequest: a hosted context document must be an object with \"@context\"");
  if (!ctx->is_object() && !ctx->is_array() && !ctx->is_string()) {
    return InvalidArgument("InvalidRequest: \"@context\" must be an object, an array or a URL string");
  }
  static const json::value kEmpty = json::parse(R"({"@context":{}})");
  auto r = Context::build(*ctx, [](std::string_view) { return &kEmpty; });
  return r.status();
}

}  // namespace

Result<std::string> ContextResolver::host(json::value document, std::string_view base_url) {
  if (auto st = check_hostable(document); !st.ok()) return st;
  std::lock_guard lock(impl_->mu);
  size_t pinned = 0;
  for (const auto& [url, d] : impl_->docs) pinned += d.kind != "Cached";
  if (pinned >= impl_->options.max_cached) {
    return Status(Code::kResourceExhausted, "already hosting " + std::to_string(pinned) + " contexts (the limit)");
  }
  std::string id = random_id();
  if (id.empty()) return Internal("no random bytes for a context id");
  std::string url = std::string(base_url) + "/" + id;
  impl_->insert(url, id, "Hosted", true, std::make_shared<const json::value>(std::move(document)));
  impl_->forget_built();  // a URL that failed before may now be this one
  return url;
}

Result<std::string> ContextResolver::implicit(const json::value& context, std::string_view base_url) {
  json::value document = json::object{{"@context", context}};
  if (auto st = check_hostable(document); !st.ok()) return st;
  std::string id = stable_id(json::serialize(context));
  std::string url = std::string(base_url) + "/" + id;
  std::lock_guard lock(impl_->mu);
  if (impl_->docs.contains(url)) return url;
  size_t pinned = 0;
  for (const auto& [u, d] : impl_->docs) pinned += d.kind != "Cached";
  if (pinned >= impl_->options.max_cached) {
    return Status(Code::kResourceExhausted, "already hosting " + std::to_string(pinned) + " contexts (the limit)");
  }
  impl_->insert(url, id, "ImplicitlyCreated", true, std::make_shared<const json::value>(std::move(document)));
  return url;
}

Status ContextResolver::remove(std::string_view url_or_id) {
  std::lock_guard lock(impl_->mu);
  Impl::Doc* d = impl_->find(url_or_id);
  if (!d) return NotFound("no @context '" + std::string(url_or_id) + "'");
  if (d->url == kCoreContextUrl) return InvalidArgument("BadRequestData: the core @context cannot be deleted");
  std::string url = d->url;
  impl_->erase(url);
  impl_->forget_built();
  return Status::Ok();
}

}  // namespace urbis::ngsild
