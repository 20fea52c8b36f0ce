// The NGSI-LD entity model: what the EntityStore keeps and the API serves.
//
// An Entity has an id (a URI), one or more types, and attributes. Each
// attribute name maps to one or more *instances*, told apart by datasetId (the
// default instance has an empty datasetId; NGSI-LD calls this a
// multi-attribute). An instance is a Property (any JSON value), a Relationship
// (the URI of another entity, or a list of URIs), a GeoProperty (a GeoJSON
// geometry) or a LanguageProperty (a language map), with optional observedAt,
// unitCode, and sub-attributes (themselves attributes, recursively).
//
// Attribute names and types are stored exactly as given (short or expanded):
// @context expansion and compaction belong to the NGSI-LD API layer.
//
// The write semantics of the API (merge, append with noOverwrite, update of
// existing attributes only, delete of one instance or all) are pure functions
// here, so every EntityStore backend applies them identically and they can be
// tested without a store.
//
// Timestamps are milliseconds since the Unix epoch, UTC. createdAt/modifiedAt
// are system attributes: set by these functions, never taken from input.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace urbis::model {

enum class AttributeKind : uint8_t {
  kProperty,
  kRelationship,
  kGeoProperty,
  kLanguageProperty,
};

// "Property", "Relationship", "GeoProperty", "LanguageProperty".
std::string_view attribute_kind_name(AttributeKind k);

struct AttributeInstance {
  AttributeKind kind = AttributeKind::kProperty;
  // Property: any JSON value except null. Relationship: a URI string or an
  // array of URI strings (the "object" member). GeoProperty: a GeoJSON
  // geometry object. LanguageProperty: the "languageMap" object.
  boost::json::value value;
  std::optional<int64_t> observed_at_ms;
  std::string unit_code;   // empty = none
  std::string dataset_id;  // empty = the default instance
  // Sub-attributes by name. (std::map of an incomplete value type: supported
  // by libstdc++, which is all we build with.)
  std::map<std::string, AttributeInstance> sub_attributes;
  int64_t created_at_ms = 0;
  int64_t modified_at_ms = 0;

  bool operator==(const AttributeInstance&) const = default;
};

struct Entity {
  std::string id;                  // URI
  std::vector<std::string> types;  // at least one, no duplicates, in the order given
  // Attribute name -> its instances, at most one per datasetId, in the order
  // they were added.
  std::map<std::string, std::vector<AttributeInstance>> attributes;
  int64_t created_at_ms = 0;
  int64_t modified_at_ms = 0;

  bool operator==(const Entity&) const = default;

  // The instance of `name` with `dataset_id`, or null.
  const AttributeInstance* find(std::string_view name, std::string_view dataset_id = {}) const;
  bool has_type(std::string_view type) const;
};

// How append_attributes() treats an attribute instance that already exists.
enum class AppendMode : uint8_t {
  kOverwrite,    // replace it (POST /entities/{id}/attrs)
  kNoOverwrite,  // keep it; report the name as not updated (options=noOverwrite)
  kUpdateOnly,   // replace it; instances that do NOT exist are not added but
                 // reported as not updated (PATCH /entities/{id}/attrs)
};

// Sets createdAt = modifiedAt = now on the entity and every instance and
// sub-attribute (a new entity).
void stamp_new(Entity& e, int64_t now_ms);

// PUT semantics: `replacement` takes the place of `current` (types and all
// attributes); createdAt of the entity is kept, everything else is new.
Entity replace_entity(const Entity& current, Entity replacement, int64_t now_ms);

// PATCH (merge-patch) semantics: types of `patch` are added; each instance of
// `patch` replaces the value, kind, and (when given) observedAt and unitCode of
// the instance with the same name and datasetId, merging sub-attributes
// recursively and keeping its createdAt; instances that do not exist are
// added. Attributes absent from `patch` are kept.
void merge_entity(Entity& target, const Entity& patch, int64_t now_ms);

// Appends the attributes of `attrs` (its id and types are ignored, except that
// its types are added as with merge) according to `mode`. Replaced instances
// are replaced wholesale (sub-attributes included) but keep their createdAt.
// Returns the names of attributes with at least one instance not written.
std::vector<std::string> append_attributes(Entity& target, const Entity& attrs, AppendMode mode, int64_t now_ms);

// Deletes the instance of `name` with `dataset_id`, or every instance when
// `all` is set. NotFound naming the attribute (and datasetId) when absent.
Status delete_attribute(Entity& target, std::string_view name, std::string_view dataset_id, bool all,
                        int64_t now_ms);

}  // namespace urbis::model
