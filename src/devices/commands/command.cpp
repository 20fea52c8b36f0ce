#include "devices/commands/command.hpp"

#include <openssl/rand.h>

#include <boost/json.hpp>

#include <array>
#include <random>

#include "devices/decoders/encoding.hpp"
#include "devices/registry/device.hpp"
#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::devices {

namespace json = boost::json;

namespace {

constexpr uint32_t kMaxFPort = 223;  // 224 is the MAC test port, 225.. reserved (LoRaWAN 1.0.4 4.3.2)
constexpr int64_t kMaxTtlS = 365LL * 24 * 3600;
constexpr size_t kMaxApplicationIdBytes = 128;
// Commands wait in memory while queued: a bound per command keeps that small.
constexpr size_t kMaxPayloadBytes = 65536;

Status field_error(std::string_view field, std::string_view what) {
  return InvalidArgument(std::string(field) + ": " + std::string(what));
}

bool level_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<int64_t> integer_member(const json::value& v, std::string_view field, int64_t min, int64_t max) {
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.as_int64();
  } else if (v.is_uint64() && v.as_uint64() <= uint64_t(INT64_MAX)) {
    n = static_cast<int64_t>(v.as_uint64());
  } else if (v.is_double() && v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double()))) {
    n = static_cast<int64_t>(v.as_double());
  } else {
    return field_error(field, "expected an integer " + std::to_string(min) + ".." + std::to_string(max));
  }
  if (n < min || n > max) return field_error(field, "expected an integer " + std::to_string(min) + ".." + std::to_string(max));
  return n;
}

json::value time_or_null(int64_t ms) {
  if (ms == 0) return nullptr;
  return json::string(model::format_datetime_ms(ms));
}

json::value text_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::string(s);
}

}  // namespace

std::string_view command_status_name(CommandStatus s) {
  switch (s) {
    case CommandStatus::kQueued: return "queued";
    case CommandStatus::kSent: return "sent";
    case CommandStatus::kFailed: return "failed";
    case CommandStatus::kExpired: return "expired";
  }
  return "queued";
}

std::optional<CommandStatus> parse_command_status(std::string_view s) {
  for (CommandStatus c : {CommandStatus::kQueued, CommandStatus::kSent, CommandStatus::kFailed, CommandStatus::kExpired})
    if (command_status_name(c) == s) return c;
  return std::nullopt;
}

std::string_view command_transport_name(CommandTransport t) {
  return t == CommandTransport::kLorawan ? "lorawan" : "mqtt";
}

std::optional<CommandTransport> parse_command_transport(std::string_view s) {
  if (s == "mqtt") return CommandTransport::kMqtt;
  if (s == "lorawan") return CommandTransport::kLorawan;
  return std::nullopt;
}

bool is_dev_eui(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s)
    if (!is_hex(c)) return false;
  return true;
}

Result<CommandRequest> parse_command_request(const json::value& v) {
  if (!v.is_object()) return field_error("body", "expected a JSON object");
  CommandRequest r;
  for (const auto& [key, m] : v.as_object()) {
    if (key == "payload") {
      r.payload = m;
    } else if (key == "data") {
      if (!m.is_string()) return field_error("data", "expected a base64 string");
      auto bytes = base64_decode(m.as_string());
      if (!bytes) return field_error("data", "not base64 (RFC 4648)");
      r.data = std::move(*bytes);
    } else if (key == "fPort") {
      auto n = integer_member(m, "fPort", 1, kMaxFPort);
      if (!n.ok()) return n.status();
      r.fport = static_cast<uint32_t>(*n);
    } else if (key == "confirmed") {
      if (!m.is_bool()) return field_error("confirmed", "expected true or false");
      r.confirmed = m.as_bool();
    } else if (key == "ttl") {
      auto n = integer_member(m, "ttl", 1, kMaxTtlS);
      if (!n.ok()) return n.status();
      r.ttl_s = *n;
    } else if (key == "applicationId") {
      if (!m.is_string() || m.as_string().empty() || m.as_string().size() > kMaxApplicationIdBytes)
        return field_error("applicationId", "expected a non-empty string of at most 128 bytes");
      for (char c : m.as_string())
        if (!level_char(c)) return field_error("applicationId", "only letters, digits and . _ : - are allowed");
      r.application_id = std::string(m.as_string());
    } else if (key == "devEui") {
      if (!m.is_string() || !is_dev_eui(m.as_string())) return field_error("devEui", "expected 16 hex digits");
      r.dev_eui = lower(m.as_string());
    } else {
      return field_error(std::string(key),
                         "unknown member (expected payload, data, fPort, confirmed, ttl, applicationId, devEui)");
    }
  }
  if (r.payload && r.data) return field_error("data", "give either payload (JSON) or data (base64), not both");
  if (!r.payload && !r.data) return field_error("payload", "missing: give payload (any JSON) or data (base64 bytes)");
  const size_t bytes = r.data ? r.data->size() : model::to_json(*r.payload).size();
  if (bytes > kMaxPayloadBytes)
    return field_error(r.data ? "data" : "payload", "larger than " + std::to_string(kMaxPayloadBytes) + " bytes");
  return r;
}

