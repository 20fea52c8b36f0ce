// The subscription tree: which sessions want a topic.
//
// Design note. Filters are split into levels at '/' and stored in a trie. A
// topic is matched by walking its levels; at every node three children can
// match: the literal level, '+' (exactly one level) and '#' (this level and
// everything below, including the parent itself: "a/#" matches "a").
// MQTT-4.7.2-1: a filter starting with '+' or '#' never matches a topic that
// starts with '$', so $SYS is only seen by those who ask for it explicitly.
//
//   filter          matches                 does not match
//   a/+/c           a/b/c, a//c             a/c, a/b/c/d
//   a/#             a, a/b, a/b/c           b/a
//   #               a, /a                   $SYS/x
//   $SYS/#          $SYS/broker/uptime      -
//
// Shared subscriptions ($share/<group>/<filter>) live at the filter's node in
// a per-group list; a match yields one member per group, chosen round-robin
// among online members.
//
// Thread-safety: all methods are thread-safe (a reader-writer lock; routing
// takes the shared side).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mqtt/broker/message.hpp"

namespace urbis::mqtt {

class Session;

struct SubscriberMatch {
  std::shared_ptr<Session> session;
  SubOptions options;
};

class TopicTree {
 public:
  TopicTree();
  ~TopicTree();

  // Adds or replaces the subscription of `session` to `filter` (which may carry
  // a $share/<group>/ prefix). Returns true if it already existed (replaced).
  bool subscribe(const std::shared_ptr<Session>& session, std::string_view filter, const SubOptions& opts);
  // Returns false if there was no such subscription.
  bool unsubscribe(const Session* session, std::string_view filter);

  // Appends every subscription matching `topic` to `out` (one per shared group).
  void match(std::string_view topic, std::vector<SubscriberMatch>& out);

  size_t subscription_count() const;

  // Splits "$share/group/filter"; returns false if `filter` is not shared.
  // A malformed share ("$share/", "$share/g", group with + or #) sets `valid` false.
  static bool split_shared(std::string_view filter, std::string_view& group, std::string_view& real,
                           bool& valid);

 private:
  struct Node;
  struct SharedGroup;
  Node* find_or_create(std::string_view filter);
  void match_level(Node* node, std::string_view topic, size_t pos, bool first,
                   std::vector<SubscriberMatch>& out);
  void collect(Node* node, std::vector<SubscriberMatch>& out);
  void prune(std::string_view filter);

  mutable std::shared_mutex mu_;
  std::unique_ptr<Node> root_;
  size_t count_ = 0;
};

}  // namespace urbis::mqtt
