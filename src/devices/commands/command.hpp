// Downlink commands: a message an application sends to one device through
// the platform, and what became of it.
//
// A command is addressed to a registered device and carries either a JSON
// value ("payload") or raw bytes ("data", base64 in JSON). How it travels
// depends on the device (commands/service.hpp decides, in one function):
//   mqtt     published to urbis/<tenant>/<id>/down with QoS 1; the payload is
//            the JSON text, or the raw bytes.
//   lorawan  a ChirpStack v4 enqueue message published to
//            application/<applicationId>/device/<devEui>/command/down:
//            {"id", "devEui", "confirmed", "fPort", "data" (base64)} or, for a
//            JSON payload, "object" instead of "data" (ChirpStack's codec
//            encodes it).
//
// Status (who moves it):
//   queued --published to at least one session that will deliver it--> sent
//   queued --its time to live passed--> expired
//   queued --the device disappeared / the message cannot be built--> failed
// "sent" means the broker handed the message to a session of the device (or,
// for LoRaWAN, to the network server's subscription); it does not mean the
// device acknowledged it. A queued command may be cancelled (deleted).
//
// Thread-safety: plain values; the functions are pure.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace urbis::devices {

enum class CommandStatus { kQueued, kSent, kFailed, kExpired };
enum class CommandTransport { kMqtt, kLorawan };

std::string_view command_status_name(CommandStatus s);
std::optional<CommandStatus> parse_command_status(std::string_view s);
std::string_view command_transport_name(CommandTransport t);
std::optional<CommandTransport> parse_command_transport(std::string_view s);

struct Command {
  std::string id;  // random UUID v4 (lowercase, with dashes)
  std::string tenant;  // internal form: "" = default
  std::string device_id;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // after this a queued command becomes expired
  // Exactly one of the two: a JSON value, or raw bytes.
  std::optional<boost::json::value> payload;
  std::optional<std::string> data;
  uint32_t fport = 1;  // LoRaWAN FPort (1..223); kept but unused for MQTT
  bool confirmed = false;  // LoRaWAN confirmed downlink
  CommandTransport transport = CommandTransport::kMqtt;
  std::string application_id;  // LoRaWAN: as given or learned; may be empty until dispatch
  std::string dev_eui;         // LoRaWAN: 16 lowercase hex digits
  CommandStatus status = CommandStatus::kQueued;
  int64_t status_ms = 0;  // when the status last changed
  std::string error;      // why it failed, or what a queued command waits for; empty = nothing
  uint32_t attempts = 0;  // publish attempts so far
  std::string topic;      // where it was (or will be) published; empty until known
};

// What a POST body asks for, before a device and a time are attached.
struct CommandRequest {
  std::optional<boost::json::value> payload;
  std::optional<std::string> data;  // decoded bytes
  std::optional<uint32_t> fport;
  bool confirmed = false;
  std::optional<int64_t> ttl_s;  // time to live in seconds
  std::optional<std::string> application_id;
  std::optional<std::string> dev_eui;  // normalised to lowercase
};

// Parses {"payload"? any JSON | "data"? base64 string (exactly one of them,
// at most 64 KiB as sent to the device),
// "fPort"? 1..223, "confirmed"? bool, "ttl"? seconds >= 1, "applicationId"?
// non-empty string of [A-Za-z0-9._:-] (one topic level), "devEui"? 16 hex
// digits}. Unknown members are refused. Errors are InvalidArgument naming the
// member ("data: not base64").
Result<CommandRequest> parse_command_request(const boost::json::value& v);

// True for 16 hex digits (either case).
bool is_dev_eui(std::string_view s);

// The bytes the device receives over MQTT: the JSON text of `payload`, or `data`.
std::string mqtt_payload(const Command& c);
// The ChirpStack v4 DownlinkCommand JSON for `c` (see the note above).
std::string chirpstack_enqueue_json(const Command& c);
std::string chirpstack_down_topic(std::string_view application_id, std::string_view dev_eui);

// The API form: {"id","deviceId","tenant" (wire name),"transport","status",
// "createdAt","statusAt","expiresAt","attempts","error" (null when none),
// "payload" | "data" (base64),"fPort","confirmed","topic" (null until known),
// and for LoRaWAN "applicationId" (null until known) and "devEui"}.
boost::json::object command_to_json(const Command& c);

// The stored document (every field, times as integers); round-trips exactly.
std::string command_to_stored(const Command& c);
Result<Command> command_from_stored(std::string_view text);

// A random UUID v4, lowercase with dashes.
std::string random_uuid();

// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view bytes);

}  // namespace urbis::devices