std::string mqtt_payload(const Command& c) {
  if (c.data) return *c.data;
  if (c.payload) return model::to_json(*c.payload);
  return {};
}

std::string chirpstack_down_topic(std::string_view application_id, std::string_view dev_eui) {
  std::string t = "application/";
  t += application_id;
  t += "/device/";
  t += dev_eui;
  t += "/command/down";
  return t;
}

std::string chirpstack_enqueue_json(const Command& c) {
  // ChirpStack v4 integration.DownlinkCommand in its protobuf JSON mapping
  // (lowerCamelCase names, bytes as base64). Our id becomes the queue item
  // id, so ChirpStack's ack/txack events name the same command.
  json::object o;
  o["id"] = c.id;
  o["devEui"] = c.dev_eui;
  o["confirmed"] = c.confirmed;
  o["fPort"] = c.fport;
  if (c.data) {
    o["data"] = base64_encode(*c.data);
  } else if (c.payload) {
    o["object"] = *c.payload;
  }
  return model::to_json(o);
}

json::object command_to_json(const Command& c) {
  json::object o;
  o["id"] = c.id;
  o["deviceId"] = c.device_id;
  o["tenant"] = tenant_to_wire(c.tenant);
  o["transport"] = command_transport_name(c.transport);
  o["status"] = command_status_name(c.status);
  o["createdAt"] = time_or_null(c.created_ms);
  o["statusAt"] = time_or_null(c.status_ms);
  o["expiresAt"] = time_or_null(c.expires_ms);
  o["attempts"] = c.attempts;
  o["error"] = text_or_null(c.error);
  if (c.data) {
    o["data"] = base64_encode(*c.data);
  } else if (c.payload) {
    o["payload"] = *c.payload;
  }
  o["fPort"] = c.fport;
  o["confirmed"] = c.confirmed;
  o["topic"] = text_or_null(c.topic);
  if (c.transport == CommandTransport::kLorawan) {
    o["applicationId"] = text_or_null(c.application_id);
    o["devEui"] = text_or_null(c.dev_eui);
  }
  return o;
}

std::string command_to_stored(const Command& c) {
  json::object o;
  o["v"] = 1;
  o["id"] = c.id;
  o["tenant"] = c.tenant;
  o["device"] = c.device_id;
  o["created"] = c.created_ms;
  o["expires"] = c.expires_ms;
  if (c.payload) o["payload"] = *c.payload;
  if (c.data) o["data"] = base64_encode(*c.data);
  o["fport"] = c.fport;
  o["confirmed"] = c.confirmed;
  o["transport"] = command_transport_name(c.transport);
  o["application"] = c.application_id;
  o["deveui"] = c.dev_eui;
  o["status"] = command_status_name(c.status);
  o["status_ms"] = c.status_ms;
  o["error"] = c.error;
  o["attempts"] = c.attempts;
  o["topic"] = c.topic;
  return model::to_json(o);
}

Result<Command> command_from_stored(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  auto corrupt = [](std::string_view what) { return Status(Code::kCorruption, "command: " + std::string(what)); };
  if (ec || !v.is_object()) return corrupt("not a JSON object");
  const json::object& o = v.as_object();
  Command c;
  try {
    if (o.at("v").to_number<int64_t>() != 1) return corrupt("unknown version");
    c.id = std::string(o.at("id").as_string());
    c.tenant = std::string(o.at("tenant").as_string());
    c.device_id = std::string(o.at("device").as_string());
    c.created_ms = o.at("created").to_number<int64_t>();
    c.expires_ms = o.at("expires").to_number<int64_t>();
    if (const json::value* p = o.if_contains("payload")) c.payload = *p;
    if (const json::value* d = o.if_contains("data")) {
      auto bytes = base64_decode(d->as_string());
      if (!bytes) return corrupt("data is not base64");
      c.data = std::move(*bytes);
    }
    c.fport = o.at("fport").to_number<uint32_t>();
    c.confirmed = o.at("confirmed").as_bool();
    auto t = parse_command_transport(o.at("transport").as_string());
    if (!t) return corrupt("unknown transport");
    c.transport = *t;
    c.application_id = std::string(o.at("application").as_string());
    c.dev_eui = std::string(o.at("deveui").as_string());
    auto s = parse_command_status(o.at("status").as_string());
    if (!s) return corrupt("unknown status");
    c.status = *s;
    c.status_ms = o.at("status_ms").to_number<int64_t>();
    c.error = std::string(o.at("error").as_string());
    c.attempts = o.at("attempts").to_number<uint32_t>();
    c.topic = std::string(o.at("topic").as_string());
  } catch (const std::exception& e) {
    // Boost.JSON's accessors throw on a missing member or a wrong kind; a
    // stored document that does not fit is corrupt, never a crash.
    return corrupt(std::string("malformed (") + e.what() + ")");
  }
  return c;
}

std::string random_uuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // OpenSSL's generator does not fail once seeded; fall back rather than abort.
    std::random_device rd;
    for (auto& c : b) c = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace urbis::devices
