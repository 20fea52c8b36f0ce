// Device profiles: how a kind of device's decoded readings become an NGSI-LD
// entity in the FIWARE Smart Data Models vocabulary.
//
// A profile is a TOML file. The profiles Urbis ships (profiles/*.toml in the
// source tree) are compiled into the binary; a site adds its own, or replaces
// a shipped one by using its name, as files in [devices] profiles_dir, read at
// start and on SIGHUP, no rebuild needed. Example:
//
//   name = "air-quality"
//   description = "Air-quality station: gases, particles, weather"
//   decoder = "json"                     # format when the topic names none
//   entity_type = "AirQualityObserved"
//   entity_id = "urn:ngsi-ld:AirQualityObserved:{device}"   # the default
//   keep_unmapped = false                # readings no [[attribute]] names are dropped
//
//   [[attribute]]
//   reading = "no2"                      # decoded reading name (exact)
//   name = "no2"                         # NGSI-LD attribute
//   unit = "GQ"                          # UN/CEFACT common code (µg/m³)
//
//   [[attribute]]
//   reading = "temperature_1"            # Cayenne LPP names are <type>_<channel>
//   name = "temperature"
//   unit = "CEL"
//   scale = 1.0                          # number = number * scale + offset
//   offset = 0.0
//
//   [[attribute]]
//   reading = "occupied"
//   name = "status"
//   values = { "true" = "occupied", "false" = "free" }   # by the reading's JSON text
//
// Fields:
//   name          required; [A-Za-z0-9._-], 1..64 bytes; what Device::profile names.
//   decoder       required; a devices::format_from_name() name. For an envelope
//                 ("chirpstack", "tts") set `inner` to decode the frame payload,
//                 or leave it out to take the network server's decoded object.
//   inner         optional; non-envelope format for the LoRaWAN frame payload.
//   entity_type   required; an NGSI-LD type name (short name, core context).
//   entity_id     optional template; {device} is the device id, {tenant} the
//                 tenant's wire name. Default urn:ngsi-ld:<entity_type>:{device}.
//   keep_unmapped optional bool, default false: readings without a mapping are
//                 kept under their own name (unit as decoded) instead of dropped.
//   [[attribute]] reading (required), name (required, NGSI-LD attribute name
//                 rules), unit (optional), scale/offset (optional, numbers only;
//                 a non-number reading with scale/offset is an error at mapping
//                 time), values (optional table: reading JSON text -> value; a
//                 reading not in the table is a mapping error naming it).
//                 Several [[attribute]] may read the same reading; two may not
//                 write the same name.
// Unknown keys are refused, so a typo never passes silently.
//
// Thread-safety: Profile is a plain value; the functions are pure. ProfileSet
// is safe for concurrent find() while reload() runs (readers keep the set they
// got).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <mutex>

#include "common/status.hpp"
#include "devices/decoders/decoder.hpp"
#include "devices/registry/device.hpp"

namespace urbis::devices {

struct AttributeMapping {
  std::string reading;    // decoded reading name, exact match
  std::string name;       // NGSI-LD attribute name
  std::string unit_code;  // may be empty: then the decoded unit, if any, is kept as is
  double scale = 1.0;
  double offset = 0.0;
  bool numeric = false;   // scale or offset given
  // Value table keyed by the reading's serialized JSON ("true", "1", "\"on\"" or,
  // for convenience, a string reading's bare text "on"). Empty = no table.
  std::map<std::string, boost::json::value, std::less<>> values;
};

struct Profile {
  std::string name;
  std::string description;
  Format decoder = Format::kJson;
  std::optional<Format> inner;  // envelopes only
  std::string entity_type;
  std::string entity_id;        // template, default "urn:ngsi-ld:<entity_type>:{device}"
  bool keep_unmapped = false;
  std::vector<AttributeMapping> attributes;
  std::string source;           // "builtin" or the file path, for messages and the API
};

// Parses one profile from TOML text. `source` names it in error messages
// ("profiles/air.toml: attribute[2].name: ..."). InvalidArgument on any problem.
Result<Profile> parse_profile(std::string_view toml_text, std::string_view source);

// The profile as JSON for GET /api/v1/profiles (every field, `values` as an object).
boost::json::object profile_to_json(const Profile& p);

// One NGSI-LD attribute value produced from a reading.
struct MappedAttribute {
  std::string name;
  boost::json::value value;
  std::string unit_code;           // empty = none
  std::optional<int64_t> time_ms;  // the reading's own time, if it had one
};

struct Mapped {
  std::string entity_type;
  std::string entity_id;
  std::vector<MappedAttribute> attributes;  // in profile order, then unmapped kept ones by name
  size_t dropped = 0;                       // readings neither mapped nor kept
};

// Applies `p` to what the decoder produced for `device`. InvalidArgument when
// a reading cannot be mapped (a number scaled from a string, a value missing
// from a table): the message names the reading and the attribute. A payload
// whose readings are all dropped maps to no attributes (not an error: the
// caller decides).
Result<Mapped> map_readings(const Profile& p, const Device& device, const std::vector<Reading>& readings);

// The NGSI-LD unitCode (UN/CEFACT common code) for a unit as a decoder
// reports it (SenML: "Cel" -> "CEL", "%RH" -> "P1", "ug/m3" -> "GQ"); a unit
// it does not know is returned unchanged. Used for readings whose profile
// mapping names no unit, and for kept and unprofiled readings.
std::string unit_code_of(std::string_view unit);

// Without a profile: the entity the device's readings go to when it has none.
// Type "Device", id urn:ngsi-ld:Device:<id>, every reading kept under its own name.
Mapped map_unprofiled(const Device& device, const std::vector<Reading>& readings);

// The shipped profiles plus those of a directory.
class ProfileSet {
 public:
  // The profiles compiled into the binary (profiles/*.toml). Never fails: they are tested.
  static std::vector<Profile> builtin();

  // Loads the built-in profiles, then every *.toml of `dir` (if not empty),
  // which replace built-in ones of the same name. A file that does not parse
  // fails the whole load (the caller keeps the previous set on SIGHUP); the
  // message names the file. A missing directory is an error; an empty one is not.
  [[nodiscard]] Status load(const std::string& dir);

  // The profile named `name`, or null. The pointer stays valid while the caller holds it.
  std::shared_ptr<const Profile> find(std::string_view name) const;
  // Every profile, by name.
  std::vector<std::shared_ptr<const Profile>> all() const;

 private:
  using Map = std::map<std::string, std::shared_ptr<const Profile>, std::less<>>;
  mutable std::mutex mu_;
  std::shared_ptr<const Map> profiles_ = std::make_shared<Map>();  // guarded by mu_ (the pointer)
};

}  // namespace urbis::devices
