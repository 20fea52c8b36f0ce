// Private to the notifier: an endpoint URI taken apart once, and the signature
// every transport shares.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.hpp"

namespace urbis::ngsild::notify {

struct Target {
  enum class Kind { kHttp, kHttps, kMqtt, kMqtts };
  Kind kind = Kind::kHttp;
  std::string host;  // without IPv6 brackets
  uint16_t port = 0;
  std::string target;  // HTTP: encoded path and query ("/" when empty); MQTT: decoded topic
  bool has_user = false;
  std::string user, password;  // decoded userinfo (MQTT credentials)
};

// Parses http://, https://, mqtt:// and mqtts:// URIs. Errors name what is
// wrong ("endpoint uri: ...").
Result<Target> parse_target(const std::string& uri);

// Outcome of one attempt: "" when delivered, else why not ("HTTP 500",
// "connection refused", "timeout").
using SendDone = std::function<void(std::string error)>;

}  // namespace urbis::ngsild::notify
