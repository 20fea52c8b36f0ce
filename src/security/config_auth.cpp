#include "security/config_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <unordered_map>
#include <vector>

#include "security/password.hpp"

namespace urbis::security {
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

// A value substituted for %c or %u must stay one literal level.
bool safe_substitution(std::string_view v) {
  return !v.empty() && v.find_first_of(std::string_view("+#/\0", 4)) == std::string_view::npos;
}

struct Rule {
  std::string pattern;
  bool substitutes = false;  // contains %c or %u
  bool read = false;
  bool write = false;
};

// Expands %c and %u; nullopt when a value could widen the pattern.
std::optional<std::string> expand(const Rule& rule, std::string_view client_id,
                                  std::string_view user) {
  std::string out;
  out.reserve(rule.pattern.size() + client_id.size());
  const std::string& p = rule.pattern;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%' && i + 1 < p.size() && (p[i + 1] == 'c' || p[i + 1] == 'u')) {
      std::string_view v = p[i + 1] == 'c' ? client_id : user;
      if (!safe_substitution(v)) return std::nullopt;
      out += v;
      ++i;
    } else {
      out += p[i];
    }
  }
  return out;
}

std::string cache_key(std::string_view user, std::string_view stored, std::string_view password) {
  // Length-prefixed fields, so ("ab","c") and ("a","bc") differ.
  std::string buf;
  buf.reserve(user.size() + stored.size() + password.size() + 24);
  for (std::string_view part : {user, stored, password}) {
    buf += std::to_string(part.size());
    buf += ':';
    buf += part;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  bool ok = EVP_Digest(buf.data(), buf.size(), md, &md_len, EVP_sha256(), nullptr) == 1;
  OPENSSL_cleanse(buf.data(), buf.size());
  if (!ok) return {};  // never cached
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

}  // namespace

bool is_valid_filter(std::string_view filter) {
  if (filter.empty() || filter.find('\0') != std::string_view::npos) return false;
  Levels levels(filter);
  std::string_view level;
  while (levels.next(level)) {
    if (level == "#") return levels.rest().empty() && filter.back() == '#';
    if (level.find_first_of("+#") != std::string_view::npos && level != "+") return false;
  }
  return true;
}

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

struct ConfigAuthorizer::Rules {
  bool allow_anonymous = false;
  std::unordered_map<std::string, std::string> users;  // name -> encoded hash
  int unknown_user_iterations = kDefaultIterations;
  bool acl_empty = true;
  std::unordered_map<std::string, std::vector<Rule>> by_user;
  std::vector<Rule> any_user;   // "*"
  std::vector<Rule> anonymous;  // "anonymous"
};

ConfigAuthorizer::ConfigAuthorizer(const MqttOptions& options) { update(options); }

void ConfigAuthorizer::update(const MqttOptions& options) {
  auto rules = std::make_shared<Rules>();
  rules->allow_anonymous = options.allow_anonymous;
  for (const UserEntry& u : options.users) {
    rules->users[u.name] = u.password_hash;
  }
  // Spend on unknown names what a known name costs.
  for (const UserEntry& u : options.users) {
    if (auto h = parse_password_hash(u.password_hash); h.ok()) {
      rules->unknown_user_iterations = h->iterations;
      break;
    }
  }
  rules->acl_empty = options.acl.empty();
  for (const AclEntry& e : options.acl) {
    Rule r{e.pattern, e.pattern.find("%c") != std::string::npos ||
                          e.pattern.find("%u") != std::string::npos,
           e.read, e.write};
    if (e.user == "*") {
      rules->any_user.push_back(std::move(r));
    } else if (e.user == "anonymous") {
      rules->anonymous.push_back(std::move(r));
    } else {
      rules->by_user[e.user].push_back(std::move(r));
    }
  }
  {
    std::lock_guard lock(rules_mu_);
    rules_ = std::move(rules);
  }
  std::lock_guard lock(cache_mu_);
  cache_.clear();
  cache_order_.clear();
}

std::shared_ptr<const ConfigAuthorizer::Rules> ConfigAuthorizer::rules() const {
  std::lock_guard lock(rules_mu_);
  return rules_;
}

mqtt::AuthResult ConfigAuthorizer::authenticate(const mqtt::ClientIdentity& id,
                                                const std::optional<std::string>& password) {
  auto r = rules();
  // Some clients send an empty user name when they mean "none".
  bool anonymous = !id.username || (id.username->empty() && !password);
  if (anonymous) {
    if (r->allow_anonymous) return {true, 0, ""};
    return {false, 0x87, ""};
  }
  if (!password) return {false, 0x86, ""};
  const std::string& user = *id.username;
  auto it = r->users.find(user);
  if (it == r->users.end()) {
    burn_password_work(*password, r->unknown_user_iterations);
    return {false, 0x86, ""};
  }
  std::string key = cache_key(user, it->second, *password);
  if (!key.empty() && cache_contains(key)) return {true, 0, user};
  if (!verify_password(*password, it->second)) return {false, 0x86, ""};
  if (!key.empty()) cache_insert(std::move(key));
  return {true, 0, user};
}

bool ConfigAuthorizer::may_publish(const mqtt::ClientIdentity& id, std::string_view principal,
                                   std::string_view topic) {
  return allowed(id, principal, topic, /*write=*/true);
}

bool ConfigAuthorizer::may_subscribe(const mqtt::ClientIdentity& id, std::string_view principal,
                                     std::string_view filter) {
  return allowed(id, principal, filter, /*write=*/false);
}

bool ConfigAuthorizer::allowed(const mqtt::ClientIdentity& id, std::string_view principal,
                               std::string_view what, bool write) const {
  auto r = rules();
  if (r->acl_empty) {
    // '$' topics belong to the broker; reading them ($SYS) is fine.
    return !write || what.empty() || what.front() != '$';
  }
  auto grants = [&](const std::vector<Rule>& list) {
    for (const Rule& rule : list) {
      if (write ? !rule.write : !rule.read) continue;
      std::string_view pattern = rule.pattern;
      std::optional<std::string> expanded;
      if (rule.substitutes) {
        expanded = expand(rule, id.client_id, principal);
        if (!expanded) continue;
        pattern = *expanded;
      }
      if (write ? topic_matches(pattern, what) : filter_covers(pattern, what)) return true;
    }
    return false;
  };
  if (principal.empty()) return grants(r->anonymous);
  if (auto it = r->by_user.find(std::string(principal)); it != r->by_user.end() && grants(it->second)) {
    return true;
  }
  return grants(r->any_user);
}

bool ConfigAuthorizer::cache_contains(const std::string& key) const {
  std::lock_guard lock(cache_mu_);
  return cache_.count(key) != 0;
}

void ConfigAuthorizer::cache_insert(std::string key) {
  std::lock_guard lock(cache_mu_);
  if (cache_.count(key) != 0) return;
  while (cache_.size() >= kCacheCapacity && !cache_order_.empty()) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  cache_order_.push_back(key);
  cache_.insert(std::move(key));
}

size_t ConfigAuthorizer::cached_verifications() const {
  std::lock_guard lock(cache_mu_);
  return cache_.size();
}

}  // namespace urbis::security
