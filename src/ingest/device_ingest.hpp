// Device ingest: a registered device's payload, decoded with its profile's
// decoder, mapped to its Smart Data Models entity, and committed.
//
// Where payloads come from
//   MQTT  urbis/<tenant>/<device-id>/up[/<format>]   the device itself (the
//         broker's DeviceAuthorizer already checked it publishes as itself) or
//         a gateway user the ACL allows to publish there.
//   MQTT  application/<app>/device/<devEUI>/event/up  ChirpStack v4's MQTT
//         integration (a configured user; devices cannot publish there). The
//         device is the one registered with id = the DevEUI in lowercase hex.
//   HTTP  POST /api/v1/devices/{id}/measurements       ingest_payload() below.
//
// <format> is json, senml (= senml-json), senml-cbor, lpp, chirpstack or tts
// (a topic cannot spell "senml+json": '+' is a wildcard).
//
// Pipeline, per message: device lookup (unknown, other tenant, quarantined or
// disabled are refused) -> format (the topic's /<format>, else the profile's
// decoder, else flat JSON) -> decode -> LoRaWAN frame-counter check -> map
// (profile, or every reading under its own name on a "Device" entity) ->
// MeasurementWriter (history + state, answered after both commits).
//
// The entity also gets the device's location (a GeoProperty, when the
// registry has one) and refDevice, a Relationship to urn:ngsi-ld:Device:<id>.
//
// Failures: a payload that does not decode or map is refused with
// InvalidArgument (MQTT reason 0x99, HTTP 400); the reason is kept on the
// device (last error, error count) and logged at a bounded rate. Nothing a
// payload contains can stall the path: decoding is linear and bounded.
//
// LoRaWAN: the idempotency key is the DevEUI, the frame counter and the
// network server's reception time, so a redelivered uplink is stored once
// while a device that rejoined (its counter starts again) is not mistaken for
// a duplicate. A counter that goes back (replay) or restarts (rejoin) is
// published on the change bus as a kDeviceAlert event for the security module
// and counted; the readings are still stored.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "devices/decoders/decoder.hpp"
#include "devices/decoders/frame_counter.hpp"
#include "devices/profiles/profile.hpp"
#include "devices/registry/registry.hpp"
#include "ingest/writer.hpp"
#include "model/change_events.hpp"
#include "mqtt/broker/ingest.hpp"

namespace urbis::ingest {

// Builds the Decoded for `device` from a mapping result. Pure; for tests.
// `fallback_ms` is the time of readings that carry none (LoRaWAN reception
// time, else arrival); `key` the message's idempotency key ("" = none; a
// reading with its own time is then keyed by that time).
Decoded to_decoded(const devices::Device& device, const devices::Mapped& mapped, int64_t fallback_ms,
                   std::string_view key);

struct DeviceIngestStats {
  uint64_t accepted = 0;       // messages committed
  uint64_t rejected = 0;       // refused: unknown device, bad payload, mapping error
  uint64_t empty = 0;          // decoded to no attribute (heartbeats, all readings dropped)
  uint64_t lorawan_alerts = 0; // frame counter replays and resets
};

class DeviceIngestSink final : public mqtt::IngestSink {
 public:
  using Done = mqtt::IngestSink::Done;
  // Told the ChirpStack application of each LoRaWAN uplink (for downlinks).
  using LorawanRouteObserver = std::function<void(const std::string& device_id, const std::string& application_id)>;

  // Everything passed must outlive the sink. `bus` may be null.
  DeviceIngestSink(devices::DeviceRegistry& registry, const devices::ProfileSet& profiles, MeasurementWriter& writer,
                   const Clock& clock, model::ChangeBus* bus);

  bool wants(std::string_view topic) const override;
  void ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) override;

  // Decodes and commits `payload` from `device_id` (already authenticated by
  // the caller). `format` nullopt = the profile's decoder. `done` gets
  // kNotFound for an unknown device, kPermissionDenied for a quarantined or
  // disabled one, InvalidArgument for a payload that does not decode or map.
  // On success `summary` (if given) is filled before `done` runs.
  struct Summary {
    std::string tenant;
    std::string entity_id;
    std::string entity_type;
    size_t attributes = 0;
    size_t dropped = 0;
  };
  void ingest_payload(const std::string& device_id, std::optional<devices::Format> format, std::string_view payload,
                      std::string_view idempotency_key, std::shared_ptr<Summary> summary, Done done);

  void set_lorawan_route_observer(LorawanRouteObserver o) { lorawan_observer_ = std::move(o); }

  DeviceIngestStats stats() const;

 private:
  // Refuses with `st`, keeping the reason on the device (if any) and logging at a bounded rate.
  void refuse(std::string_view device_id, std::string_view source, const Status& st, Done& done);
  void process(const devices::Device& device, std::optional<devices::Format> format, std::string_view payload,
               std::string_view idempotency_key, std::string_view source, const std::shared_ptr<Summary>& summary,
               Done done);

  devices::DeviceRegistry& registry_;
  const devices::ProfileSet& profiles_;
  MeasurementWriter& writer_;
  const Clock& clock_;
  model::ChangeBus* bus_;
  devices::FrameCounterTracker frame_counters_;
  LorawanRouteObserver lorawan_observer_;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> empty_{0};
  std::atomic<uint64_t> alerts_{0};

  // Bounded-rate warnings: at most kLogBurst per kLogWindow, then one line
  // saying how many were left out.
  std::mutex log_mu_;
  std::chrono::steady_clock::time_point log_window_start_{};  // guarded by log_mu_
  uint32_t logged_in_window_ = 0;                             // guarded by log_mu_
  uint64_t suppressed_ = 0;                                   // guarded by log_mu_
};

// Hands each message to the first sink that wants its topic.
class SinkChain final : public mqtt::IngestSink {
 public:
  void add(mqtt::IngestSink* s) {
    if (s) sinks_.push_back(s);
  }
  bool wants(std::string_view topic) const override {
    for (auto* s : sinks_)
      if (s->wants(topic)) return true;
    return false;
  }
  void ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) override {
    for (auto* s : sinks_) {
      if (s->wants(msg->topic)) return s->ingest(who, msg, std::move(done));
    }
    done(Status::Ok());
  }

 private:
  std::vector<mqtt::IngestSink*> sinks_;  // set before the broker starts, read-only after
};

}  // namespace urbis::ingest
