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
// Each attribute becomes one history point (TimeSeriesStore) and the
// attribute's current value on the entity (EntityStore, created on first
// sight with the topic's type). The PUBLISH is acknowledged after both
// commits. A reading never replaces a newer one in the current state (late
// data only goes to history).
//
// Idempotency (keys are per series in the store): with an explicit key (MQTT 5
// user property "idempotency-key") every point of the message carries it;
// otherwise a reading that has its own observedAt is keyed by its time, so a
// replay after a reconnect is stored once. Readings without observedAt have
// no key.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "model/change_events.hpp"
#include "model/entity_store.hpp"
#include "mqtt/broker/ingest.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ingest {

// What one PUBLISH decodes to; pure, for tests and fuzzing.
struct Decoded {
  std::string tenant;
  std::string entity_id;
  std::string entity_type;
  std::vector<tsdb::Measurement> measurements;
  model::Entity state;  // the attributes as entity state (id and type set)
};

// Decodes topic and payload. `topic_rest` is the topic after "<prefix>/".
// InvalidArgument with a message naming the problem.
Result<Decoded> decode_json_measurements(std::string_view topic_rest, std::string_view payload, int64_t now_ms,
                                         std::string_view idempotency_key);

class JsonIngestSink final : public mqtt::IngestSink {
 public:
  // `prefix` without a trailing slash, e.g. "urbis/ingest". The stores and the
  // clock must outlive the sink. `exec` runs follow-up state writes (never on
  // the store's writer thread, which must not wait on its own queue).
  // `bus` (may be null) gets one kMeasurements event per stored message, after
  // the history commit; the entity store publishes the state changes itself.
  JsonIngestSink(std::string prefix, tsdb::TimeSeriesStore& history, model::EntityStore& state, const Clock& clock,
                 boost::asio::any_io_executor exec, model::ChangeBus* bus = nullptr);

  bool wants(std::string_view topic) const override;
  void ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) override;

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  // Entity state writes are coalesced per entity: while one upsert of an
  // entity is being committed, later readings of it are merged into one
  // pending patch, written as one upsert when the first commits. A sensor
  // sending hundreds of readings a second costs one state write per commit
  // cycle, not one per reading; each reading is still acknowledged only
  // after the write that contains it committed.
  struct PendingState {
    bool in_flight = false;
    std::optional<model::Entity> patch;  // merged readings waiting for the next write
    std::vector<Done> waiters;           // their completions
  };
  void write_state(const std::string& key, std::string tenant, model::Entity patch, std::vector<Done> waiters);
  void queue_state(std::string tenant, model::Entity patch, Done done);

  std::string prefix_;  // with trailing '/'
  boost::asio::any_io_executor exec_;
  std::mutex state_mu_;
  std::unordered_map<std::string, PendingState> pending_state_;  // guarded by state_mu_; key tenant + '\n' + id
  tsdb::TimeSeriesStore& history_;
  model::EntityStore& state_;
  const Clock& clock_;
  model::ChangeBus* bus_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace urbis::ingest
