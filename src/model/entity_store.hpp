// EntityStore: the current state of every NGSI-LD entity, per tenant.
//
// Writes are asynchronous and durable. Each write call validates nothing
// about the document itself (parse with entity_json.hpp first) but checks
// existence (create of an existing id fails AlreadyExists; the others fail
// NotFound when the entity is missing), computes the new state with the pure
// functions of entity.hpp against the latest state (including writes queued
// before it: writes to one store apply in call order), commits it, and only
// then:
//   1. makes it visible to reads,
//   2. calls `done` with the outcome (an API answers 2xx from here, never
//      earlier: this is the durability promise),
//   3. publishes exactly ONE ChangeEvent on the ChangeBus (kEntityCreated,
//      kEntityUpdated with the attribute names written, or kEntityDeleted;
//      entity_json is the stored form: normalized JSON with createdAt and
//      modifiedAt at every level).
// A write that changes nothing (append with noOverwrite where every instance
// exists) completes successfully without an event.
// A failed write (I/O error, disk full) changes nothing, calls `done` with the
// reason, and publishes nothing; later writes are attempted again (the store
// degrades, it does not stop). `done` runs on the store's writer thread: it
// must be quick and must not wait for another write of the same store.
//
// Reads are synchronous, served from memory, and may run on any thread
// concurrently with writes; a read sees each committed write whole or not at
// all.
//
// Tenants: every id lives inside a tenant; "" is the default tenant. A
// tenant exists once an entity was created in it.
//
// Implementations: storage/sqlite/entity_store_sqlite.hpp (embedded default,
// also in a memory-only mode for tests). The interface test suite
// tests/unit/storage/entity_store_interface_test.cpp runs against each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "model/entity.hpp"
#include "model/geometry.hpp"

namespace urbis::model {

// What a committed write produced.
struct WriteOutcome {
  // The entity as committed (with system attributes); null after delete_entity.
  std::shared_ptr<const Entity> entity;
  // Attributes that were not (fully) written: noOverwrite kept an existing
  // instance, or update-only found no instance to update. Answer 207 when
  // non-empty.
  std::vector<std::string> not_updated;
};

using WriteDone = std::function<void(Result<WriteOutcome>)>;

enum class GeoRelation : uint8_t { kNear, kWithin, kContains, kIntersects, kEquals, kDisjoint, kOverlaps };

struct GeoQuery {
  GeoRelation relation = GeoRelation::kNear;
  // The reference geometry. kNear requires a Point.
  geo::Geometry geometry;
  // kNear: at least one of these, in metres; distance to the entity's nearest point.
  std::optional<double> max_distance_m;
  std::optional<double> min_distance_m;
  // The GeoProperty to test. An entity with several instances of it matches
  // when any instance does; entities without it never match.
  std::string property = "location";
};

// Entities matching ALL the given criteria (each list matches ANY of its elements).
struct EntityQuery {
  std::vector<std::string> types;       // entity has one of these types; empty = any
  std::vector<std::string> ids;         // entity id is one of these; empty = any
  std::string id_pattern;               // ECMAScript regex searched in the id; empty = any
  std::vector<std::string> attributes;  // entity has one of these attributes; empty = any
  std::optional<GeoQuery> geo;
  // Called (under the store's read lock: no store calls from inside) on each
  // candidate that passed the criteria above; false drops it. For the NGSI-LD
  // q-language and type expressions with ';'.
  std::function<bool(const Entity&)> filter;
  // Pagination over the matches in the stable order (see EntityStore::query).
  size_t offset = 0;
  size_t limit = std::numeric_limits<size_t>::max();  // 0 = count only
};

struct QueryResult {
  std::vector<std::shared_ptr<const Entity>> entities;  // the requested page
  size_t total = 0;                                    // all matches, ignoring offset/limit
};

struct TypeInfo {
  std::string type;
  size_t entity_count = 0;
  std::vector<std::string> attribute_names;  // sorted, union over the entities of this type
};

class EntityStore {
 public:
  virtual ~EntityStore() = default;

  // --- writes (asynchronous; see the header comment) ----------------------
  // REQUIRES for all: `done` may be empty. Thread-safe. May block the caller
  // while the write queue is full (back-pressure).

  // Stores a new entity; createdAt/modifiedAt are set now. AlreadyExists when
  // the id exists in the tenant.
  virtual void create(const std::string& tenant, Entity entity, WriteDone done) = 0;
  // PUT: replace_entity(). NotFound when missing.
  virtual void replace(const std::string& tenant, Entity entity, WriteDone done) = 0;
  // PATCH /entities/{id}: merge_entity(patch). NotFound when missing.
  virtual void merge(const std::string& tenant, Entity patch, WriteDone done) = 0;
  // POST/PATCH /entities/{id}/attrs: append_attributes(attrs, mode) on the
  // entity `entity_id` (attrs.id is ignored). NotFound when missing.
  virtual void append(const std::string& tenant, const std::string& entity_id, Entity attrs, AppendMode mode,
                      WriteDone done) = 0;
  // Batch upsert: create when missing, else replace (merge_existing = false)
  // or merge (true). The event says created or updated accordingly.
  virtual void upsert(const std::string& tenant, Entity entity, bool merge_existing, WriteDone done) = 0;
  // DELETE /entities/{id}/attrs/{name}: delete_attribute(). NotFound when the
  // entity, the attribute or the instance is missing.
  virtual void delete_attribute(const std::string& tenant, const std::string& entity_id, const std::string& name,
                                const std::string& dataset_id, bool all_instances, WriteDone done) = 0;
  // DELETE /entities/{id}. NotFound when missing.
  virtual void delete_entity(const std::string& tenant, const std::string& entity_id, WriteDone done) = 0;

  // Blocks until every write issued before the call has completed; returns the
  // first storage failure (I/O error, disk full) since the previous flush, else
  // ok. Refusals such as NotFound or AlreadyExists go to `done` only.
  [[nodiscard]] virtual Status flush() = 0;
  // Ok, or the reason writes are currently failing (I/O error, disk full).
  virtual Status health() const = 0;

  // --- reads (synchronous, from memory, thread-safe) -----------------------

  // The entity, or null when it does not exist.
  virtual std::shared_ptr<const Entity> get(const std::string& tenant, const std::string& entity_id) const = 0;

  // Matches ordered by entity id (byte order), which is stable across updates
  // and restarts: paging with offset/limit neither repeats nor skips an entity
  // unless entities are created or deleted between the pages.
  // InvalidArgument for a bad id_pattern or a kNear query without a Point or
  // distance.
  virtual Result<QueryResult> query(const std::string& tenant, const EntityQuery& q) const = 0;

  // Entity types with counts and attribute names, sorted by type.
  virtual std::vector<TypeInfo> types(const std::string& tenant) const = 0;
  // Attribute names in use with the number of entities having each, sorted by name.
  virtual std::vector<std::pair<std::string, size_t>> attributes(const std::string& tenant) const = 0;
  // Tenants holding at least one entity, sorted; "" for the default tenant.
  virtual std::vector<std::string> tenants() const = 0;
  // Number of entities in the tenant.
  virtual size_t size(const std::string& tenant) const = 0;
};

}  // namespace urbis::model
