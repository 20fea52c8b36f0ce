#include "ngsild/api/call.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace urbis::ngsild {
namespace {

boost::json::object body_of(const http::Response& r) { return boost::json::parse(r.body).as_object(); }

TEST(NgsildErrors, FieldIsTakenFromTheMessageWhenNotGiven) {
  EXPECT_EQ(field_from_detail("attribute 'temperature': 'type' is 'Propety'"), "temperature");
  EXPECT_EQ(field_from_detail("'type' must be a non-empty string"), "type");
  EXPECT_EQ(field_from_detail("options: unknown option 'foo'"), "options");
  EXPECT_EQ(field_from_detail("geoQ.coordinates: a position has 2 or 3 numbers"), "geoQ.coordinates");
  EXPECT_EQ(field_from_detail("entity 'urn:a' not found"), "");
  EXPECT_EQ(field_from_detail("[2] 'id' missing"), "");
  EXPECT_EQ(field_from_detail(""), "");
}

TEST(NgsildErrors, ErrorFromAddsFieldMember) {
  auto r = error_from(InvalidArgument("attribute 'x': must be an object with a 'type'"));
  EXPECT_EQ(r.status, boost::beast::http::status::bad_request);
  auto o = body_of(r);
  EXPECT_EQ(o["type"].as_string(), "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
  EXPECT_EQ(o["field"].as_string(), "x");

  o = body_of(error_from(Status(Code::kInvalidArgument, "InvalidRequest: body: expected a JSON object")));
  EXPECT_EQ(o["type"].as_string(), "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest");
  EXPECT_EQ(o["detail"].as_string(), "body: expected a JSON object");
  EXPECT_EQ(o["field"].as_string(), "body");

  // A field the caller names wins.
  o = body_of(error_from(InvalidArgument("limit: bad"), "count"));
  EXPECT_EQ(o["field"].as_string(), "count");
  // Not bad input: the message's first word is no field.
  o = body_of(error_from(Status(Code::kInternal, "sqlite: disk I/O error")));
  EXPECT_FALSE(o.contains("field"));
  // No name in the message: no member.
  o = body_of(error_from(Status(Code::kNotFound, "entity 'urn:a' not found")));
  EXPECT_FALSE(o.contains("field"));
}

}  // namespace
}  // namespace urbis::ngsild
