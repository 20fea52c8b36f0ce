// Reading TOML text from files (urbis.toml, device profiles) through toml++
// safely: parse_toml() guards, parses and words errors one way for every caller.
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "common/status.hpp"

namespace urbis::config {

// toml++ 3.3 (Debian 12) reaches __builtin_unreachable() when it asks whether
// a non-ASCII character is whitespace (marzer/tomlplusplus issues 190 and 295,
// fixed after 3.3): undefined behaviour that the fuzzer finds in seconds and a
// Release build may turn into a wild jump. It asks only where whitespace may
// stand: outside strings and comments, and after a line-ending backslash in a
// multi-line basic string. Valid TOML has no non-ASCII character outside
// strings and comments (bare keys are ASCII), so refusing those first costs a
// valid profile nothing; the one valid form refused is a non-ASCII character
// that starts the line after a line-ending backslash.
//
// Returns InvalidArgument "<source>:<line>: non-ASCII character ..." for such
// text, Ok otherwise. Run it before toml::parse on anything read from a file.
Status check_toml_non_ascii(std::string_view text, std::string_view source);

// check_toml_non_ascii(), then toml::parse. Errors are InvalidArgument
// "<source>:<line>:<column>: <toml++'s description>" (or "<source>:<line>: ..."
// from the guard), whether toml++ was built with exceptions or not.
Result<toml::table> parse_toml(std::string_view text, std::string_view source);

}  // namespace urbis::config
