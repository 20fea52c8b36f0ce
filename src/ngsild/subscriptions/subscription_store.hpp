// SubscriptionStore: where NGSI-LD subscriptions are kept across restarts.
//
// A subscription is one opaque document (subscription_to_stored()) per
// (tenant, id). Writes are asynchronous and durable: `done` is called after
// the write is committed (or failed), so the API answers 201/204 only after
// it; writes of one store apply in call order. The SubscriptionManager is the
// only writer; it also rewrites documents to save their status counters.
//
// Implementations: MemorySubscriptionStore (below, tests) and
// storage/sqlite/subscription_store_sqlite.hpp (subscriptions.db in the data
// directory). ngsild/ sees only this interface; app/ picks the backend.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace urbis::ngsild {

struct StoredSubscription {
  std::string tenant;  // "" = the default tenant
  std::string id;
  std::string document;
};

class SubscriptionStore {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~SubscriptionStore() = default;

  // Inserts or replaces the document of (tenant, id). `done` may be empty; it
  // runs on the store's thread and must be quick.
  virtual void put(const std::string& tenant, const std::string& id, std::string document, Done done) = 0;
  // Removes (tenant, id); removing a missing one succeeds.
  virtual void erase(const std::string& tenant, const std::string& id, Done done) = 0;
  // Every committed subscription, ordered by tenant then id.
  virtual Result<std::vector<StoredSubscription>> load() = 0;
  // Blocks until every earlier write completed; the first failure since the last flush.
  [[nodiscard]] virtual Status flush() = 0;
};

// Keeps documents in memory; `done` is called before put/erase return.
class MemorySubscriptionStore final : public SubscriptionStore {
 public:
  void put(const std::string& tenant, const std::string& id, std::string document, Done done) override {
    {
      std::lock_guard lock(mu_);
      docs_[{tenant, id}] = std::move(document);
    }
    if (done) done(Status::Ok());
  }
  void erase(const std::string& tenant, const std::string& id, Done done) override {
    {
      std::lock_guard lock(mu_);
      docs_.erase({tenant, id});
    }
    if (done) done(Status::Ok());
  }
  Result<std::vector<StoredSubscription>> load() override {
    std::lock_guard lock(mu_);
    std::vector<StoredSubscription> out;
    for (const auto& [k, doc] : docs_) out.push_back({k.first, k.second, doc});
    return out;
  }
  Status flush() override { return Status::Ok(); }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::string> docs_;  // guarded by mu_
};

}  // namespace urbis::ngsild
