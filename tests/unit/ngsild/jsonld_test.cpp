// JSON-LD @context handling: expansion/compaction tables, the Link header, the
// resolver against a tiny HTTP server on 127.0.0.1, and the /jsonldContexts routes.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "http/router.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/context_routes.hpp"
#include "testutil/temp_dir.hpp"

namespace urbis::ngsild {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

constexpr std::string_view kSdm = "https://smartdatamodels.org/dataModel.Environment/";

std::shared_ptr<const Context> inline_ctx(std::string_view text) {
  auto r = Context::build(json::parse(text), nullptr);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Context::core();
}

// ---------------------------------------------------------------- expansion tables

TEST(JsonLdCore, ExpandCompactTable) {
  auto core = Context::core();
  struct Case { const char* term; const char* iri; };
  const Case cases[] = {
      {"location", "https://uri.etsi.org/ngsi-ld/location"},
      {"observedAt", "https://uri.etsi.org/ngsi-ld/observedAt"},
      {"value", "https://uri.etsi.org/ngsi-ld/hasValue"},
      {"object", "https://uri.etsi.org/ngsi-ld/hasObject"},
      {"Property", "https://uri.etsi.org/ngsi-ld/Property"},
      {"GeoProperty", "https://uri.etsi.org/ngsi-ld/GeoProperty"},
      {"Point", "https://purl.org/geojson/vocab#Point"},
      {"description", "http://purl.org/dc/terms/description"},
      {"temperature", "https://uri.etsi.org/ngsi-ld/default-context/temperature"},
      {"https://smartdatamodels.org/dataModel.Environment/NO2", "https://smartdatamodels.org/dataModel.Environment/NO2"},
      {"urn:ngsi-ld:Thing:1", "urn:ngsi-ld:Thing:1"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(core->expand(c.term), c.iri) << c.term;
    EXPECT_EQ(core->compact(c.iri), c.term) << c.iri;
    EXPECT_EQ(core->to_stored(c.term), c.term) << c.term;
    EXPECT_EQ(core->from_stored(c.term), c.term) << c.term;
  }
  // Compact IRIs: stored as the full IRI (one stored spelling per name), shown compact.
  for (auto [term, iri] : {std::pair{"ngsi-ld:foo", "https://uri.etsi.org/ngsi-ld/foo"},
                           std::pair{"geojson:Other", "https://purl.org/geojson/vocab#Other"}}) {
    EXPECT_EQ(core->expand(term), iri);
    EXPECT_EQ(core->compact(iri), term);
    EXPECT_EQ(core->to_stored(term), iri);
    EXPECT_EQ(core->to_stored(iri), iri);
    EXPECT_EQ(core->from_stored(iri), term);
  }
  // Keywords and their aliases pass through.
  for (const char* k : {"id", "type", "@id", "@type", "@context"}) EXPECT_EQ(core->expand(k), k);
  EXPECT_EQ(core->compact("@id"), "id");
  EXPECT_TRUE(core->is_core());
  EXPECT_EQ(core->source(), json::value(kCoreContextUrl));
  EXPECT_EQ(core->link_url(), kCoreContextUrl);
  EXPECT_EQ(core->vocab(), kDefaultVocab);
  EXPECT_EQ(core->term_type("observedAt"), "https://uri.etsi.org/ngsi-ld/DateTime");
  EXPECT_EQ(core->term_type("vocab"), "@vocab");
  EXPECT_EQ(core->term_type("temperature"), "");
}

TEST(JsonLdCore, DefaultContextIriNeverBecomesACompactIri) {
  // The "ngsi-ld" prefix covers the default context too; @vocab must win.
  auto core = Context::core();
  EXPECT_EQ(core->compact(std::string(kDefaultVocab) + "NO2"), "NO2");
  // A default-context name that collides with a core term stays an IRI.
  EXPECT_EQ(core->to_stored(std::string(kDefaultVocab) + "location"), std::string(kDefaultVocab) + "location");
  EXPECT_EQ(core->compact(std::string(kDefaultVocab) + "location"), "ngsi-ld:default-context/location");
  EXPECT_EQ(core->expand("ngsi-ld:default-context/location"), std::string(kDefaultVocab) + "location");
  // ... and one with a ':' in it too (it would read back as an IRI).
  EXPECT_EQ(core->compact(std::string(kDefaultVocab) + "a:b"), "ngsi-ld:default-context/a:b");
}

TEST(JsonLdCore, CoreDocumentIsServedAndCompleteForCommonTerms) {
  const json::value& doc = core_context_document();
  const json::object& ctx = doc.at("@context").as_object();
  for (const char* t : {"id", "type", "value", "object", "location", "observedAt", "createdAt", "modifiedAt",
                        "unitCode", "datasetId", "Property", "Relationship", "GeoProperty", "LanguageProperty",
                        "languageMap", "VocabProperty", "vocab", "ListProperty", "valueList", "JsonProperty", "json",
                        "Subscription", "Notification", "entities", "watchedAttributes", "notification",
                        "endpoint", "uri", "accept", "q", "geoQ", "georel", "coordinates", "Point", "Polygon"}) {
    EXPECT_TRUE(ctx.contains(t)) << t;
  }
  EXPECT_EQ(ctx.at("@vocab"), json::value(kDefaultVocab));
}

TEST(JsonLdUser, UserTermsPrefixesAndCanonicalRoundTrips) {
  auto ctx = inline_ctx(R"({
    "sdm": "https://smartdatamodels.org/dataModel.Environment/",
    "NO2": "sdm:NO2",
    "AirQualityObserved": {"@id": "sdm:AirQualityObserved"},
    "temp": "https://uri.etsi.org/ngsi-ld/default-context/temperature",
    "category": {"@id": "https://example.org/category", "@type": "@vocab"}
  })");
  EXPECT_FALSE(ctx->is_core());
  struct Case { const char* term; const char* iri; const char* stored; };
  const Case cases[] = {
      {"NO2", "https://smartdatamodels.org/dataModel.Environment/NO2",
       "https://smartdatamodels.org/dataModel.Environment/NO2"},
      {"AirQualityObserved", "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved",
       "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"},
      {"sdm:CO", "https://smartdatamodels.org/dataModel.Environment/CO",
       "https://smartdatamodels.org/dataModel.Environment/CO"},
      {"temp", "https://uri.etsi.org/ngsi-ld/default-context/temperature", "temperature"},
      {"humidity", "https://uri.etsi.org/ngsi-ld/default-context/humidity", "humidity"},
      {"location", "https://uri.etsi.org/ngsi-ld/location", "location"},
      {"category", "https://example.org/category", "https://example.org/category"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ctx->expand(c.term), c.iri) << c.term;
    EXPECT_EQ(ctx->to_stored(c.term), c.stored) << c.term;
    EXPECT_EQ(ctx->from_stored(c.stored), c.term) << c.stored;
    EXPECT_EQ(ctx->compact(c.iri), c.term) << c.iri;
  }
  EXPECT_EQ(ctx->term_type("category"), "@vocab");
  // The core context alone shows those stored names as IRIs (or the bare term).
  EXPECT_EQ(Context::core()->from_stored("https://smartdatamodels.org/dataModel.Environment/NO2"),
            "https://smartdatamodels.org/dataModel.Environment/NO2");
  EXPECT_EQ(Context::core()->from_stored("temperature"), "temperature");
}

TEST(JsonLdUser, LaterDefinitionsWinAndOverrideCore) {
  auto ctx = inline_ctx(R"([
    {"speed": "https://a.example/speed"},
    {"speed": "https://b.example/speed", "location": "https://b.example/where"}
  ])");
  EXPECT_EQ(ctx->expand("speed"), "https://b.example/speed");
  EXPECT_EQ(ctx->to_stored("location"), "https://b.example/where");
  // The core "location" is then written as a compact IRI in this context.
  EXPECT_EQ(ctx->from_stored("location"), "ngsi-ld:location");
  EXPECT_EQ(ctx->source().as_array().size(), 2u);
}

