#include "mqtt/broker/topic_tree.hpp"

#include <atomic>
#include <mutex>

#include "mqtt/broker/session.hpp"

namespace urbis::mqtt {

namespace {
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace

struct TopicTree::SharedGroup {
  std::vector<SubscriberMatch> members;
  std::atomic<size_t> next{0};  // round-robin cursor, advanced under the shared lock
};

struct TopicTree::Node {
  std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
  Node* plus = nullptr;  // children["+"], cached
  Node* hash = nullptr;  // children["#"], cached
  std::vector<SubscriberMatch> subs;
  std::map<std::string, std::unique_ptr<SharedGroup>, std::less<>> shared;

  bool empty() const { return children.empty() && subs.empty() && shared.empty(); }
};

TopicTree::TopicTree() : root_(std::make_unique<Node>()) {}
TopicTree::~TopicTree() = default;

bool TopicTree::split_shared(std::string_view filter, std::string_view& group, std::string_view& real,
                             bool& valid) {
  constexpr std::string_view kPrefix = "$share/";
  valid = true;
  if (filter.substr(0, kPrefix.size()) != kPrefix) return false;
  auto rest = filter.substr(kPrefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) {
    valid = false;
    return true;
  }
  group = rest.substr(0, slash);
  real = rest.substr(slash + 1);
  if (group.find_first_of("+#") != std::string_view::npos) valid = false;
  return true;
}

TopicTree::Node* TopicTree::find_or_create(std::string_view filter) {
  Node* n = root_.get();
  size_t pos = 0;
  for (;;) {
    size_t slash = filter.find('/', pos);
    size_t end = slash == std::string_view::npos ? filter.size() : slash;
    std::string_view level = filter.substr(pos, end - pos);
    auto it = n->children.find(level);
    Node* child;
    if (it == n->children.end()) {
      auto node = std::make_unique<Node>();
      child = node.get();
      n->children.emplace(std::string(level), std::move(node));
      if (level == "+") n->plus = child;
      if (level == "#") n->hash = child;
    } else {
      child = it->second.get();
    }
    n = child;
    if (slash == std::string_view::npos) return n;
    pos = slash + 1;
  }
}

bool TopicTree::subscribe(const std::shared_ptr<Session>& session, std::string_view filter,
                          const SubOptions& opts) {
  std::string_view group, real;
  bool valid = true;
  bool shared = split_shared(filter, group, real, valid);
  std::unique_lock lock(mu_);
  Node* n = find_or_create(shared ? real : filter);
  std::vector<SubscriberMatch>* list = &n->subs;
  if (shared) {
    auto it = n->shared.find(group);
    if (it == n->shared.end()) it = n->shared.emplace(std::string(group), std::make_unique<SharedGroup>()).first;
    list = &it->second->members;
  }
  for (auto& m : *list) {
    if (m.session == session) {
      m.options = opts;
      return true;
    }
  }
  list->push_back({session, opts});
  ++count_;
  return false;
}

bool TopicTree::unsubscribe(const Session* session, std::string_view filter) {
  std::string_view group, real;
  bool valid = true;
  bool shared = split_shared(filter, group, real, valid);
  std::string_view path = shared ? real : filter;
  std::unique_lock lock(mu_);
  // Walk without creating.
  Node* n = root_.get();
  size_t pos = 0;
  for (;;) {
    size_t slash = path.find('/', pos);
    size_t end = slash == std::string_view::npos ? path.size() : slash;
    auto it = n->children.find(path.substr(pos, end - pos));
    if (it == n->children.end()) return false;
    n = it->second.get();
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  bool removed = false;
  auto erase_from = [&](std::vector<SubscriberMatch>& list) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->session.get() == session) {
        list.erase(it);
        removed = true;
        return;
      }
    }
  };
  if (shared) {
    auto g = n->shared.find(group);
    if (g == n->shared.end()) return false;
    erase_from(g->second->members);
    if (g->second->members.empty()) n->shared.erase(g);
  } else {
    erase_from(n->subs);
  }
  if (removed) {
    --count_;
    prune(path);
  }
  return removed;
}

// Removes empty nodes along `path`, deepest first. Called with the lock held.
void TopicTree::prune(std::string_view path) {
  std::vector<std::pair<Node*, std::string_view>> trail;  // (parent, level of child)
  Node* n = root_.get();
  size_t pos = 0;
  for (;;) {
    size_t slash = path.find('/', pos);
    size_t end = slash == std::string_view::npos ? path.size() : slash;
    auto level = path.substr(pos, end - pos);
    auto it = n->children.find(level);
    if (it == n->children.end()) return;
    trail.emplace_back(n, level);
    n = it->second.get();
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  for (auto it = trail.rbegin(); it != trail.rend(); ++it) {
    Node* parent = it->first;
    auto child = parent->children.find(it->second);
    if (!child->second->empty()) return;
    if (child->second.get() == parent->plus) parent->plus = nullptr;
    if (child->second.get() == parent->hash) parent->hash = nullptr;
    parent->children.erase(child);
  }
}

void TopicTree::collect(Node* n, std::vector<SubscriberMatch>& out) {
  out.insert(out.end(), n->subs.begin(), n->subs.end());
  for (auto& [name, group] : n->shared) {
    auto& members = group->members;
    if (members.empty()) continue;
    size_t start = group->next.fetch_add(1, std::memory_order_relaxed);
    const SubscriberMatch* chosen = &members[start % members.size()];
    // Prefer a member that is connected; an offline persistent member only
    // gets the message when nobody else in the group can take it.
    for (size_t i = 0; i < members.size(); ++i) {
      const auto& m = members[(start + i) % members.size()];
      if (m.session->online()) {
        chosen = &m;
        break;
      }
    }
    out.push_back(*chosen);
  }
}

void TopicTree::match_level(Node* n, std::string_view topic, size_t pos, bool first,
                            std::vector<SubscriberMatch>& out) {
  if (pos > topic.size()) {
    // Every level consumed: subscribers here, and "x/#" also matches "x".
    collect(n, out);
    if (n->hash) collect(n->hash, out);
    return;
  }
  size_t slash = topic.find('/', pos);
  size_t end = slash == std::string_view::npos ? topic.size() : slash;
  std::string_view level = topic.substr(pos, end - pos);
  size_t next = end + 1;
  bool dollar = first && !level.empty() && level[0] == '$';
  if (!dollar) {
    if (n->hash) collect(n->hash, out);
    if (n->plus) match_level(n->plus, topic, next, false, out);
  }
  if (level != "+" && level != "#") {
    auto it = n->children.find(level);
    if (it != n->children.end()) match_level(it->second.get(), topic, next, false, out);
  }
}

void TopicTree::match(std::string_view topic, std::vector<SubscriberMatch>& out) {
  std::shared_lock lock(mu_);
  match_level(root_.get(), topic, 0, true, out);
}

size_t TopicTree::subscription_count() const {
  std::shared_lock lock(mu_);
  return count_;
}

}  // namespace urbis::mqtt
