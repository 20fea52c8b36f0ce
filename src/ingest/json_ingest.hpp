// Measurements over MQTT as flat JSON, until the device registry arrives.
//
// Topic:   <prefix>/<tenant>/<entity type>/<entity id>
//          tenant "default" is the default tenant; an id that is not a URI
//          becomes urn:ngsi-ld:<type>:<id>.
// Payload: a JSON object, one member per attribute:
//            {"observedAt": "2026-11-25T08:15:00Z", "NO2": 41, "PM10": 18.5}
//          A member may also be an object with "value" and optional
//          "unitCode" and "observedAt":
//            {"temperature": {"value": 18.4, "unitCode": "CEL"}}
//          observedAt (ISO 8601 or epoch milliseconds) defaults to the time
//          of arrival.
//
// Each attribute becomes one history point and the attribute's current value
// on the entity (created on first sight with the topic's type), committed by
// the MeasurementWriter (writer.hpp). The PUBLISH is acknowledged after both
// commits.
//
// Idempotency (keys are per series in the store): with an explicit key (MQTT 5
// user property "idempotency-key") every point of the message carries it;
// otherwise a reading that has its own observedAt is keyed by its time, so a
// replay after a reconnect is stored once. Readings without observedAt have
// no key.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "ingest/writer.hpp"
#include "mqtt/broker/ingest.hpp"

namespace urbis::ingest {

// Decodes topic and payload. `topic_rest` is the topic after "<prefix>/".
// InvalidArgument with a message naming the problem.
Result<Decoded> decode_json_measurements(std::string_view topic_rest, std::string_view payload, int64_t now_ms,
                                         std::string_view idempotency_key);

class JsonIngestSink final : public mqtt::IngestSink {
 public:
  // `prefix` without a trailing slash, e.g. "urbis/ingest". The writer and
  // the clock must outlive the sink.
  JsonIngestSink(std::string prefix, MeasurementWriter& writer, const Clock& clock);

  bool wants(std::string_view topic) const override;
  void ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) override;

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  std::string prefix_;  // with trailing '/'
  MeasurementWriter& writer_;
  const Clock& clock_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace urbis::ingest
