// Every setting Urbis reads, with its default and meaning.
//
// This struct is the single source of truth: config.cpp's key table maps TOML
// keys onto these fields, and urbis.toml at the repository root documents each
// one. Adding a field means adding it in all three places (a unit test checks
// that every key of urbis.toml is known).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace urbis {

struct ListenerOptions {
  bool enabled = false;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};

struct TlsOptions {
  bool enabled = false;
  std::string host = "0.0.0.0";
  uint16_t port = 8883;
  std::string cert_file;        // PEM certificate chain
  std::string key_file;         // PEM private key
  std::string ca_file;          // CA bundle for client certificates; empty: none asked
  bool require_client_cert = false;  // refuse clients without a verified certificate
  std::string min_version = "1.2";   // "1.2" or "1.3"
};

struct UserEntry {
  std::string name;
  std::string password_hash;  // "$pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>"
};

struct AclEntry {
  std::string user;     // a user name, "*" for everyone authenticated, "anonymous"
  std::string pattern;  // topic filter, may contain %c (client id) and %u (user name)
  bool read = false;    // may subscribe / receive
  bool write = false;   // may publish
};

struct MqttOptions {
  ListenerOptions tcp{true, "0.0.0.0", 1883};
  TlsOptions tls;
  bool websocket = true;  // MQTT over WebSocket at /mqtt on the HTTP listener

  bool allow_anonymous = false;
  std::vector<UserEntry> users;
  std::vector<AclEntry> acl;  // empty: authenticated clients may use every topic

  uint32_t max_connections = 100000;        // total; 0 = unlimited
  uint32_t max_connections_per_ip = 0;      // 0 = unlimited
  uint32_t max_packet_size = 1 << 20;       // bytes, both directions
  uint16_t receive_maximum = 100;           // inflight QoS 1/2 per client, both directions
  uint32_t max_queued_messages = 1000;      // per session (offline or slow)
  uint64_t max_queued_bytes = 16ull << 20;  // per session
  uint32_t max_publish_rate = 0;            // messages/s per client; 0 = unlimited
  uint16_t max_keep_alive = 3600;           // server keep-alive cap in seconds (MQTT 5 tells the client)
  uint32_t max_session_expiry = 7 * 24 * 3600;  // seconds; caps what clients ask for
  uint16_t topic_alias_maximum = 64;        // aliases a client may send to us
  uint32_t sys_interval = 10;               // seconds between $SYS updates; 0 disables
  uint8_t maximum_qos = 2;
  bool retain_available = true;
  uint32_t max_retained_messages = 100000;
};

struct HttpOptions {
  ListenerOptions listener{true, "127.0.0.1", 8080};
  uint32_t max_body_bytes = 1 << 20;
  uint32_t idle_timeout_s = 60;
  // Bearer token for the administrative routes (/api/v1/devices). Empty: only
  // clients on the loopback address may call them.
  std::string admin_token;
};

// Measurements arriving over MQTT (see ingest/json_ingest.hpp).
struct IngestOptions {
  bool enabled = true;
  // Topics <topic_prefix>/<tenant>/<entity type>/<entity id> carry JSON
  // measurements; QoS 1/2 publishes to them are acknowledged after commit.
  std::string topic_prefix = "urbis/ingest";
};

// The embedded store (SQLite files in data_dir).
struct StorageOptions {
  // "normal": durable against a process crash (kill -9), may lose the last
  // commits on power loss; "full": also survives power loss, slower.
  std::string synchronous = "normal";
  // How long history is kept per tier, in days; 0 = forever.
  uint32_t raw_retention_days = 30;      // raw points
  uint32_t minute_retention_days = 365;  // 1-minute rollups
  uint32_t hour_retention_days = 0;      // 1-hour rollups
  // How long idempotency keys are remembered, in days; 0 = as long as raw points.
  uint32_t idempotency_days = 0;
};

// A JSON-LD context served from a local file instead of fetched (air-gapped cities).
struct ContextFileEntry {
  std::string url;
  std::string file;
};

// The NGSI-LD API (root /ngsi-ld/v1 on the HTTP listener).
struct NgsiLdOptions {
  bool enabled = true;
  // Record every value written through the API as history (temporal API).
  bool record_history = true;
  uint32_t default_limit = 20;   // entities per page without ?limit
  uint32_t max_limit = 1000;     // a larger ?limit is refused (403 TooManyResults)
  uint32_t max_batch = 10000;    // entities per batch operation
  uint32_t context_fetch_timeout_ms = 5000;
  uint32_t max_cached_contexts = 1000;
  std::vector<ContextFileEntry> contexts;  // [[ngsild.contexts]]
};

// An MQTT broker Urbis subscribes to as a client, e.g. the Mosquitto of a
// ChirpStack installation (see ingest/upstream_bridge.hpp).
struct UpstreamEntry {
  // "mqtt://host[:port]" (port 1883 when omitted), or "mqtts://" / "ssl://"
  // for TLS (port 8883), trusted as OutgoingTlsOptions says.
  std::string url;
  std::string username;   // empty: none sent
  std::string password;   // empty: none sent
  std::string client_id;  // empty: "urbis-<hostname>"; also names the persistent session
  std::vector<std::string> topics{"application/+/device/+/event/up"};
  uint8_t qos = 1;        // of the subscriptions; 1 or 2 = nothing acknowledged before commit
};

// Registered devices (see ingest/device_ingest.hpp, devices/profiles/profile.hpp).
struct DevicesOptions {
  // A directory of *.toml device profiles read at start and on SIGHUP, next to
  // (and overriding by name) the profiles built into the binary. Empty: only
  // the built-in ones.
  std::string profiles_dir;
  // An active device that sends nothing for this long is shown as silent; 0 = never.
  uint32_t silent_after_s = 6 * 3600;
  std::vector<UpstreamEntry> upstream;  // [[devices.upstream]]
};

// TLS connections Urbis opens as a client: https:// and mqtts:// notification
// endpoints, mqtts:// upstream brokers. The server's certificate must chain
// to a system CA or to one in ca_file, and name the host connected to.
struct OutgoingTlsOptions {
  std::string ca_file;  // extra PEM CA bundle trusted besides the system CAs; empty: none
};

struct Options {
  std::string data_dir = "./data";
  std::string log_level = "info";
  uint32_t threads = 0;  // I/O threads; 0 = one per core
  std::string allocator = "system";  // "system" or "jemalloc" (app/allocator.hpp)
  MqttOptions mqtt;
  HttpOptions http;
  IngestOptions ingest;
  DevicesOptions devices;
  StorageOptions storage;
  NgsiLdOptions ngsild;
  OutgoingTlsOptions outgoing_tls;
};

}  // namespace urbis
