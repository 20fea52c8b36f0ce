#include "config/config_table.hpp"

namespace urbis::config_detail {
namespace {

constexpr int64_t kU16Max = 65535;
constexpr int64_t kU32Max = 4294967295;

// `+` turns each captureless lambda into the plain function pointer that the
// Target variant holds; its return type picks how the value is parsed.
const KeySpec kKeys[] = {
    // ------------------------------------------------------------ top level
    {.key = "data_dir",
     .target = +[](Options& o) -> auto& { return o.data_dir; },
     .non_empty = true,
     .doc = "Directory for the database, retained messages and sessions."},
    {.key = "log_level",
     .target = +[](Options& o) -> auto& { return o.log_level; },
     .choices = "trace|debug|info|warn|error|critical|off",
     .doc = "Least severe log level written to stderr."},
    {.key = "threads",
     .target = +[](Options& o) -> auto& { return o.threads; },
     .min = 0, .max = 1024,
     .doc = "I/O threads; 0 means one per CPU core."},
    {.key = "allocator",
     .target = +[](Options& o) -> auto& { return o.allocator; },
     .choices = "system|jemalloc",
     .doc = "Memory allocator: system (smallest footprint) or jemalloc (faster under heavy writes; needs libjemalloc2)."},

    // ------------------------------------------------------------ [mqtt]
    {.key = "mqtt.websocket",
     .target = +[](Options& o) -> auto& { return o.mqtt.websocket; },
     .doc = "Serve MQTT over WebSocket at /mqtt on the HTTP listener."},
    {.key = "mqtt.allow_anonymous",
     .target = +[](Options& o) -> auto& { return o.mqtt.allow_anonymous; },
     .doc = "Accept clients that send no user name."},
    {.key = "mqtt.max_connections",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_connections; },
     .min = 0, .max = kU32Max,
     .doc = "Total MQTT connections; 0 means unlimited."},
    {.key = "mqtt.max_connections_per_ip",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_connections_per_ip; },
     .min = 0, .max = kU32Max,
     .doc = "MQTT connections from one IP address; 0 means unlimited."},
    {.key = "mqtt.max_packet_size",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_packet_size; },
     .min = 16, .max = 268435456,
     .doc = "Largest MQTT packet accepted or sent, in bytes."},
    {.key = "mqtt.receive_maximum",
     .target = +[](Options& o) -> auto& { return o.mqtt.receive_maximum; },
     .min = 1, .max = kU16Max,
     .doc = "QoS 1/2 messages in flight per client, in each direction."},
    {.key = "mqtt.max_queued_messages",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_queued_messages; },
     .min = 1, .max = kU32Max,
     .doc = "Messages queued per session while the client is offline or slow."},
    {.key = "mqtt.max_queued_bytes",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_queued_bytes; },
     .min = 1, .max = INT64_MAX,
     .doc = "Bytes queued per session while the client is offline or slow."},
    {.key = "mqtt.max_publish_rate",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_publish_rate; },
     .min = 0, .max = kU32Max,
     .doc = "PUBLISH packets per second per client; 0 means unlimited."},
    {.key = "mqtt.max_keep_alive",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_keep_alive; },
     .min = 1, .max = kU16Max,
     .doc = "Longest keep-alive a client may ask for, in seconds."},
    {.key = "mqtt.max_session_expiry",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_session_expiry; },
     .min = 0, .max = kU32Max,
     .doc = "Longest session expiry a client may ask for, in seconds."},
    {.key = "mqtt.topic_alias_maximum",
     .target = +[](Options& o) -> auto& { return o.mqtt.topic_alias_maximum; },
     .min = 0, .max = kU16Max,
     .doc = "Topic aliases a client may use towards the broker (MQTT 5)."},
    {.key = "mqtt.sys_interval",
     .target = +[](Options& o) -> auto& { return o.mqtt.sys_interval; },
     .min = 0, .max = 86400,
     .doc = "Seconds between $SYS statistics updates; 0 disables them."},
    {.key = "mqtt.maximum_qos",
     .target = +[](Options& o) -> auto& { return o.mqtt.maximum_qos; },
     .min = 0, .max = 2,
     .doc = "Highest QoS the broker grants."},
    {.key = "mqtt.retain_available",
     .target = +[](Options& o) -> auto& { return o.mqtt.retain_available; },
     .doc = "Keep retained messages."},
    {.key = "mqtt.max_retained_messages",
     .target = +[](Options& o) -> auto& { return o.mqtt.max_retained_messages; },
     .min = 0, .max = kU32Max,
     .doc = "Retained messages kept in total."},

    // ------------------------------------------------------------ [mqtt.tcp]
    {.key = "mqtt.tcp.enabled",
     .target = +[](Options& o) -> auto& { return o.mqtt.tcp.enabled; },
     .doc = "Accept plain MQTT over TCP."},
    {.key = "mqtt.tcp.listen",
     .target = +[](Options& o) { return ListenRef{o.mqtt.tcp.host, o.mqtt.tcp.port}; },
     .doc = "Address and port of the plain MQTT listener."},

    // ------------------------------------------------------------ [mqtt.tls]
    {.key = "mqtt.tls.enabled",
     .target = +[](Options& o) -> auto& { return o.mqtt.tls.enabled; },
     .doc = "Accept MQTT over TLS."},
    {.key = "mqtt.tls.listen",
     .target = +[](Options& o) { return ListenRef{o.mqtt.tls.host, o.mqtt.tls.port}; },
     .doc = "Address and port of the MQTT over TLS listener."},
    {.key = "mqtt.tls.cert_file",
     .target = +[](Options& o) -> auto& { return o.mqtt.tls.cert_file; },
     .doc = "PEM certificate chain of the server."},
    {.key = "mqtt.tls.key_file",
     .target = +[](Options& o) -> auto& { return o.mqtt.tls.key_file; },
     .doc = "PEM private key of the server."},
    {.key = "mqtt.tls.ca_file",
     .target = +[](Options& o) -> auto& { return o.mqtt.tls.ca_file; },
     .doc = "PEM CA bundle used to verify client certificates; empty: none asked."},
    {.key = "mqtt.tls.require_client_cert",
     .target = +[](Options& o) -> auto& { return o.mqtt.tls.require_client_cert; },
     .doc = "Refuse TLS clients without a certificate signed by ca_file."},
    {.key = "mqtt.tls.min_version",
     .target = +[](Options& o) -> auto& { return o.mqtt.tls.min_version; },
     .choices = "1.2|1.3",
     .doc = "Oldest TLS version accepted."},

    // ------------------------------------------------------------ [[mqtt.users]]
    {.key = "mqtt.users", .target = TableArray{},
     .doc = "Users who may connect with a user name and password."},
    {.key = "mqtt.users.name", .target = ElementField{}, .non_empty = true,
     .doc = "User name sent in CONNECT; not \"*\" or \"anonymous\"."},
    {.key = "mqtt.users.password_hash", .target = ElementField{}, .non_empty = true,
     .doc = "Output of `urbis passwd`: $pbkdf2-sha256$<iterations>$<salt>$<hash>."},

    // ------------------------------------------------------------ [[mqtt.acl]]
    {.key = "mqtt.acl", .target = TableArray{},
     .doc = "Topic access rules; none at all means every client may use every topic."},
    {.key = "mqtt.acl.user", .target = ElementField{}, .non_empty = true,
     .doc = "A user name, \"*\" for any authenticated user, or \"anonymous\"."},
    {.key = "mqtt.acl.pattern", .target = ElementField{}, .non_empty = true,
     .doc = "Topic filter; %c is replaced by the client id, %u by the user name."},
    {.key = "mqtt.acl.access", .target = ElementField{}, .choices = "read|write|readwrite",
     .doc = "read: subscribe and receive; write: publish."},

    // ------------------------------------------------------------ [http]
    {.key = "ingest.enabled",
     .target = +[](Options& o) -> auto& { return o.ingest.enabled; },
     .doc = "Store JSON measurements published to ingest.topic_prefix."},
    {.key = "ingest.topic_prefix",
     .target = +[](Options& o) -> auto& { return o.ingest.topic_prefix; },
     .non_empty = true,
     .doc = "Measurement topics: <prefix>/<tenant>/<entity type>/<entity id>."},
    {.key = "devices.profiles_dir",
     .target = +[](Options& o) -> auto& { return o.devices.profiles_dir; },
     .doc = "Directory of *.toml device profiles (added to, or replacing by name, the built-in ones); "
            "read at start and on SIGHUP."},
    {.key = "devices.silent_after_s",
     .target = +[](Options& o) -> auto& { return o.devices.silent_after_s; },
     .min = 0, .max = 365 * 86400,
     .doc = "Seconds without a message after which an active device is shown as silent; 0 = never."},
    {.key = "devices.upstream", .target = TableArray{},
     .doc = "An MQTT broker to subscribe to as a client (e.g. a ChirpStack installation's Mosquitto); "
            "its uplinks are ingested like the broker's own; repeatable."},
    {.key = "devices.upstream.url", .target = ElementField{}, .non_empty = true,
     .doc = "mqtt://host[:port] (port 1883 when omitted), or mqtts:// (also ssl://, port 8883) for TLS, "
            "verified with the system CAs and outgoing_tls.ca_file."},
    {.key = "devices.upstream.username", .target = ElementField{},
     .doc = "User name for the upstream broker; empty: none sent."},
    {.key = "devices.upstream.password", .target = ElementField{},
     .doc = "Password for the upstream broker; empty: none sent."},
    {.key = "devices.upstream.client_id", .target = ElementField{},
     .doc = "Client id, which also names the persistent session there; empty: urbis-<hostname>."},
    {.key = "devices.upstream.topics",
     .target = ElementField{.kind = ElementField::Kind::kStringArray,
                            .default_text = "[\"application/+/device/+/event/up\"]"},
     .doc = "Topic filters subscribed to (ChirpStack v4 uplink events by default)."},
    {.key = "devices.upstream.qos",
     .target = ElementField{.kind = ElementField::Kind::kInteger, .default_text = "1"},
     .min = 0, .max = 2,
     .doc = "QoS of the subscriptions; 1 or 2: a message is acknowledged upstream only after it is stored."},
    {.key = "storage.synchronous",
     .target = +[](Options& o) -> auto& { return o.storage.synchronous; },
     .choices = "normal|full",
     .doc = "SQLite synchronous mode: normal survives kill -9, full also power loss."},
    {.key = "storage.raw_retention_days",
     .target = +[](Options& o) -> auto& { return o.storage.raw_retention_days; },
     .min = 0, .max = 36500,
     .doc = "Days raw history points are kept; 0 = forever."},
    {.key = "storage.minute_retention_days",
     .target = +[](Options& o) -> auto& { return o.storage.minute_retention_days; },
     .min = 0, .max = 36500,
     .doc = "Days 1-minute rollups are kept; 0 = forever."},
    {.key = "storage.hour_retention_days",
     .target = +[](Options& o) -> auto& { return o.storage.hour_retention_days; },
     .min = 0, .max = 36500,
     .doc = "Days 1-hour rollups are kept; 0 = forever."},
    {.key = "storage.idempotency_days",
     .target = +[](Options& o) -> auto& { return o.storage.idempotency_days; },
     .min = 0, .max = 36500,
     .doc = "Days idempotency keys are remembered; 0 = as long as raw points."},
    // ------------------------------------------------------------ [ngsild]
    {.key = "ngsild.enabled",
     .target = +[](Options& o) -> auto& { return o.ngsild.enabled; },
     .doc = "Serve the NGSI-LD API at /ngsi-ld/v1 on the HTTP listener."},
    {.key = "ngsild.record_history",
     .target = +[](Options& o) -> auto& { return o.ngsild.record_history; },
     .doc = "Keep the history of every value written through the API (served by the temporal API)."},
    {.key = "ngsild.default_limit",
     .target = +[](Options& o) -> auto& { return o.ngsild.default_limit; },
     .min = 1, .max = 1000000,
     .doc = "Entities per page when a query gives no limit."},
    {.key = "ngsild.max_limit",
     .target = +[](Options& o) -> auto& { return o.ngsild.max_limit; },
     .min = 1, .max = 1000000,
     .doc = "Largest limit a query may ask for (403 TooManyResults above)."},
    {.key = "ngsild.max_batch",
     .target = +[](Options& o) -> auto& { return o.ngsild.max_batch; },
     .min = 1, .max = 1000000,
     .doc = "Entities in one batch operation."},
    {.key = "ngsild.context_fetch_timeout_ms",
     .target = +[](Options& o) -> auto& { return o.ngsild.context_fetch_timeout_ms; },
     .min = 1, .max = 600000,
     .doc = "Milliseconds to wait for a remote JSON-LD @context."},
    {.key = "ngsild.max_cached_contexts",
     .target = +[](Options& o) -> auto& { return o.ngsild.max_cached_contexts; },
     .min = 1, .max = 1000000,
     .doc = "Remote JSON-LD contexts kept in the cache (least recently used go first)."},
    {.key = "ngsild.contexts", .target = TableArray{},
     .doc = "A JSON-LD context read from a local file instead of fetched (air-gapped cities); repeatable."},
    {.key = "ngsild.contexts.url", .target = ElementField{}, .non_empty = true,
     .doc = "The context URL as clients send it."},
    {.key = "ngsild.contexts.file", .target = ElementField{}, .non_empty = true,
     .doc = "The file holding that context document (JSON)."},

    {.key = "http.enabled",
     .target = +[](Options& o) -> auto& { return o.http.listener.enabled; },
     .doc = "Serve the HTTP API, dashboard and MQTT over WebSocket."},
    {.key = "http.listen",
     .target = +[](Options& o) { return ListenRef{o.http.listener.host, o.http.listener.port}; },
     .doc = "Address and port of the HTTP listener."},
    {.key = "http.max_body_bytes",
     .target = +[](Options& o) -> auto& { return o.http.max_body_bytes; },
     .min = 1, .max = 1073741824,
     .doc = "Largest HTTP request body accepted, in bytes."},
    {.key = "http.idle_timeout_s",
     .target = +[](Options& o) -> auto& { return o.http.idle_timeout_s; },
     .min = 1, .max = 86400,
     .doc = "Seconds an idle HTTP connection stays open."},
    {.key = "http.admin_token",
     .target = +[](Options& o) -> auto& { return o.http.admin_token; },
     .doc = "Bearer token for the device API (/api/v1/devices); empty: loopback clients only."},

    // ------------------------------------------------------------ [outgoing_tls]
    {.key = "outgoing_tls.ca_file",
     .target = +[](Options& o) -> auto& { return o.outgoing_tls.ca_file; },
     .doc = "PEM CA bundle trusted, besides the system CAs, for TLS connections Urbis opens "
            "(https:// and mqtts:// notification endpoints, mqtts:// upstream brokers)."},
};

}  // namespace

std::span<const KeySpec> key_table() { return kKeys; }

const KeySpec* find_key(std::string_view key) {
  for (const KeySpec& k : kKeys) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

bool is_section(std::string_view prefix) {
  for (const KeySpec& k : kKeys) {
    if (k.key.size() > prefix.size() && k.key.substr(0, prefix.size()) == prefix &&
        k.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace urbis::config_detail
