// MeasurementWriter: the commit half of every ingest path. Whatever decoded a
// message (the JSON topic sink, device payload decoders, HTTP ingest) hands
// the result here: history points and the entity's current state, answered
// once both are committed.
//
// Design note
// -----------
// History and state are two stores with their own writer threads, so one
// message costs two commits that run in parallel; the completion runs after
// both, with the first failure. A reading older than what the entity shows
// goes to history only (late data never rolls the current state back).
//
// Entity state writes are coalesced per entity: while one upsert of an entity
// is being committed, later readings of it are merged into one pending patch,
// written as one upsert when the first commits. A sensor sending hundreds of
// readings a second costs one state write per commit cycle, not one per
// reading; each reading is still acknowledged only after the write that
// contains it committed.
//
// Thread-safety: commit() may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/status.hpp"
#include "model/change_events.hpp"
#include "model/entity_store.hpp"
#include "tsdb/time_series_store.hpp"

namespace urbis::ingest {

// What one message decodes to, whichever path decoded it.
struct Decoded {
  std::string tenant;  // "" = the default tenant
  std::string entity_id;
  std::string entity_type;
  std::vector<tsdb::Measurement> measurements;  // history points
  model::Entity state;  // attributes for the current state (id and type set); may hold
                        // attributes that have no history point (a device's location)
};

class MeasurementWriter {
 public:
  using Done = std::function<void(const Status&)>;

  // The stores and the clock must outlive the writer. `exec` runs follow-up
  // state writes (never on the store's writer thread, which must not wait on
  // its own queue). `bus` (may be null) gets one kMeasurements event per
  // committed message after the history commit; the entity store publishes
  // the state changes itself.
  MeasurementWriter(tsdb::TimeSeriesStore& history, model::EntityStore& state, const Clock& clock,
                    boost::asio::any_io_executor exec, model::ChangeBus* bus = nullptr);

  // Commits `d`; `done` runs exactly once, on any thread, after both commits.
  void commit(Decoded d, Done done);

 private:
  struct PendingState {
    bool in_flight = false;
    std::optional<model::Entity> patch;  // merged readings waiting for the next write
    std::vector<Done> waiters;           // their completions
  };
  void write_state(const std::string& key, std::string tenant, model::Entity patch, std::vector<Done> waiters);
  void queue_state(std::string tenant, model::Entity patch, Done done);

  tsdb::TimeSeriesStore& history_;
  model::EntityStore& state_;
  const Clock& clock_;
  boost::asio::any_io_executor exec_;
  model::ChangeBus* bus_;
  std::mutex state_mu_;
  std::unordered_map<std::string, PendingState> pending_state_;  // guarded by state_mu_; key tenant + '\n' + id
};

}  // namespace urbis::ingest
