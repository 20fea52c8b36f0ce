// The one place where an MQTT client is authenticated and authorised.
//
// The broker asks an Authorizer on CONNECT (who is this?), on every PUBLISH
// (may this client write this topic?) and on every SUBSCRIBE (may it read this
// filter?). The default implementation (security/config_auth.hpp) reads users
// and ACL patterns from the configuration; the device registry will provide its
// own later. Implementations must be thread-safe: I/O threads call them
// concurrently. Calls must be fast and must not block (publish checks run on
// the hot path).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace urbis::mqtt {

struct ClientIdentity {
  std::string client_id;
  std::optional<std::string> username;  // as sent in CONNECT, or the certificate CN
  std::string remote_ip;
  std::string transport;     // "tcp", "tls", "ws", "wss"
  std::string cert_cn;       // verified TLS client certificate CN, empty if none
};

struct AuthResult {
  bool ok = false;
  uint8_t reason = 0;      // MQTT 5 reason code when !ok (0x86 bad user/password, 0x87 not authorized)
  std::string principal;   // the authenticated name ("" for anonymous)
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;

  // CONNECT. `password` may be absent.
  virtual AuthResult authenticate(const ClientIdentity& id, const std::optional<std::string>& password) = 0;

  // PUBLISH to a topic name.
  virtual bool may_publish(const ClientIdentity& id, std::string_view principal, std::string_view topic) = 0;

  // SUBSCRIBE to a topic filter (without any "$share/<group>/" prefix).
  virtual bool may_subscribe(const ClientIdentity& id, std::string_view principal, std::string_view filter) = 0;

  // Reloads what can change at run time (SIGHUP). Default: nothing to reload.
  virtual void reload() {}
};

}  // namespace urbis::mqtt