TEST(JsonLdUser, VocabAndTermOrderIndependence) {
  auto ctx = inline_ctx(R"({"NO2": "sdm:NO2", "sdm": "https://sdm.example/", "@vocab": "https://city.example/v#"})");
  EXPECT_EQ(ctx->expand("NO2"), "https://sdm.example/NO2");
  EXPECT_EQ(ctx->expand("speed"), "https://city.example/v#speed");
  EXPECT_EQ(ctx->to_stored("speed"), "https://city.example/v#speed");
  EXPECT_EQ(ctx->from_stored("https://city.example/v#speed"), "speed");
  // A default-context stored name is no bare term any more in this context.
  EXPECT_EQ(ctx->from_stored("temperature"), "ngsi-ld:default-context/temperature");
}

TEST(JsonLdUser, NonPrefixTermsDoNotExpandCompactIris) {
  // JSON-LD 1.1: a term whose IRI does not end in a gen-delim is no prefix.
  auto ctx = inline_ctx(R"({"ex": "https://ex.example/thing", "pre": {"@id": "https://p.example/x", "@prefix": true}})");
  EXPECT_EQ(ctx->expand("ex:foo"), "ex:foo");
  EXPECT_EQ(ctx->expand("pre:foo"), "https://p.example/xfoo");
  EXPECT_EQ(ctx->compact("https://ex.example/thingfoo"), "https://ex.example/thingfoo");
}

TEST(JsonLdUser, MalformedContextsNameTheProblem) {
  struct Case { const char* ctx; const char* needle; };
  const Case cases[] = {
      {"5", "got a number"},
      {"true", "got a boolean"},
      {"[1]", "got a number"},
      {R"({"x": 5})", "term 'x'"},
      {R"({"x": {"@id": 5}})", "@id of term 'x'"},
      {R"({"a": "b:x", "b": "a:y"})", "cyclic"},
      {R"({"x": {"@type": 5}})", "@type of term 'x'"},
      {R"({"ngsi-ld:x": "https://other.example/x"})", "looks like the IRI"},
      {R"({"@vocab": 3})", "@vocab"},
      {R"("relative.jsonld")", "relative"},
      {R"({"@import": 1})", "@import"},
  };
  for (const auto& c : cases) {
    auto r = Context::build(json::parse(c.ctx), nullptr);
    ASSERT_FALSE(r.ok()) << c.ctx;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.ctx;
    EXPECT_TRUE(r.status().message().starts_with("InvalidRequest: ")) << r.status().message();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << c.ctx << " -> " << r.status().message();
  }
  auto r = Context::build(json::value("https://nowhere.example/ctx.jsonld"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "LdContextNotAvailable: https://nowhere.example/ctx.jsonld");
}

TEST(JsonLdUser, RemoteDocumentsViaLookupNestedAndRelative) {
  std::map<std::string, json::value, std::less<>> docs;
  docs["https://a.example/ctx/main.jsonld"] = json::parse(R"({"@context": ["other.jsonld", {"x": "o:x"}]})");
  docs["https://a.example/ctx/other.jsonld"] = json::parse(R"({"@context": {"o": "https://o.example/"}})");
  docs["https://a.example/loop.jsonld"] = json::parse(R"({"@context": "loop.jsonld"})");
  auto lookup = [&](std::string_view u) -> const json::value* {
    auto it = docs.find(u);
    return it == docs.end() ? nullptr : &it->second;
  };
  auto r = Context::build(json::value("https://a.example/ctx/main.jsonld"), lookup);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->expand("x"), "https://o.example/x");
  EXPECT_EQ((*r)->link_url(), "https://a.example/ctx/main.jsonld");
  auto urls = Context::referenced_urls(docs["https://a.example/ctx/main.jsonld"].at("@context"),
                                       "https://a.example/ctx/main.jsonld");
  ASSERT_TRUE(urls.ok());
  EXPECT_EQ(*urls, std::vector<std::string>{"https://a.example/ctx/other.jsonld"});
  auto loop = Context::build(json::value("https://a.example/loop.jsonld"), lookup);
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.status().message().find("recursive"), std::string::npos);
  // Every published core context URL is answered by the built-in copy.
  auto old = Context::build(json::value("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld"), nullptr);
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE((*old)->is_core());
}

// ---------------------------------------------------------------- Link header

TEST(JsonLdLink, ParsesTheContextLink) {
  struct Case { const char* header; const char* url; };
  const Case cases[] = {
      {R"(<https://a.example/c.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json")",
       "https://a.example/c.jsonld"},
      {R"(<https://a.example/c.jsonld>;rel="http://www.w3.org/ns/json-ld#context")", "https://a.example/c.jsonld"},
      {R"(<https://a.example/c.jsonld> ; rel=http://www.w3.org/ns/json-ld#context)", "https://a.example/c.jsonld"},
      {R"(<https://x.example/next>; rel="next", <https://a.example/c?x=1,2>; REL="alternate http://www.w3.org/ns/json-ld#context")",
       "https://a.example/c?x=1,2"},
      {R"(, <https://a.example/c>; title="a \"quoted\"; value"; rel="http://www.w3.org/ns/json-ld#context",)",
       "https://a.example/c"},
  };
  for (const auto& c : cases) {
    auto r = context_url_from_link_header(c.header);
    ASSERT_TRUE(r.ok()) << c.header << ": " << r.status().message();
    ASSERT_TRUE(r->has_value()) << c.header;
    EXPECT_EQ(**r, c.url);
  }
  for (const char* none : {"", "   ", R"(<https://x.example/>; rel="next")"}) {
    auto r = context_url_from_link_header(none);
    ASSERT_TRUE(r.ok()) << none;
    EXPECT_FALSE(r->has_value()) << none;
  }
}

TEST(JsonLdLink, RejectsMalformedHeaders) {
  const char* bad[] = {
      "https://a.example/c.jsonld",
      "<https://a.example/c.jsonld",
      R"(<https://a.example/c>; rel="http://www.w3.org/ns/json-ld#context)",
      R"(<https://a.example/c> rel="x")",
      R"(<https://a.example/c>; ="x")",
      R"(<relative.jsonld>; rel="http://www.w3.org/ns/json-ld#context")",
      R"(<>; rel="http://www.w3.org/ns/json-ld#context")",
      R"(<https://a.example/1>; rel="http://www.w3.org/ns/json-ld#context", <https://a.example/2>; rel="http://www.w3.org/ns/json-ld#context")",
  };
  for (const char* h : bad) {
    auto r = context_url_from_link_header(h);
    ASSERT_FALSE(r.ok()) << h;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << h;
    EXPECT_TRUE(r.status().message().starts_with("InvalidRequest: Link header: ")) << r.status().message();
  }
}

TEST(JsonLdLink, RoundTripsItsOwnHeader) {
  std::string h = link_header_for("https://a.example/c.jsonld");
  EXPECT_EQ(h, R"(<https://a.example/c.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json")");
  auto r = context_url_from_link_header(h);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(**r, "https://a.example/c.jsonld");
}

// ---------------------------------------------------------------- resolver

// A tiny HTTP/1.1 server on 127.0.0.1 that counts requests per path. A path
// can answer at once, be held until release(), or never answer.
class TestServer {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;
    std::string location;
    bool hold = false;   // answer only at release()
    bool never = false;  // keep the connection open, never answer
  };

  TestServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }

  void set(const std::string& path, Reply r) {
    std::lock_guard lock(mu_);
    replies_[path] = std::move(r);
  }
  int hits(const std::string& path) {
    std::lock_guard lock(mu_);
    return hits_[path];
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  // Answers every held request of `path`.
  void release(const std::string& path) {
    asio::post(io_, [this, path] {
      std::vector<std::shared_ptr<Conn>> conns;
      {
        std::lock_guard lock(mu_);
        replies_[path].hold = false;
        conns.swap(held_[path]);
      }
      for (auto& c : conns) answer(c, path);
    });
  }

 private:
  struct Conn {
    explicit Conn(asio::ip::tcp::socket s) : sock(std::move(s)) {}
    asio::ip::tcp::socket sock;
    beast::flat_buffer buf;
    bhttp::request<bhttp::string_body> req;
    bhttp::response<bhttp::string_body> res;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<Conn>(std::move(s));
      bhttp::async_read(c->sock, c->buf, c->req, [this, c](boost::system::error_code e, size_t) {
        if (e) return;
        std::string path(c->req.target());
        Reply r;
        {
          std::lock_guard lock(mu_);
          hits_[path]++;
          r = replies_[path];
          if (r.hold || r.never) {
            held_[path].push_back(c);
            return;
          }
        }
        answer(c, path);
      });
      accept();
    });
  }

  void answer(const std::shared_ptr<Conn>& c, const std::string& path) {
    Reply r;
    {
      std::lock_guard lock(mu_);
      r = replies_[path];
    }
    c->res.result(r.status == 0 ? 404 : r.status);
    c->res.version(11);
    c->res.set(bhttp::field::content_type, "application/ld+json");
    if (!r.location.empty()) c->res.set(bhttp::field::location, r.location);
    c->res.body() = r.body;
    c->res.prepare_payload();
    bhttp::async_write(c->sock, c->res, [c](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      c->sock.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    });
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, Reply> replies_;
  std::map<std::string, int> hits_;
  std::map<std::string, std::vector<std::shared_ptr<Conn>>> held_;
};

