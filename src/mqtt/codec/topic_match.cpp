#include "mqtt/codec/topic_match.hpp"

namespace urbis::mqtt {
namespace {

// Walks the '/'-separated levels of a topic or filter without allocating.
// "a//b" has three levels, the middle one empty; "" has one empty level.
class Levels {
 public:
  explicit Levels(std::string_view s) : s_(s) {}
  bool next(std::string_view& level) {
    if (done_) return false;
    size_t slash = s_.find('/', pos_);
    if (slash == std::string_view::npos) {
      level = s_.substr(pos_);
      done_ = true;
    } else {
      level = s_.substr(pos_, slash - pos_);
      pos_ = slash + 1;
    }
    return true;
  }
  // The unconsumed rest (valid after next() returned true and !done).
  std::string_view rest() const { return done_ ? std::string_view() : s_.substr(pos_); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool done_ = false;
};

std::string_view first_level(std::string_view s) { return s.substr(0, s.find('/')); }

bool is_wildcard(std::string_view level) { return level == "+" || level == "#"; }

}  // namespace

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic.front() == '$' && is_wildcard(first_level(filter))) return false;
  Levels f(filter), t(topic);
  for (;;) {
    std::string_view fl, tl;
    bool has_f = f.next(fl);
    bool has_t = t.next(tl);
    if (!has_f) return !has_t;
    if (fl == "#") return true;  // also matches the parent: "a/#" matches "a"
    if (!has_t) return false;
    if (fl != "+" && fl != tl) return false;
  }
}

bool filter_covers(std::string_view pattern, std::string_view filter) {
  std::string_view filter_first = first_level(filter);
  if (is_wildcard(first_level(pattern)) && !is_wildcard(filter_first) && !filter_first.empty() &&
      filter_first.front() == '$') {
    return false;
  }
  Levels p(pattern), f(filter);
  bool first = true;
  for (;;) {
    std::string_view pl, fl;
    bool has_p = p.next(pl);
    bool has_f = f.next(fl);
    if (!has_p) return !has_f;
    if (pl == "#") return true;
    if (!has_f) return false;  // the filter stops where the pattern still wants a level
    if (fl == "#") {
      // The filter's '#' matches any number of further levels, and also the
      // parent level unless it is the first level (a topic has at least one
      // level). Only "#" covers the former; "+/#" also covers a leading "#".
      std::string_view rest_p = p.rest();
      return first && pl == "+" && rest_p == "#";
    }
    if (pl != "+" && (fl == "+" || pl != fl)) return false;
    first = false;
  }
}

}  // namespace urbis::mqtt
