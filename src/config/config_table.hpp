// Private to src/config/: the key table that maps TOML keys onto Options.
//
// Each row names a dotted key and a Target: a captureless accessor that
// returns a reference to the Options field (its type says how the TOML value
// is read) or a marker for keys handled by hand ([[mqtt.users]], [[mqtt.acl]]
// and their fields). Adding a setting = one field in options.hpp, one row in
// config_table.cpp, one documented entry in urbis.toml.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/options.hpp"

namespace urbis::config_detail {

struct ListenRef {
  std::string& host;
  uint16_t& port;
};

using BoolField = bool& (*)(Options&);
using U8Field = uint8_t& (*)(Options&);
using U16Field = uint16_t& (*)(Options&);
using U32Field = uint32_t& (*)(Options&);
using U64Field = uint64_t& (*)(Options&);
using StringField = std::string& (*)(Options&);
using ListenField = ListenRef (*)(Options&);
struct TableArray {};  // [[mqtt.users]], [[mqtt.acl]], ...: parsed by hand
// A field inside one of those tables: a string unless `kind` says otherwise.
struct ElementField {
  enum class Kind { kString, kInteger, kStringArray };
  Kind kind = Kind::kString;
  std::string_view default_text = {};  // as TOML, for the docs; empty: none
};

using Target = std::variant<BoolField, U8Field, U16Field, U32Field, U64Field, StringField,
                            ListenField, TableArray, ElementField>;

struct KeySpec {
  std::string_view key;
  Target target;
  int64_t min = 0;               // integers: inclusive range
  int64_t max = 0;
  std::string_view choices = {};  // strings: allowed values separated by '|'; empty: any
  bool non_empty = false;         // strings: "" is refused
  std::string_view doc;
};

// The table, in the order keys are documented and rendered (grouped by section).
std::span<const KeySpec> key_table();

// The row for `key`, or nullptr.
const KeySpec* find_key(std::string_view key);

// True when some key lives below `prefix` ("mqtt", "mqtt.tcp", ...).
bool is_section(std::string_view prefix);

}  // namespace urbis::config_detail
