#include "security/config_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <unordered_map>
#include <vector>

#include "mqtt/codec/codec.hpp"
#include "mqtt/codec/topic_match.hpp"
#include "security/password.hpp"

namespace urbis::security {
namespace {

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
  return filter.find('\0') == std::string_view::npos && mqtt::valid_topic_filter(filter);
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
      if (write ? mqtt::topic_matches(pattern, what) : mqtt::filter_covers(pattern, what)) return true;
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
