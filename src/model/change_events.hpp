// Change events: what happened to stored state, told once, after the commit.
//
// The stores publish here and nowhere else; the MQTT broker, the NGSI-LD
// notifier, rules, the dashboard and the edge outbox subscribe. A subscriber
// is called on the publishing (writer) thread and must return quickly: it
// copies what it needs and posts work to its own executor or queue. An event
// is published only after the change is durable, so a consumer never sees a
// change that a crash could take back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace urbis::model {

struct ChangeEvent {
  enum class Kind : uint8_t {
    kEntityCreated,
    kEntityUpdated,   // attributes added, replaced or removed
    kEntityDeleted,
    kMeasurements,    // new history points (time series)
    kDeviceAlert,     // a device did something suspicious (LoRaWAN frame counter replay or
                      // reset); attributes name what, detail says more. Nothing is stored.
  };
  Kind kind = Kind::kEntityUpdated;
  std::string tenant;
  std::string entity_id;
  std::string entity_type;              // may be empty for kMeasurements
  std::vector<std::string> attributes;  // attributes touched (empty = whole entity)
  int64_t at_unix_ms = 0;               // commit time
  // The entity after the change as NGSI-LD normalized JSON (empty for deletes
  // and measurements), so consumers need not read the store back.
  std::shared_ptr<const std::string> entity_json;
  std::string detail;  // kDeviceAlert: what was seen, for people
};

class ChangeBus {
 public:
  using Handler = std::function<void(const ChangeEvent&)>;
  using Token = uint64_t;

  // Thread-safe. The handler may be called concurrently from several writer threads.
  Token subscribe(Handler h) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<std::vector<std::pair<Token, Handler>>>(*handlers_);
    next->emplace_back(++last_, std::move(h));
    handlers_ = std::move(next);
    return last_;
  }

  void unsubscribe(Token t) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<std::vector<std::pair<Token, Handler>>>();
    for (auto& [tok, h] : *handlers_)
      if (tok != t) next->emplace_back(tok, h);
    handlers_ = std::move(next);
  }

  // Calls every handler with `e`. Thread-safe; handlers added concurrently may miss it.
  void publish(const ChangeEvent& e) const {
    std::shared_ptr<const std::vector<std::pair<Token, Handler>>> hs;
    {
      std::lock_guard lock(mu_);
      hs = handlers_;
    }
    for (auto& [tok, h] : *hs) h(e);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<std::pair<Token, Handler>>> handlers_ =
      std::make_shared<std::vector<std::pair<Token, Handler>>>();
  Token last_ = 0;
};

}  // namespace urbis::model
