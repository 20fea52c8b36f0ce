// The default MQTT Authorizer: users and topic ACL from urbis.toml.
//
// Authentication (CONNECT)
//   - no user name (or an empty one without a password): anonymous. Accepted
//     only when mqtt.allow_anonymous is true, else refused with 0x87 (not
//     authorized). The principal of an anonymous client is "".
//   - a user name: it must be a configured [[mqtt.users]] entry and the
//     password must verify against its PBKDF2 hash, else 0x86 (bad user name
//     or password). An unknown user name costs the same PBKDF2 work as a known
//     one, so response time does not reveal which names exist.
//
// Authorisation (PUBLISH, SUBSCRIBE)
//   - mqtt.acl empty: every client that got in may subscribe to any filter and
//     publish to any topic except those starting with '$' (those belong to the
//     broker: $SYS statistics must not be spoofable).
//   - otherwise a client may publish a topic only if some entry with write
//     access for it matches the topic, and may subscribe to a filter only if
//     some entry with read access for it *covers* the filter (every topic the
//     filter can match is matched by the pattern). An entry applies to a
//     client when its user is the client's user name, "*" (any authenticated
//     user) or "anonymous" (clients without a user name).
//   - in a pattern, %c stands for the client id and %u for the user name. A
//     value that contains '+', '#', '/' or NUL, or is empty, never matches:
//     a client called "#" must not turn "devices/%c/#" into "devices/#/#".
//   - $-topics: a '+' or '#' in the first level never matches a topic whose
//     first level starts with '$' (MQTT-4.7.2-1), so pattern "#" does not
//     grant $SYS; grant it explicitly with a pattern such as "$SYS/#".
//
// Password cache
//   PBKDF2 costs tens of milliseconds by design, and a city's devices reconnect all at once
//   after a network cut. Successful verifications are therefore remembered in
//   a small bounded cache keyed by SHA-256(user, stored hash, password) (the
//   stored hash contains the salt). This is acceptable because:
//   only *successes* are cached, so online guessing still pays full PBKDF2 per
//   attempt; the keys live only in this process's memory, which also sees
//   every password in clear in CONNECT packets, so reading the cache gives an
//   attacker nothing they could not read already; and a changed hash (new
//   salt) or update() invalidates entries.
//
// Thread-safety: all methods may be called concurrently from any thread.
// update() swaps the whole rule set atomically: a call in progress sees either
// the old or the new rules, never a mix.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "config/options.hpp"
#include "mqtt/broker/auth.hpp"
#include "mqtt/codec/topic_match.hpp"

namespace urbis::security {

// Topic matching lives with the MQTT code (mqtt/codec/topic_match.hpp); the
// names are kept here for the ACL code and its tests.
using mqtt::filter_covers;
using mqtt::topic_matches;

// True when `filter` is a syntactically valid MQTT topic filter: non-empty,
// '#' only as the whole last level, '+' only as a whole level, no NUL.
bool is_valid_filter(std::string_view filter);

class ConfigAuthorizer final : public mqtt::Authorizer {
 public:
  // REQUIRES: `options` passed config validation (user names unique, hashes
  // well-formed, ACL users known); a malformed hash simply never verifies.
  explicit ConfigAuthorizer(const MqttOptions& options);

  mqtt::AuthResult authenticate(const mqtt::ClientIdentity& id,
                                const std::optional<std::string>& password) override;
  bool may_publish(const mqtt::ClientIdentity& id, std::string_view principal,
                   std::string_view topic) override;
  bool may_subscribe(const mqtt::ClientIdentity& id, std::string_view principal,
                     std::string_view filter) override;

  // Replaces allow_anonymous, users and ACL (e.g. on SIGHUP after the
  // configuration was re-read and validated) and empties the password cache.
  // Connected clients keep their session; their next PUBLISH/SUBSCRIBE is
  // checked against the new rules.
  void update(const MqttOptions& options);

  // Number of successful verifications remembered (for tests and $SYS).
  size_t cached_verifications() const;

  static constexpr size_t kCacheCapacity = 4096;

 private:
  struct Rules;  // immutable once built; shared by readers

  std::shared_ptr<const Rules> rules() const;
  bool allowed(const mqtt::ClientIdentity& id, std::string_view principal, std::string_view what,
               bool write) const;
  bool cache_contains(const std::string& key) const;
  void cache_insert(std::string key);

  mutable std::mutex rules_mu_;
  std::shared_ptr<const Rules> rules_;  // GUARDED_BY(rules_mu_)

  mutable std::mutex cache_mu_;
  std::unordered_set<std::string> cache_;  // GUARDED_BY(cache_mu_)
  std::deque<std::string> cache_order_;    // GUARDED_BY(cache_mu_); oldest first, for eviction
};

}  // namespace urbis::security