// The resolver's io_context on its own thread, as the server runs it.
class ResolverFixture : public ::testing::Test {
 protected:
  void SetUp() override {}
  void TearDown() override {
    resolver_.reset();
    if (thread_.joinable()) {
      work_.reset();
      io_.stop();
      thread_.join();
    }
  }
  ContextResolver& make(ContextOptions o = {}) {
    resolver_ = std::make_unique<ContextResolver>(io_, std::move(o));
    thread_ = std::thread([this] { io_.run(); });
    return *resolver_;
  }
  using R = Result<std::shared_ptr<const Context>>;
  // A safety net against a hang, not a timing assertion.
  static R wait(std::future<R>& f) {
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) return Internal("resolution never completed");
    return f.get();
  }
  R resolve(const json::value& v) {
    auto p = std::make_shared<std::promise<R>>();
    auto f = p->get_future();
    resolver_->resolve(v, [p](R r) { p->set_value(std::move(r)); });
    return wait(f);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{asio::make_work_guard(io_)};
  std::unique_ptr<ContextResolver> resolver_;
  std::thread thread_;
};

TEST_F(ResolverFixture, InlineObjectsArraysAndNullNeedNoNetwork) {
  auto& res = make();
  bool called = false;
  res.resolve(json::parse(R"({"speed": "https://s.example/speed"})"), [&](R r) {
    called = true;
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)->expand("speed"), "https://s.example/speed");
    EXPECT_EQ((*r)->source(), json::parse(R"({"speed": "https://s.example/speed"})"));
  });
  EXPECT_TRUE(called) << "an inline context resolves before resolve() returns";
  auto arr = resolve(json::parse(R"([{"a": "https://x.example/a"}, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"])"));
  ASSERT_TRUE(arr.ok()) << arr.status().message();
  EXPECT_EQ((*arr)->expand("a"), "https://x.example/a");
  auto core = resolve(json::value(nullptr));
  ASSERT_TRUE(core.ok());
  EXPECT_TRUE((*core)->is_core());
  auto bad = resolve(json::parse("42"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(bad.status().message().starts_with("InvalidRequest: "));
}

TEST_F(ResolverFixture, RemoteContextIsFetchedOnceAndCached) {
  TestServer server;
  server.set("/main.jsonld", {200, R"({"@context": ["nested.jsonld", {"NO2": "sdm:NO2"}]})"});
  server.set("/nested.jsonld", {200, R"({"@context": {"sdm": "https://smartdatamodels.org/dataModel.Environment/"}})"});
  auto& res = make();
  for (int i = 0; i < 3; ++i) {
    auto r = resolve(json::value(server.url("/main.jsonld")));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ((*r)->expand("NO2"), std::string(kSdm) + "NO2");
    EXPECT_EQ((*r)->to_stored("NO2"), std::string(kSdm) + "NO2");
    EXPECT_EQ((*r)->link_url(), server.url("/main.jsonld"));
  }
  // An array naming the same URL reuses the cached documents.
  auto arr = resolve(json::array{json::value(server.url("/main.jsonld")), json::value(kCoreContextUrl)});
  ASSERT_TRUE(arr.ok()) << arr.status().message();
  EXPECT_EQ(server.hits("/main.jsonld"), 1);
  EXPECT_EQ(server.hits("/nested.jsonld"), 1);
  auto e = res.get(server.url("/main.jsonld"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, "Cached");
  EXPECT_GE(e->hits, 3u);
  EXPECT_TRUE(e->document.as_object().contains("@context"));
  EXPECT_TRUE(res.get(e->id).has_value()) << "found by local id too";
}

TEST_F(ResolverFixture, ConcurrentResolutionsShareOneFetch) {
  TestServer server;
  server.set("/slow.jsonld", {200, R"({"@context": {"x": "https://x.example/x"}})", "", /*hold=*/true});
  auto& res = make();
  std::vector<std::future<R>> futures;
  for (int i = 0; i < 5; ++i) {
    auto p = std::make_shared<std::promise<R>>();
    futures.push_back(p->get_future());
    res.resolve(json::value(server.url("/slow.jsonld")), [p](R r) { p->set_value(std::move(r)); });
  }
  // Wait until the one fetch reached the server, then let it answer.
  for (int i = 0; i < 3000 && server.hits("/slow.jsonld") == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.release("/slow.jsonld");
  for (auto& f : futures) {
    auto r = wait(f);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ((*r)->expand("x"), "https://x.example/x");
  }
  EXPECT_EQ(server.hits("/slow.jsonld"), 1);
}

TEST_F(ResolverFixture, FailuresAreLdContextNotAvailableNamingTheUrl) {
  TestServer server;
  server.set("/never.jsonld", {200, "", "", false, /*never=*/true});
  server.set("/html", {200, "<html>not json</html>"});
  server.set("/big.jsonld", {200, R"({"@context": {"x": ")" + std::string(5000, 'a') + R"("}})"});
  server.set("/nocontext.json", {200, R"({"hello": 1})"});
  server.set("/missing.jsonld", {404, "nope"});
  ContextOptions o;
  o.fetch_timeout = std::chrono::milliseconds(300);
  o.max_bytes = 1000;
  make(o);
  struct Case { const char* path; const char* why; };
  const Case cases[] = {
      {"/never.jsonld", "timed out"},
      {"/html", "not JSON"},
      {"/big.jsonld", "larger than 1000 bytes"},
      {"/nocontext.json", "no top-level \"@context\""},
      {"/missing.jsonld", "HTTP status 404"},
  };
  for (const auto& c : cases) {
    auto r = resolve(json::value(server.url(c.path)));
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << c.path;
    EXPECT_TRUE(r.status().message().starts_with("LdContextNotAvailable: " + server.url(c.path)))
        << r.status().message();
    EXPECT_NE(r.status().message().find(c.why), std::string::npos) << r.status().message();
  }
  // Nothing broken is cached: a second try fetches again.
  auto again = resolve(json::value(server.url("/html")));
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(server.hits("/html"), 2);
  // Connection refused (a port nobody listens on).
  auto refused = resolve(json::value("http://127.0.0.1:1/x.jsonld"));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().message().starts_with("LdContextNotAvailable: http://127.0.0.1:1/x.jsonld"));
}

TEST_F(ResolverFixture, FollowsRedirects) {
  TestServer server;
  server.set("/old", {301, "", "/new"});
  server.set("/new", {200, R"({"@context": {"y": "https://y.example/y"}})"});
  server.set("/loop", {302, "", "/loop"});
  make();
  auto r = resolve(json::value(server.url("/old")));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->expand("y"), "https://y.example/y");
  auto loop = resolve(json::value(server.url("/loop")));
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.status().message().find("redirects"), std::string::npos) << loop.status().message();
  EXPECT_EQ(server.hits("/loop"), 4);
}

TEST_F(ResolverFixture, PreloadedContextsWorkWithoutAnyServer) {
  testutil::TempDir dir;
  std::string file = dir.path() + "/sdm.jsonld";
  std::ofstream(file) << R"({"@context": {"NO2": "https://smartdatamodels.org/dataModel.Environment/NO2"}})";
  ContextOptions o;
  o.preload["https://smartdatamodels.org/context.jsonld"] = file;
  auto& res = make(o);
  ASSERT_TRUE(res.start().ok());
  auto r = resolve(json::value("https://smartdatamodels.org/context.jsonld"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->to_stored("NO2"), std::string(kSdm) + "NO2");

  ContextOptions bad;
  bad.preload["https://x.example/c.jsonld"] = dir.path() + "/missing.jsonld";
  asio::io_context io2;
  ContextResolver r2(io2, bad);
  auto st = r2.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find(dir.path() + "/missing.jsonld"), std::string::npos) << st.message();
  std::ofstream(dir.path() + "/bad.jsonld") << "{not json";
  ContextOptions bad2;
  bad2.preload["https://x.example/c.jsonld"] = dir.path() + "/bad.jsonld";
  ContextResolver r3(io2, bad2);
  EXPECT_FALSE(r3.start().ok());
}

TEST_F(ResolverFixture, LruBoundEvictsTheLeastRecentlyUsed) {
  TestServer server;
  for (const char* p : {"/1", "/2", "/3"}) server.set(p, {200, R"({"@context": {"t": "https://t.example/"}})"});
  ContextOptions o;
  o.max_cached = 2;
  auto& res = make(o);
  ASSERT_TRUE(resolve(json::value(server.url("/1"))).ok());
  ASSERT_TRUE(resolve(json::value(server.url("/2"))).ok());
  ASSERT_TRUE(resolve(json::value(server.url("/1"))).ok());  // /1 is now the most recent
  ASSERT_TRUE(resolve(json::value(server.url("/3"))).ok());  // evicts /2
  size_t cached = 0;
  for (const auto& e : res.list()) cached += e.kind == "Cached" && e.url != kCoreContextUrl;
  EXPECT_EQ(cached, 2u);
  EXPECT_TRUE(res.get(server.url("/1")).has_value());
  EXPECT_FALSE(res.get(server.url("/2")).has_value());
  ASSERT_TRUE(resolve(json::value(server.url("/2"))).ok());
  EXPECT_EQ(server.hits("/2"), 2);
  EXPECT_EQ(server.hits("/1"), 1);
}

TEST_F(ResolverFixture, HostedAndImplicitContexts) {
  auto& res = make();
  auto url = res.host(json::parse(R"({"@context": {"h": "https://h.example/h"}})"), "http://127.0.0.1:1/ngsi-ld/v1/jsonldContexts");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_TRUE(url->starts_with("http://127.0.0.1:1/ngsi-ld/v1/jsonldContexts/"));
  // Resolving the hosted URL never goes to the network.
  auto r = resolve(json::value(*url));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->expand("h"), "https://h.example/h");
  auto e = res.get(*url);
  ASSERT_TRUE(e && e->kind == "Hosted");
  EXPECT_FALSE(res.host(json::parse(R"({"nocontext": 1})"), "http://127.0.0.1:1").ok());
  EXPECT_FALSE(res.host(json::parse(R"({"@context": {"x": 5}})"), "http://127.0.0.1:1").ok());

  json::value inline_ctx = json::parse(R"([{"i": "https://i.example/i"}])");
  auto i1 = res.implicit(inline_ctx, "http://127.0.0.1:1/ngsi-ld/v1/jsonldContexts");
  auto i2 = res.implicit(inline_ctx, "http://127.0.0.1:1/ngsi-ld/v1/jsonldContexts");
  ASSERT_TRUE(i1.ok() && i2.ok());
  EXPECT_EQ(*i1, *i2);
  EXPECT_EQ(res.get(*i1)->kind, "ImplicitlyCreated");

  EXPECT_TRUE(res.remove(*url).ok());
  EXPECT_EQ(res.remove(*url).code(), Code::kNotFound);
  EXPECT_FALSE(res.remove(kCoreContextUrl).ok());
  auto gone = resolve(json::value(*url));
  EXPECT_FALSE(gone.ok());
}

// ---------------------------------------------------------------- routes

http::Response call(const http::Router& router, bhttp::verb verb, std::string target, std::string body = {}) {
  http::Request req;
  req.method = verb;
  req.target = std::move(target);
  req.body = std::move(body);
  req.headers.set(bhttp::field::host, "broker:8080");
  std::promise<http::Response> p;
  auto f = p.get_future();
  router.dispatch(std::move(req), [&p](http::Response r) { p.set_value(std::move(r)); });
  f.wait_for(std::chrono::seconds(30));
  return f.get();
}

TEST_F(ResolverFixture, JsonldContextsRoutes) {
  auto& res = make();
  http::Router router;
  ASSERT_TRUE(register_context_routes(router, res).ok());

  auto list = call(router, bhttp::verb::get, "/ngsi-ld/v1/jsonldContexts");
  ASSERT_EQ(list.status, bhttp::status::ok);
  EXPECT_NE(list.body.find(std::string(kCoreContextUrl)), std::string::npos);

  auto created = call(router, bhttp::verb::post, "/ngsi-ld/v1/jsonldContexts", R"({"@context": {"h": "https://h.example/h"}})");
  ASSERT_EQ(created.status, bhttp::status::created) << created.body;
  ASSERT_EQ(created.headers.size(), 1u);
  std::string url = created.headers[0].second;
  EXPECT_TRUE(url.starts_with("http://broker:8080/ngsi-ld/v1/jsonldContexts/")) << url;
  std::string id = url.substr(url.rfind('/') + 1);

  auto doc = call(router, bhttp::verb::get, "/ngsi-ld/v1/jsonldContexts/" + id);
  ASSERT_EQ(doc.status, bhttp::status::ok);
  EXPECT_EQ(doc.content_type, "application/ld+json");
  EXPECT_EQ(json::parse(doc.body), json::parse(R"({"@context": {"h": "https://h.example/h"}})"));

  auto core = call(router, bhttp::verb::get, "/ngsi-ld/v1/jsonldContexts/https%3A%2F%2Furi.etsi.org%2Fngsi-ld%2Fv1%2Fngsi-ld-core-context-v1.8.jsonld");
  ASSERT_EQ(core.status, bhttp::status::ok);
  EXPECT_EQ(json::parse(core.body), core_context_document());

  auto details = call(router, bhttp::verb::get, "/ngsi-ld/v1/jsonldContexts?details=true&kind=Hosted");
  ASSERT_EQ(details.status, bhttp::status::ok);
  auto arr = json::parse(details.body).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("URL"), json::value(url));
  EXPECT_EQ(arr[0].at("localId"), json::value(id));
  EXPECT_EQ(arr[0].at("kind"), "Hosted");
  EXPECT_TRUE(arr[0].as_object().contains("createdAt"));

  auto badkind = call(router, bhttp::verb::get, "/ngsi-ld/v1/jsonldContexts?kind=Other");
  EXPECT_EQ(badkind.status, bhttp::status::bad_request);
  EXPECT_EQ(badkind.content_type, "application/problem+json");
  EXPECT_NE(badkind.body.find("\"field\":\"kind\""), std::string::npos);

  auto notjson = call(router, bhttp::verb::post, "/ngsi-ld/v1/jsonldContexts", "{");
  EXPECT_EQ(notjson.status, bhttp::status::bad_request);
  EXPECT_NE(notjson.body.find("errors/InvalidRequest"), std::string::npos);
  auto badterm = call(router, bhttp::verb::post, "/ngsi-ld/v1/jsonldContexts", R"({"@context": {"x": 1}})");
  EXPECT_EQ(badterm.status, bhttp::status::bad_request);
  EXPECT_NE(badterm.body.find("term 'x'"), std::string::npos);

  auto delcore = call(router, bhttp::verb::delete_, "/ngsi-ld/v1/jsonldContexts/https%3A%2F%2Furi.etsi.org%2Fngsi-ld%2Fv1%2Fngsi-ld-core-context-v1.8.jsonld");
  EXPECT_EQ(delcore.status, bhttp::status::bad_request);
  auto reload = call(router, bhttp::verb::delete_, "/ngsi-ld/v1/jsonldContexts/" + id + "?reload=true");
  EXPECT_EQ(reload.status, bhttp::status::bad_request);
  auto del = call(router, bhttp::verb::delete_, "/ngsi-ld/v1/jsonldContexts/" + id);
  EXPECT_EQ(del.status, bhttp::status::no_content);
  auto again = call(router, bhttp::verb::get, "/ngsi-ld/v1/jsonldContexts/" + id);
  EXPECT_EQ(again.status, bhttp::status::not_found);
  EXPECT_NE(again.body.find("errors/ResourceNotFound"), std::string::npos);
}

TEST(JsonLdRoutes, ContextProblemMapsModuleFailures) {
  auto p = context_problem(Status(Code::kUnavailable, "LdContextNotAvailable: https://x.example/c: timed out"));
  EXPECT_EQ(p.status, bhttp::status::service_unavailable);
  auto body = json::parse(p.body);
  EXPECT_EQ(body.at("type"), "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable");
  EXPECT_EQ(body.at("detail"), "https://x.example/c: timed out");
  auto q = context_problem(InvalidArgument("InvalidRequest: bad"));
  EXPECT_EQ(q.status, bhttp::status::bad_request);
  EXPECT_EQ(json::parse(q.body).at("type"), "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest");
}

}  // namespace
}  // namespace urbis::ngsild
