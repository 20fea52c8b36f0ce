#include "mqtt/broker/topic_tree.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "mqtt/broker/session.hpp"

namespace urbis::mqtt {
namespace {

std::set<std::string> matched_ids(TopicTree& tree, std::string_view topic) {
  std::vector<SubscriberMatch> out;
  tree.match(topic, out);
  std::set<std::string> ids;
  for (auto& m : out) ids.insert(m.session->client_id());
  return ids;
}

struct Case {
  const char* filter;
  const char* topic;
  bool match;
};

// The examples of MQTT 5.0 section 4.7 and the $-topic rule.
const Case kCases[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},
    {"#", "sport/tennis", true},
    {"#", "/", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"a/b", "a/b", true},
    {"a/b", "a/b/c", false},
    {"a/b", "a", false},
    {"a//c", "a//c", true},
    {"a/+/c", "a//c", true},
    {"#", "$SYS/broker/uptime", false},
    {"+/broker/uptime", "$SYS/broker/uptime", false},
    {"$SYS/#", "$SYS/broker/uptime", true},
    {"$SYS/+/uptime", "$SYS/broker/uptime", true},
    {"a/$x", "a/$x", true},
    {"a/+", "a/$x", true},
};

TEST(TopicTree, MatchesLikeTheSpecification) {
  for (const auto& c : kCases) {
    TopicTree tree;
    auto s = std::make_shared<Session>("c1");
    tree.subscribe(s, c.filter, SubOptions{});
    EXPECT_EQ(matched_ids(tree, c.topic).count("c1") == 1, c.match) << c.filter << " vs " << c.topic;
  }
}

TEST(TopicTree, ManySubscribersEachMatchedOnce) {
  TopicTree tree;
  auto a = std::make_shared<Session>("a");
  auto b = std::make_shared<Session>("b");
  auto c = std::make_shared<Session>("c");
  tree.subscribe(a, "city/+/temp", {});
  tree.subscribe(b, "city/#", {});
  tree.subscribe(c, "city/north/temp", {});
  tree.subscribe(c, "other", {});
  EXPECT_EQ(matched_ids(tree, "city/north/temp"), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(matched_ids(tree, "city/south/temp"), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(matched_ids(tree, "city"), (std::set<std::string>{"b"}));
  EXPECT_EQ(tree.subscription_count(), 4u);
}

TEST(TopicTree, ResubscribeReplacesOptions) {
  TopicTree tree;
  auto a = std::make_shared<Session>("a");
  EXPECT_FALSE(tree.subscribe(a, "x/y", SubOptions{0}));
  EXPECT_TRUE(tree.subscribe(a, "x/y", SubOptions{2}));
  std::vector<SubscriberMatch> out;
  tree.match("x/y", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].options.qos, 2);
  EXPECT_EQ(tree.subscription_count(), 1u);
}

TEST(TopicTree, UnsubscribeRemovesAndPrunes) {
  TopicTree tree;
  auto a = std::make_shared<Session>("a");
  auto b = std::make_shared<Session>("b");
  tree.subscribe(a, "x/+/z", {});
  tree.subscribe(b, "x/+/z", {});
  EXPECT_TRUE(tree.unsubscribe(a.get(), "x/+/z"));
  EXPECT_FALSE(tree.unsubscribe(a.get(), "x/+/z"));
  EXPECT_FALSE(tree.unsubscribe(a.get(), "never/subscribed"));
  EXPECT_EQ(matched_ids(tree, "x/y/z"), (std::set<std::string>{"b"}));
  EXPECT_TRUE(tree.unsubscribe(b.get(), "x/+/z"));
  EXPECT_TRUE(matched_ids(tree, "x/y/z").empty());
  EXPECT_EQ(tree.subscription_count(), 0u);
  // The tree is usable after pruning.
  tree.subscribe(a, "x/+/z", {});
  EXPECT_EQ(matched_ids(tree, "x/q/z"), (std::set<std::string>{"a"}));
}

TEST(TopicTree, SharedSubscriptionGivesOneMemberPerGroupRoundRobin) {
  TopicTree tree;
  auto a = std::make_shared<Session>("a");
  auto b = std::make_shared<Session>("b");
  auto c = std::make_shared<Session>("c");
  auto plain = std::make_shared<Session>("plain");
  for (auto& s : {a, b, c, plain}) s->set_online(true);
  tree.subscribe(a, "$share/g1/meters/#", {});
  tree.subscribe(b, "$share/g1/meters/#", {});
  tree.subscribe(c, "$share/g2/meters/+", {});
  tree.subscribe(plain, "meters/#", {});
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) {
    std::vector<SubscriberMatch> out;
    tree.match("meters/42", out);
    ASSERT_EQ(out.size(), 3u);  // one of g1, the only member of g2, the plain subscriber
    for (auto& m : out) counts[m.session->client_id()]++;
  }
  EXPECT_EQ(counts["a"] + counts["b"], 100);
  EXPECT_EQ(counts["a"], 50);
  EXPECT_EQ(counts["c"], 100);
  EXPECT_EQ(counts["plain"], 100);
}

TEST(TopicTree, SharedSubscriptionPrefersOnlineMembers) {
  TopicTree tree;
  auto a = std::make_shared<Session>("a");
  auto b = std::make_shared<Session>("b");
  a->set_online(false);
  b->set_online(true);
  tree.subscribe(a, "$share/g/t", {});
  tree.subscribe(b, "$share/g/t", {});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(matched_ids(tree, "t"), (std::set<std::string>{"b"}));
}

TEST(TopicTree, SplitShared) {
  std::string_view group, real;
  bool valid = true;
  EXPECT_FALSE(TopicTree::split_shared("a/b", group, real, valid));
  EXPECT_TRUE(TopicTree::split_shared("$share/g/a/b", group, real, valid));
  EXPECT_TRUE(valid);
  EXPECT_EQ(group, "g");
  EXPECT_EQ(real, "a/b");
  for (const char* bad : {"$share/", "$share/g", "$share/g/", "$share//a", "$share/g+/a", "$share/#/a"}) {
    EXPECT_TRUE(TopicTree::split_shared(bad, group, real, valid)) << bad;
    EXPECT_FALSE(valid) << bad;
  }
}

TEST(PendingQueue, FifoAndGivesMemoryBack) {
  PendingQueue q;
  EXPECT_TRUE(q.empty());
  for (uint64_t i = 1; i <= 3000; ++i) q.push_back(Pending{nullptr, 0, false, {}, i});
  EXPECT_EQ(q.size(), 3000u);
  for (uint64_t i = 1; i <= 3000; ++i) {
    ASSERT_EQ(q.front().seq, i);
    q.pop_front();
  }
  EXPECT_TRUE(q.empty());
  q.push_back(Pending{nullptr, 0, false, {}, 7});
  EXPECT_EQ(q.front().seq, 7u);
}

}  // namespace
}  // namespace urbis::mqtt
