#include "security/device_auth.hpp"

#include <charconv>

namespace urbis::security {

namespace {

constexpr uint8_t kBadUserNameOrPassword = 0x86;
constexpr uint8_t kNotAuthorized = 0x87;
// "\0d<epoch>\0<id>": NUL never occurs in an MQTT user name.
constexpr std::string_view kPrefix("\0d", 2);

std::string prefix_of(std::string_view tenant, std::string_view id) {
  std::string p = "urbis/";
  p += devices::tenant_to_wire(tenant);
  p += '/';
  p += id;
  p += '/';
  return p;
}

bool refused(devices::DeviceState s) {
  return s == devices::DeviceState::kQuarantined || s == devices::DeviceState::kDisabled;
}

}  // namespace

bool device_may_publish(std::string_view tenant, std::string_view id, std::string_view topic) {
  std::string p = prefix_of(tenant, id) + "up";
  if (topic.size() < p.size() || topic.substr(0, p.size()) != p) return false;
  std::string_view rest = topic.substr(p.size());
  if (rest.empty()) return true;
  // "/<format>": exactly one more, non-empty level without wildcards.
  if (rest.front() != '/') return false;
  std::string_view format = rest.substr(1);
  return !format.empty() && format.find_first_of(std::string_view("/+#\0", 4)) == std::string_view::npos;
}

bool device_may_subscribe(std::string_view tenant, std::string_view id, std::string_view filter) {
  return filter == prefix_of(tenant, id) + "down";
}

std::string DeviceAuthorizer::device_principal(std::string_view device_id, uint64_t epoch) {
  std::string p(kPrefix);
  p += std::to_string(epoch);
  p += '\0';
  p += device_id;
  return p;
}

mqtt::AuthResult DeviceAuthorizer::authenticate(const mqtt::ClientIdentity& id,
                                                const std::optional<std::string>& password) {
  std::string_view name;
  if (id.username && !id.username->empty()) {
    name = *id.username;
  } else if (!id.cert_cn.empty()) {
    name = id.cert_cn;
  }
  if (!name.empty()) {
    devices::DeviceAuthResult r = registry_.authenticate(name, password, id.cert_cn);
    switch (r.outcome) {
      case devices::DeviceAuthOutcome::kNotADevice: break;
      case devices::DeviceAuthOutcome::kBadCredentials: return {false, kBadUserNameOrPassword, ""};
      case devices::DeviceAuthOutcome::kNotAllowed: return {false, kNotAuthorized, ""};
      case devices::DeviceAuthOutcome::kOk:
        registry_.record_seen(name);
        return {true, 0, device_principal(name, r.epoch)};
    }
  }
  mqtt::AuthResult r = fallback_.authenticate(id, password);
  // A configured principal must never look like a device's (see the header).
  if (r.ok && r.principal.compare(0, kPrefix.size(), kPrefix) == 0) return {false, kBadUserNameOrPassword, ""};
  return r;
}

std::optional<devices::DeviceAccess> DeviceAuthorizer::live_device(std::string_view principal,
                                                                   std::string& device_id) const {
  std::string_view rest = principal.substr(kPrefix.size());
  size_t nul = rest.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  uint64_t epoch = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + nul, epoch);
  if (ec != std::errc() || ptr != rest.data() + nul) return std::nullopt;
  device_id = std::string(rest.substr(nul + 1));
  auto a = registry_.access(device_id);
  if (!a || a->epoch != epoch || refused(a->state)) return std::nullopt;
  return a;
}

bool DeviceAuthorizer::may_publish(const mqtt::ClientIdentity& id, std::string_view principal,
                                   std::string_view topic) {
  if (principal.compare(0, kPrefix.size(), kPrefix) != 0) return fallback_.may_publish(id, principal, topic);
  std::string device_id;
  auto a = live_device(principal, device_id);
  if (!a) return false;
  if (device_may_publish(a->tenant, device_id, topic)) return true;
  // MQTT 3.1.1 cannot tell the device (its PUBLISH is acknowledged and
  // dropped): the device's last error says it, for whoever commissions it.
  registry_.record_error(device_id, "not allowed to publish to '" + std::string(topic) + "'; a device publishes to " +
                                        prefix_of(a->tenant, device_id) + "up[/<format>]");
  return false;
}

bool DeviceAuthorizer::may_subscribe(const mqtt::ClientIdentity& id, std::string_view principal,
                                     std::string_view filter) {
  if (principal.compare(0, kPrefix.size(), kPrefix) != 0) return fallback_.may_subscribe(id, principal, filter);
  std::string device_id;
  auto a = live_device(principal, device_id);
  return a && device_may_subscribe(a->tenant, device_id, filter);
}

}  // namespace urbis::security
