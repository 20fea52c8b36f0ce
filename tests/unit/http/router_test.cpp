#include "http/router.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace urbis::http {
namespace {

using bhttp::verb;

// Dispatches synchronously (every handler here answers at once).
Response run(const Router& r, verb method, std::string target) {
  Request req;
  req.method = method;
  req.target = std::move(target);
  std::optional<Response> out;
  r.dispatch(std::move(req), [&](Response res) { out = std::move(res); });
  EXPECT_TRUE(out.has_value()) << "dispatch did not reply";
  return out ? *out : Response{};
}

boost::json::object body_of(const Response& r) { return boost::json::parse(r.body).as_object(); }

Router sample() {
  Router r;
  EXPECT_TRUE(r.add(verb::get, "/e/{id}", "one entity", [](const Request& q) {
                 return Response::json({{"route", "by-id"}, {"id", std::string(*q.param("id"))}});
               }).ok());
  EXPECT_TRUE(r.add(verb::get, "/e/count", "count", [](const Request&) {
                 return Response::json({{"route", "count"}});
               }).ok());
  EXPECT_TRUE(r.add(verb::delete_, "/e/{id}", "delete | remove", [](const Request&) {
                 Response res;
                 res.status = bhttp::status::no_content;
                 return res;
               }).ok());
  EXPECT_TRUE(r.add(verb::get, "/a/{x}/b/{y}", "two params", [](const Request& q) {
                 auto lim = q.query_param("limit");
                 return Response::json({{"x", std::string(*q.param("x"))},
                                        {"y", std::string(*q.param("y"))},
                                        {"limit", lim ? std::string(*lim) : "none"}});
               }).ok());
  return r;
}

TEST(Router, PathParamsAreDecodedAndQueryParsed) {
  Router r = sample();
  auto res = run(r, verb::get, "/a/urn%3Angsi-ld%3AX/b/y%20z?limit=5&limit=7&q=a%3Db");
  ASSERT_EQ(res.status, bhttp::status::ok);
  auto o = body_of(res);
  EXPECT_EQ(o["x"].as_string(), "urn:ngsi-ld:X");
  EXPECT_EQ(o["y"].as_string(), "y z");
  EXPECT_EQ(o["limit"].as_string(), "5");  // first of a repeated key wins
}

TEST(Router, LiteralSegmentBeatsParameter) {
  Router r = sample();
  EXPECT_EQ(body_of(run(r, verb::get, "/e/count"))["route"].as_string(), "count");
  auto o = body_of(run(r, verb::get, "/e/abc"));
  EXPECT_EQ(o["route"].as_string(), "by-id");
  EXPECT_EQ(o["id"].as_string(), "abc");
}

TEST(Router, UnknownPathIs404ProblemDetails) {
  Router r = sample();
  for (const char* target : {"/nope", "/e", "/e/abc/extra", "/e/", "/"}) {
    SCOPED_TRACE(target);
    auto res = run(r, verb::get, target);
    EXPECT_EQ(res.status, bhttp::status::not_found);
    EXPECT_EQ(res.content_type, "application/problem+json");
    auto o = body_of(res);
    EXPECT_EQ(o["status"].as_int64(), 404);
    EXPECT_EQ(o["type"].as_string(), "about:blank");
    EXPECT_EQ(o["title"].as_string(), "Not Found");
    EXPECT_TRUE(o["detail"].is_string());
  }
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router r = sample();
  auto res = run(r, verb::post, "/e/abc");
  EXPECT_EQ(res.status, bhttp::status::method_not_allowed);
  EXPECT_EQ(res.content_type, "application/problem+json");
  std::string allow;
  for (auto& [k, v] : res.headers) {
    if (k == "Allow") allow = v;
  }
  EXPECT_EQ(allow, "DELETE, GET");
  EXPECT_EQ(body_of(res)["status"].as_int64(), 405);
  // DELETE on the literal path falls through to the parameter route.
  EXPECT_EQ(run(r, verb::delete_, "/e/count").status, bhttp::status::no_content);
}

// NGSI-LD users type q and coordinates unencoded (curl sends them as typed):
// the query is read as they meant it.
TEST(Router, UnencodedQueryCharactersAreReadAsTyped) {
  Router r = sample();
  auto res = run(r, verb::get, "/a/x/b/y?limit=NO2>35;a<2|b[c]==\"d e\"^{}`\\&q=1");
  ASSERT_EQ(res.status, bhttp::status::ok) << res.body;
  EXPECT_EQ(body_of(res)["limit"].as_string(), "NO2>35;a<2|b[c]==\"d e\"^{}`\\");
  res = run(r, verb::get, "/a/x/b/y?limit=[2.35,48.85]");
  ASSERT_EQ(res.status, bhttp::status::ok) << res.body;
  EXPECT_EQ(body_of(res)["limit"].as_string(), "[2.35,48.85]");
  // UTF-8 typed as is.
  res = run(r, verb::get, "/a/x/b/y?limit=Z\xC3\xBCrich");
  ASSERT_EQ(res.status, bhttp::status::ok) << res.body;
  EXPECT_EQ(body_of(res)["limit"].as_string(), "Z\xC3\xBCrich");
  // A broken escape is still refused.
  EXPECT_EQ(run(r, verb::get, "/a/x/b/y?limit=%zz").status, bhttp::status::bad_request);
}

TEST(Router, BadTargetIs400) {
  Router r = sample();
  auto res = run(r, verb::get, "not a path");
  EXPECT_EQ(res.status, bhttp::status::bad_request);
  EXPECT_EQ(body_of(res)["status"].as_int64(), 400);
}

TEST(Router, RejectsInvalidPatternsAndDuplicates) {
  Router r;
  auto ok = [](const Request&) { return Response{}; };
  for (const char* p : {"", "api", "/a/{}", "/a/{x", "/a/x}", "/a/{x}/{x}", "/a/b{x}"}) {
    SCOPED_TRACE(p);
    Status s = r.add(verb::get, p, "", ok);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(r.add(verb::get, "/a/{x}", "", ok).ok());
  Status dup = r.add(verb::get, "/a/{x}", "", ok);
  EXPECT_EQ(dup.code(), Code::kInvalidArgument);
  EXPECT_NE(dup.message().find("/a/{x}"), std::string::npos);
  EXPECT_TRUE(r.add(verb::put, "/a/{x}", "", ok).ok());
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(Router, AsyncHandlerRepliesLater) {
  Router r;
  Reply saved;
  ASSERT_TRUE(r.add_async(verb::post, "/later", "async", [&](Request req, Reply reply) {
                 EXPECT_EQ(req.body, "payload");
                 saved = std::move(reply);
               }).ok());
  std::optional<Response> out;
  Request req;
  req.method = verb::post;
  req.target = "/later";
  req.body = "payload";
  r.dispatch(std::move(req), [&](Response res) { out = std::move(res); });
  EXPECT_FALSE(out.has_value());
  ASSERT_TRUE(saved);
  saved(Response::json({{"done", true}}, bhttp::status::created));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, bhttp::status::created);
}

TEST(Problem, HasRfc7807MembersAndKeepsThemOverExtras) {
  auto res = problem(bhttp::status::unprocessable_entity, "https://example.org/bad-field", "Bad field",
                     "attribute 'temp' must be a number", {{"field", "temp"}, {"status", 1}});
  EXPECT_EQ(res.status, bhttp::status::unprocessable_entity);
  EXPECT_EQ(res.content_type, "application/problem+json");
  auto o = body_of(res);
  EXPECT_EQ(o["type"].as_string(), "https://example.org/bad-field");
  EXPECT_EQ(o["title"].as_string(), "Bad field");
  EXPECT_EQ(o["status"].as_int64(), 422);
  EXPECT_EQ(o["detail"].as_string(), "attribute 'temp' must be a number");
  EXPECT_EQ(o["field"].as_string(), "temp");
}

TEST(Router, MarkdownListsEveryRouteSortedAndEscaped) {
  Router r = sample();
  std::string md = r.markdown();
  EXPECT_NE(md.find("| Method | Path | Summary |"), std::string::npos);
  auto pos_a = md.find("| GET | `/a/{x}/b/{y}` | two params |");
  auto pos_count = md.find("| GET | `/e/count` | count |");
  auto pos_del = md.find("| DELETE | `/e/{id}` | delete \\| remove |");
  auto pos_get = md.find("| GET | `/e/{id}` | one entity |");
  ASSERT_NE(pos_a, std::string::npos) << md;
  ASSERT_NE(pos_count, std::string::npos) << md;
  ASSERT_NE(pos_del, std::string::npos) << md;
  ASSERT_NE(pos_get, std::string::npos) << md;
  EXPECT_LT(pos_a, pos_count);
  EXPECT_LT(pos_count, pos_del);
  EXPECT_LT(pos_del, pos_get);
}

}  // namespace
}  // namespace urbis::http
