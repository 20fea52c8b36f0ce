// `urbis bench mqtt`: an MQTT load generator built on mqtt::Client.
//
// Publishers publish to <prefix>/<i>; every subscriber subscribes to <prefix>/#,
// so each subscriber receives every message ("4 -> 4" means every message is
// delivered four times). Each payload starts with a 24-byte header (publisher
// sequence number, publisher id, flags, send time in steady-clock ns), padded
// to payload_size; subscribers use it for latency, loss, duplicate and
// out-of-order accounting. Both ends run in this process, so the steady clock
// is shared and latency is end to end through the broker.
//
// A second mode holds N idle connections (`--idle-clients N`) so a script can
// read the broker's memory per idle connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace urbis::app {

struct BenchMqttOptions {
  std::string host = "127.0.0.1";  // broker address
  uint16_t port = 1883;            // broker MQTT/TCP port
  int publishers = 1;              // publishing connections
  int subscribers = 1;             // subscribing connections, each on <prefix>/#
  int qos = 0;                     // QoS of publishes and subscriptions
  size_t payload_size = 32;        // bytes per message; at least the 24-byte header
  uint64_t rate = 0;               // total messages/s over all publishers; 0 = as fast as possible
  double duration_s = 10;          // measured publishing time
  double warmup_s = 1;             // publishing before measurement starts (not counted)
  double drain_s = 2;              // after publishing stops, wait this long without progress
  std::string topic_prefix = "urbis-bench";
  // Publish JSON measurements {"observedAt":<ms>,"v":<n>} instead of the binary
  // latency header, e.g. to <ingest prefix>/default/BenchMeter to load the
  // durable ingest path. Subscribers then count nothing (use --subscribers 0).
  bool json_payload = false;
  // One reading per message in a device format (bench_payloads.hpp):
  // ingest (= --json-payload), json, senml+json, senml+cbor, lpp, chirpstack.
  // Empty: the binary latency header.
  std::string payload_format;
  // Topic per publisher instead of <topic_prefix>/<i>: "{i}" becomes the
  // publisher number and "{eui}" its benchmark DevEUI, e.g.
  // "urbis/default/bench-{i}/up/lpp" or "application/bench/device/{eui}/event/up".
  std::string topic_template;
  std::string version = "5";       // "5" or "3.1.1"
  std::optional<std::string> username;
  std::optional<std::string> password;
  int threads = 2;                 // io_context threads; clients are spread over them
  // Outgoing QoS 1/2 window per publisher. 0 = the server's Receive Maximum
  // (MQTT 5), or 100 for MQTT 3.1.1 which has no Receive Maximum.
  int inflight = 0;
  int idle_clients = 0;            // > 0: hold this many idle connections instead of publishing
  bool json = false;               // one JSON line on stdout; the table goes to stderr
};

// Runs the benchmark and prints its report. Returns a process exit code:
// 0 when the run completed (loss is a measurement, not a failure), 1 when
// clients could not connect or subscribe, 2 on invalid options.
int run_bench_mqtt(const BenchMqttOptions& options);

// Registers the `mqtt` subcommand with all its flags on `bench_cmd`; when the
// subcommand runs, its exit code is stored in `exit_code`. The options live as
// long as `bench_cmd`.
void add_bench_mqtt_command(CLI::App& bench_cmd, int& exit_code);

}  // namespace urbis::app
