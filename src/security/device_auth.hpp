// DeviceAuthorizer: the broker's Authorizer once the device registry exists.
//
// It chains two sources of identity:
//   - a CONNECT whose user name is a registered device id (or, without a user
//     name, whose verified client certificate CN is one) is a device, judged
//     by the registry: password = the device token, or a bound certificate
//     (CN == id). Wrong, missing or revoked token -> 0x86 (bad user name or
//     password; 3.1.1 return code 4). Valid credentials but the device is
//     quarantined or disabled -> 0x87 (not authorized; 3.1.1 code 5).
//   - any other client goes to the fallback (ConfigAuthorizer: users and ACL
//     from urbis.toml), unchanged.
//
// A device may publish only to urbis/<tenant>/<id>/up and
// urbis/<tenant>/<id>/up/<format> (one more level, no wildcards), may
// subscribe only to the exact filter urbis/<tenant>/<id>/down, and its will
// topic obeys the publish rule. Everything else is refused the way the broker
// refuses an unauthorised operation (PUBACK/PUBREC 0x87 in MQTT 5, SUBACK
// 0x87, or the 3.1.1 equivalents).
//
// Devices and users cannot be confused: a device's principal starts with a
// NUL byte, which MQTT forbids in user names (MQTT-1.5.4-2), so no
// configured user can carry it. The principal also records the credential
// epoch at CONNECT: after the device is deleted, disabled, quarantined, or its
// token is rotated or revoked, the connection's next PUBLISH or SUBSCRIBE is
// refused (the broker has no way yet to close it at once).
//
// A successful device CONNECT counts as "seen" (registry.record_seen()).
//
// Thread-safety: as the Authorizer contract requires; the registry and the
// fallback must outlive this object.
#pragma once

#include <string>
#include <string_view>

#include "devices/registry/registry.hpp"
#include "mqtt/broker/auth.hpp"

namespace urbis::security {

class DeviceAuthorizer final : public mqtt::Authorizer {
 public:
  DeviceAuthorizer(devices::DeviceRegistry& registry, mqtt::Authorizer& fallback)
      : registry_(registry), fallback_(fallback) {}

  mqtt::AuthResult authenticate(const mqtt::ClientIdentity& id, const std::optional<std::string>& password) override;
  bool may_publish(const mqtt::ClientIdentity& id, std::string_view principal, std::string_view topic) override;
  bool may_subscribe(const mqtt::ClientIdentity& id, std::string_view principal, std::string_view filter) override;
  void reload() override { fallback_.reload(); }

  // The principal given to a device authenticated under `epoch`; exposed for tests.
  static std::string device_principal(std::string_view device_id, uint64_t epoch);

 private:
  // The device a principal names if it is a device principal still valid.
  std::optional<devices::DeviceAccess> live_device(std::string_view principal, std::string& device_id) const;

  devices::DeviceRegistry& registry_;
  mqtt::Authorizer& fallback_;
};

// The topic rules, pure: may device `id` of `tenant` (internal form) publish to `topic`?
bool device_may_publish(std::string_view tenant, std::string_view id, std::string_view topic);
bool device_may_subscribe(std::string_view tenant, std::string_view id, std::string_view filter);

}  // namespace urbis::security
