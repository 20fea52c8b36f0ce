// Private to src/devices/profiles: rules shared by the parser (profile.cpp),
// the mapping (mapping.cpp) and the shipped profiles (profile_set.cpp).
#pragma once

#include <boost/json/value.hpp>

#include <span>
#include <string>
#include <string_view>

namespace urbis::devices::profile_detail {

// Why `name` cannot be an NGSI-LD attribute name or entity type, or "" when it
// can: not empty, at most 256 bytes, none of < > " ' = ; ( ), no whitespace or
// control character (NGSI-LD forbids these characters in names), not a JSON-LD
// keyword ("@...") and not a member the entity itself uses (id, type, scope,
// createdAt, modifiedAt, deletedAt).
std::string name_problem(std::string_view name, bool attribute);

// The key a reading's value is looked up by in a `values` table: a string's
// bare text ("on"), any other value's JSON text ("true", "1", "0.5"). Numbers
// are canonical: an integral double prints as an integer (1.0 -> "1"), so a
// device sending 1.0 finds the entry written "1".
std::string value_key(const boost::json::value& v);

// The entity id template with {device} and {tenant} replaced.
std::string expand_entity_id(std::string_view tmpl, std::string_view device_id, std::string_view tenant_wire);

// The text of the profiles shipped in profiles/*.toml, sorted by file name.
// Defined in the .cpp that cmake/embed_profiles.cmake generates at build time.
struct BuiltinProfileFile {
  std::string_view file;  // "air-quality.toml"
  std::string_view text;
};
std::span<const BuiltinProfileFile> builtin_profile_files();

}  // namespace urbis::devices::profile_detail
