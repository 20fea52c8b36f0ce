// The device registry's model: one Device per physical sensor or actuator,
// its lifecycle state, and the JSON forms the REST API and the CLI use.
//
// Identity. A device id is unique in the whole node, not only in its tenant:
// it is the MQTT user name the device connects with, and CONNECT carries no
// tenant. Ids and tenant names are one MQTT topic level each, so they are
// restricted to [A-Za-z0-9._:-] (1..128 bytes): a device id can never widen a
// topic pattern ('+', '#', '/') or hide a NUL.
//
// Tenants. Inside Urbis the default tenant is "" (as in the stores); on the
// wire, in topics and in JSON it is called "default". Topics are
// urbis/<tenant>/<device-id>/up[/<format>] and urbis/<tenant>/<device-id>/down.
//
// State machine (who moves it):
//   provisioned --first connect--> active --([devices] silent_after_s without a message)--> silent --message--> active
//   any --admin--> quarantined | disabled | active
// A quarantined or disabled device cannot connect, publish or subscribe.
//
// Thread-safety: plain values; the functions are pure.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace urbis::devices {

enum class DeviceState { kProvisioned, kActive, kSilent, kQuarantined, kDisabled };

std::string_view state_name(DeviceState s);
std::optional<DeviceState> parse_state(std::string_view s);

// A GeoJSON Point (WGS 84): longitude first, as GeoJSON orders it.
struct GeoPoint {
  double lon = 0;
  double lat = 0;
  std::optional<double> alt;
  bool operator==(const GeoPoint&) const = default;
};

struct Device {
  std::string tenant;  // "" = the default tenant
  std::string id;
  std::string name;     // free text for people; may be empty
  std::string profile;  // device profile name (decoder, mapping); may be empty
  std::optional<GeoPoint> location;
  std::vector<std::string> tags;  // sorted, unique
  DeviceState state = DeviceState::kProvisioned;
  std::string firmware;  // firmware version as reported or set; may be empty
  int64_t created_ms = 0;
  int64_t updated_ms = 0;    // last change by an administrator
  int64_t last_seen_ms = 0;  // last connect or message; 0 = never
  std::string last_error;    // last decoding/ingest error; empty = none
  int64_t last_error_ms = 0;
  int64_t error_count = 0;
  // Credentials, as far as they can be shown: whether a token is set (never
  // the token or its hash) and whether a client certificate may stand in.
  bool has_token = false;
  int64_t token_created_ms = 0;
  bool certificate = false;  // a verified TLS client certificate with CN == id authenticates it
};

// What an administrator may set when creating a device. Absent optionals
// take the defaults (state provisioned, no location...).
struct DeviceSpec {
  std::string tenant;
  std::string id;
  std::string name;
  std::string profile;
  std::optional<GeoPoint> location;
  std::vector<std::string> tags;
  std::optional<DeviceState> state;
  std::string firmware;
  bool certificate = false;
};

// A partial update (PATCH): only present members change. `location` holds
// nullopt inside to remove the location.
struct DevicePatch {
  std::optional<std::string> name;
  std::optional<std::string> profile;
  std::optional<std::optional<GeoPoint>> location;
  std::optional<std::vector<std::string>> tags;
  std::optional<DeviceState> state;
  std::optional<std::string> firmware;
  std::optional<bool> certificate;
};

// Field checks; messages start with the field name ("id: ...").
Status validate_device_id(std::string_view id);
Status validate_tenant(std::string_view tenant);  // the wire name: "default" or an id-like name
// "default" -> "", anything else unchanged. REQUIRES: validate_tenant() passed.
std::string tenant_from_wire(std::string_view wire);
std::string_view tenant_to_wire(std::string_view tenant);

// The topics a device owns.
std::string up_topic(const Device& d);    // urbis/<tenant>/<id>/up
std::string down_topic(const Device& d);  // urbis/<tenant>/<id>/down

// Parses a create body: {"id", "tenant"?, "name"?, "profile"?, "location"?
// (GeoJSON Point), "tags"? (array of strings), "state"?, "firmware"?,
// "certificate"? (bool)}. Unknown members are refused (a typo must not pass
// silently). Errors are InvalidArgument naming the member.
Result<DeviceSpec> parse_device_spec(const boost::json::value& v);
// Parses a PATCH body; "id" and "tenant" cannot change (moving a device to
// another tenant changes its topics: delete and create it instead).
Result<DevicePatch> parse_device_patch(const boost::json::value& v);
// A GeoJSON Point object, or an error naming `field`.
Result<GeoPoint> parse_point(const boost::json::value& v, std::string_view field);

// The API form: every member of Device, times as ISO 8601 UTC (null = never),
// tenant as its wire name. Never contains a secret.
boost::json::object device_to_json(const Device& d);
boost::json::object point_to_json(const GeoPoint& p);

}  // namespace urbis::devices
