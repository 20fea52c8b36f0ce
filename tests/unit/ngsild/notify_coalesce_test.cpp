// Merging notification texts: where "data" is, what must match, and the merge.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "ngsild/notify/coalesce.hpp"

namespace urbis::ngsild::notify {
namespace {

TEST(NotifyCoalesce, FindsTheDataMembersOfANotification) {
  struct Case {
    std::string body;
    bool shaped;
    size_t members;
    std::string data;  // the text between the brackets
  };
  const std::vector<Case> cases = {
      {R"({"id":"urn:1","type":"Notification","data":[{"id":"e1"}]})", true, 1, R"({"id":"e1"})"},
      {R"({"data":[{"a":[1,{"b":"]}"}]},"x\"]",3,null,true]})", true, 5, R"({"a":[1,{"b":"]}"}]},"x\"]",3,null,true)"},
      {R"( { "data" : [ ] , "id" : "n" } )", true, 0, " "},
      {R"({"@context":["a","b"],"data":[{"id":"e1"},{"id":"e2"}],"notifiedAt":"t"})", true, 2,
       R"({"id":"e1"},{"id":"e2"})"},
      {R"({"subscriptionId":"s","n":1})", false, 0, ""},      // no data: not a Notification
      {R"({"data":{"id":"e1"}})", false, 0, ""},              // data is not an array
      {R"({"data":[1],"data":[2]})", false, 0, ""},           // twice
      {R"({"data":[1]} trailing)", false, 0, ""},
      {R"({"data":[1,]})", false, 0, ""},
      {R"({"data":[{"id":"e1"})", false, 0, ""},              // truncated
      {R"({"data":["unterminated]})", false, 0, ""},
      {R"([{"data":[1]}])", false, 0, ""},
      {"", false, 0, ""},
  };
  for (const auto& c : cases) {
    auto s = notification_shape(c.body);
    ASSERT_EQ(s.has_value(), c.shaped) << c.body;
    if (!s) continue;
    EXPECT_EQ(s->members, c.members) << c.body;
    EXPECT_EQ(c.body.substr(s->data_begin, s->data_end - s->data_begin), c.data) << c.body;
  }
}

TEST(NotifyCoalesce, OnlyIdNotifiedAtAndDataMayDiffer) {
  auto a = notification_shape(R"({"id":"urn:1","type":"Notification","subscriptionId":"s","notifiedAt":"t1","data":[1]})");
  auto b = notification_shape(R"({"id":"urn:2","type":"Notification","subscriptionId":"s","notifiedAt":"t2","data":[2,3]})");
  auto other_sub = notification_shape(R"({"id":"urn:3","type":"Notification","subscriptionId":"z","notifiedAt":"t2","data":[2]})");
  auto other_ctx = notification_shape(
      R"({"@context":"https://x/ctx.jsonld","id":"urn:4","type":"Notification","subscriptionId":"s","notifiedAt":"t","data":[2]})");
  ASSERT_TRUE(a && b && other_sub && other_ctx);
  EXPECT_EQ(a->envelope, b->envelope);
  EXPECT_NE(a->envelope, other_sub->envelope);
  EXPECT_NE(a->envelope, other_ctx->envelope);
}

TEST(NotifyCoalesce, MergeKeepsOrderAndTakesTheLastEnvelope) {
  const std::vector<std::string> bodies = {
      R"({"id":"urn:1","type":"Notification","notifiedAt":"t1","data":[{"id":"e1"}]})",
      R"({"id":"urn:2","type":"Notification","notifiedAt":"t2","data":[]})",
      R"({"id":"urn:3","type":"Notification","notifiedAt":"t3","data":[{"id":"e2"},{"id":"e3"}]})",
  };
  std::vector<NotificationShape> shapes;
  for (const auto& b : bodies) shapes.push_back(*notification_shape(b));
  std::vector<ShapedBody> parts;
  for (size_t i = 0; i < bodies.size(); ++i) parts.push_back({bodies[i], &shapes[i]});
  const std::string merged = merge_notifications(parts);
  EXPECT_EQ(boost::json::parse(merged),
            boost::json::parse(
                R"({"id":"urn:3","type":"Notification","notifiedAt":"t3","data":[{"id":"e1"},{"id":"e2"},{"id":"e3"}]})"));
  // A single part is itself.
  EXPECT_EQ(merge_notifications({parts[0]}), bodies[0]);
}

}  // namespace
}  // namespace urbis::ngsild::notify
