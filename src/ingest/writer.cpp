#include "ingest/writer.hpp"

#include <boost/asio/post.hpp>

#include <memory>
#include <mutex>

namespace urbis::ingest {

MeasurementWriter::MeasurementWriter(tsdb::TimeSeriesStore& history, model::EntityStore& state, const Clock& clock,
                                     boost::asio::any_io_executor exec, model::ChangeBus* bus)
    : history_(history), state_(state), clock_(clock), exec_(std::move(exec)), bus_(bus) {}

void MeasurementWriter::commit(Decoded d, Done done) {
  // Current state: a reading older than what the entity shows goes to
  // history only. An attribute without a time that the entity already holds
  // unchanged (a device's location, refDevice) is not written again: it
  // would cost the state write without changing anything.
  if (auto current = state_.get(d.tenant, d.entity_id)) {
    for (auto it = d.state.attributes.begin(); it != d.state.attributes.end();) {
      const auto* have = current->find(it->first);
      const model::AttributeInstance& next = it->second.front();
      const bool older = have && have->observed_at_ms && next.observed_at_ms &&
                         *have->observed_at_ms > *next.observed_at_ms;
      const bool unchanged = have && it->second.size() == 1 && !next.observed_at_ms && !have->observed_at_ms &&
                             have->kind == next.kind && have->unit_code == next.unit_code &&
                             have->dataset_id == next.dataset_id && have->value == next.value &&
                             have->sub_attributes == next.sub_attributes;
      if (older || unchanged) {
        it = d.state.attributes.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Two commits, one answer: the first failure wins, success needs both.
  struct Join {
    std::mutex mu;
    int left = 2;
    Status first_error;
    Done done;
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  auto finish = [join](const Status& st) {
    Done call;
    Status result;
    {
      std::lock_guard lock(join->mu);
      if (!st.ok() && join->first_error.ok()) join->first_error = st;
      if (--join->left > 0) return;
      call = std::move(join->done);
      result = join->first_error;
    }
    if (call) call(result);
  };
  if (bus_) {
    auto event = std::make_shared<model::ChangeEvent>();
    event->kind = model::ChangeEvent::Kind::kMeasurements;
    event->tenant = d.tenant;
    event->entity_id = d.entity_id;
    event->entity_type = d.entity_type;
    for (const auto& m : d.measurements) event->attributes.push_back(m.key.attribute);
    history_.append(std::move(d.measurements), [this, finish, event](const Status& st) {
      if (st.ok()) {
        event->at_unix_ms = clock_.unix_ms();
        bus_->publish(*event);
      }
      finish(st);
    });
  } else {
    history_.append(std::move(d.measurements), finish);
  }
  if (d.state.attributes.empty()) {
    finish(Status::Ok());
  } else {
    queue_state(std::move(d.tenant), std::move(d.state), finish);
  }
}

void MeasurementWriter::queue_state(std::string tenant, model::Entity patch, Done done) {
  std::string key = tenant + '\n' + patch.id;
  {
    std::lock_guard lock(state_mu_);
    auto& p = pending_state_[key];
    if (p.in_flight) {
      // Merge into what waits for the next write; the newest reading of an
      // attribute wins.
      if (!p.patch) {
        p.patch = std::move(patch);
      } else {
        for (auto& [name, instances] : patch.attributes) {
          auto& have = p.patch->attributes[name];
          if (have.empty() || !have.front().observed_at_ms || !instances.front().observed_at_ms ||
              *instances.front().observed_at_ms >= *have.front().observed_at_ms) {
            have = std::move(instances);
          }
        }
      }
      p.waiters.push_back(std::move(done));
      return;
    }
    p.in_flight = true;
  }
  std::vector<Done> waiters;
  waiters.push_back(std::move(done));
  write_state(key, std::move(tenant), std::move(patch), std::move(waiters));
}

void MeasurementWriter::write_state(const std::string& key, std::string tenant, model::Entity patch,
                                 std::vector<Done> waiters) {
  state_.upsert(tenant, std::move(patch), /*merge_existing=*/true,
                [this, key, tenant, waiters = std::move(waiters)](Result<model::WriteOutcome> r) mutable {
                  Status st = r.status();
                  std::optional<model::Entity> next;
                  std::vector<Done> next_waiters;
                  {
                    std::lock_guard lock(state_mu_);
                    auto it = pending_state_.find(key);
                    if (it->second.patch) {
                      next = std::move(it->second.patch);
                      it->second.patch.reset();
                      next_waiters.swap(it->second.waiters);
                    } else {
                      pending_state_.erase(it);
                    }
                  }
                  for (auto& w : waiters) w(st);
                  // This runs on the store's writer thread, where a write
                  // could block on its own full queue: issue the next one
                  // from an I/O thread.
                  if (next) {
                    boost::asio::post(exec_, [this, key, tenant = std::move(tenant), patch = std::move(*next),
                                              w = std::move(next_waiters)]() mutable {
                      write_state(key, std::move(tenant), std::move(patch), std::move(w));
                    });
                  }
                });
}

}  // namespace urbis::ingest
