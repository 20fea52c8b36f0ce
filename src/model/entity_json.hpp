// NGSI-LD normalized JSON <-> Entity.
//
// Input is an entity in normalized form:
//   {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor" | ["Sensor", "Device"],
//    "temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL",
//                    "observedAt": "2024-05-01T10:00:00Z",
//                    "accuracy": {"type": "Property", "value": 0.2}},
//    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.35, 48.85]}},
//    "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:7"},
//    "name": {"type": "LanguageProperty", "languageMap": {"en": "Bridge", "fr": "Pont"}},
//    "speed": [{"type": "Property", "value": 30, "datasetId": "urn:ngsi-ld:Dataset:radar"},
//              {"type": "Property", "value": 31}]}
// "@id"/"@type" are accepted for "id"/"type", and the kinds may be given
// expanded ("https://uri.etsi.org/ngsi-ld/Property"). "@context" is skipped:
// term expansion is the NGSI-LD API's job, names are stored as given.
// createdAt/modifiedAt/deletedAt/instanceId in input are ignored (system
// attributes); "scope" is ignored (not supported yet).
//
// Errors are InvalidArgument naming the field: "attribute 'temperature':
// 'value' missing", "attribute 'speed'[1]: datasetId 'urn:x' appears twice",
// "attribute 'location': GeoJSON: coordinates[0]: latitude 95 is outside [-90, 90]".
//
// Output is normalized form (an entity without id or types, i.e. a fragment,
// is written without those members), attributes in name order, instances in stored
// order (an attribute with one instance is an object, with several an array),
// timestamps as "YYYY-MM-DDTHH:MM:SS.sssZ". Numbers are printed by
// json_format.hpp. With sys_attrs, createdAt/modifiedAt are included at every
// level; the stored form (EntityStore backends) always includes them so that a
// round trip through storage loses nothing.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "model/entity.hpp"

namespace urbis::model {

struct EntityParseOptions {
  // Require "id" and "type" (a full entity). Off for attribute fragments
  // (POST/PATCH /entities/{id}/attrs), where "id"/"type" are optional.
  bool require_id_and_type = true;
  // Read createdAt/modifiedAt from the input instead of ignoring them; for
  // loading the stored form only.
  bool read_sys_attrs = false;
};

// Parses an entity (or an attribute fragment, see options) from JSON.
Result<Entity> entity_from_json(const boost::json::value& v, const EntityParseOptions& options = {});
// Parses the text first; a syntax error names the offset.
Result<Entity> entity_from_text(std::string_view text, const EntityParseOptions& options = {});

// Parses one attribute's value (an object, or an array of objects for several
// instances) named `name` (for messages).
Result<std::vector<AttributeInstance>> attribute_from_json(std::string_view name, const boost::json::value& v,
                                                           bool read_sys_attrs = false);

struct EntitySerializeOptions {
  bool sys_attrs = false;  // include createdAt/modifiedAt
};

boost::json::object entity_to_json(const Entity& e, const EntitySerializeOptions& options = {});
// The JSON text; the same as to_json(entity_to_json(e, options)), written directly.
std::string entity_to_text(const Entity& e, const EntitySerializeOptions& options = {});

// One attribute (all its instances) in normalized form.
boost::json::value attribute_to_json(const std::vector<AttributeInstance>& instances,
                                     const EntitySerializeOptions& options = {});

// ISO 8601 date-time: "2024-05-01T10:00:00Z", with optional fraction of a
// second (kept to the millisecond) and a 'Z' or ±HH:MM offset. nullopt when invalid.
std::optional<int64_t> parse_datetime_ms(std::string_view s);
// "2024-05-01T10:00:00.000Z".
std::string format_datetime_ms(int64_t unix_ms);

// True when `s` has the shape of an absolute URI: scheme ":" rest, no spaces
// or control characters.
bool looks_like_uri(std::string_view s);

}  // namespace urbis::model
