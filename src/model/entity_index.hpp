// EntityIndex: entities of every tenant held in memory with the indexes that
// answer EntityStore reads, for any backend to reuse.
//
// Indexes per tenant: by id (ordered: the pagination order), by type, by
// attribute name, and per GeoProperty name an R-tree of the bounding boxes of
// its geometries (boost::geometry::index, R*-tree). A geo query takes the
// candidates whose box meets the query's box (for near: the box around the
// reference point holding every point within maxDistance), then checks the
// exact predicate; disjoint and near without maxDistance check every entity
// having the GeoProperty.
//
// Thread-safety: all methods are thread-safe. Readers share a
// std::shared_mutex; put()/erase() take it exclusively only to swap index
// entries (geometry parsing happens before), so a reader sees an entity before
// or after an update, never half of it. Entities are immutable once put
// (shared_ptr<const Entity>): a reader may keep one after the lock is gone.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "model/entity.hpp"
#include "model/entity_store.hpp"

namespace urbis::model {

class EntityIndex {
 public:
  EntityIndex();
  ~EntityIndex();
  EntityIndex(const EntityIndex&) = delete;
  EntityIndex& operator=(const EntityIndex&) = delete;

  // Inserts or replaces the entity `e->id` of `tenant`. GeoProperty values
  // that are not valid GeoJSON are kept in the entity but not geo-indexed.
  void put(const std::string& tenant, std::shared_ptr<const Entity> e);
  // Removes the entity; no-op when absent.
  void erase(const std::string& tenant, const std::string& id);

  std::shared_ptr<const Entity> get(const std::string& tenant, const std::string& id) const;
  // See EntityStore::query for the contract.
  Result<QueryResult> query(const std::string& tenant, const EntityQuery& q) const;
  std::vector<TypeInfo> types(const std::string& tenant) const;
  std::vector<std::pair<std::string, size_t>> attributes(const std::string& tenant) const;
  std::vector<std::string> tenants() const;
  size_t size(const std::string& tenant) const;

 private:
  struct Tenant;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace urbis::model
