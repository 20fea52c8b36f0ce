// Loading urbis.toml into urbis::Options.
//
// One table of keys (config_table.cpp) is the source of truth: it maps each
// dotted TOML key onto an Options field, with its type, allowed range and a
// one-line description. The parser, the validator, render_config() and the
// generated key reference (config_keys_markdown()) all come from it, and a
// unit test checks that urbis.toml documents every key of the table.
//
// Anything wrong stops start-up with a message that names the file, the line
// and the key, e.g.
//   urbis.toml:12: mqtt.max_packet_size: must be between 16 and 268435456, got 3
// All problems of a file are reported at once (one per line, in line order),
// so an operator fixes them in one round.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "config/options.hpp"

namespace urbis {

// Reads and parses the file at `path`. Keys absent from the file keep their
// defaults from options.hpp; an empty file gives the defaults.
Result<Options> load_config(const std::string& path);

// Parses TOML text; `source_name` prefixes every message (usually the path).
// Never throws: TOML syntax errors come back as "name:line:col: message".
Result<Options> parse_config(std::string_view toml_text, std::string_view source_name);

// Checks the rules that span several fields or that the command line could
// break after the file was read: TLS enabled without certificate and key,
// client certificates required without a CA, two listeners on one port,
// duplicate or reserved user names, malformed password hashes, ACL entries for
// unknown users or with invalid patterns, and every range of the key table.
// parse_config() runs it already; call it again after applying CLI overrides.
Status validate_options(const Options& options);

// A listen address. `host` is an IP literal without brackets.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses "host:port": "0.0.0.0:1883", "[::1]:1883", ":1883" (all IPv4
// interfaces), "localhost:8080" (127.0.0.1). Port 0 asks the system for a
// free port. Other host names are refused: a listener binds to an address.
Result<HostPort> parse_host_port(std::string_view host_port);

// The broker an upstream url names.
struct MqttUrl {
  std::string host;  // a name or an IP literal, without brackets
  uint16_t port = 0;
  bool tls = false;  // mqtts:// or ssl://
};

// Parses the url of an upstream broker: "mqtt://host[:port]" (port 1883 when
// omitted), "mqtts://host[:port]" or "ssl://host[:port]" (TLS, port 8883);
// host a name or an IP, IPv6 in brackets. No path, query or user info.
Result<MqttUrl> parse_mqtt_url(std::string_view url);

// Sets `listener` from "host:port" (see parse_host_port) and enables it. Used
// by the CLI flags --mqtt and --http.
Status apply_listen(std::string_view host_port, ListenerOptions& listener);

// Formats host and port back as "host:port" ("[::1]:1883" for IPv6).
std::string format_host_port(std::string_view host, uint16_t port);

// One row of the key table, for documentation and tools.
struct ConfigKeyInfo {
  std::string key;            // dotted path; fields of [[mqtt.users]] are "mqtt.users.name"
  std::string type;           // "boolean", "integer", "string", "host:port", "array of tables"
  std::string default_value;  // as TOML text; "" when the key has no default (required field)
  std::string allowed;        // "16..268435456", "\"1.2\" | \"1.3\"", ... ; "" when any value
  std::string doc;            // one sentence
};

// Every key Urbis reads, in table order.
std::vector<ConfigKeyInfo> config_keys();

// The key table as a Markdown table (for docs/).
std::string config_keys_markdown();

// The effective configuration as TOML that parse_config() accepts and that
// gives back the same Options (users and ACL included).
std::string render_config(const Options& options);

}  // namespace urbis
