// The one JSON serialisation point of Urbis.
//
// Boost.JSON 1.81 prints doubles in exponent form (21.5 -> "2.15E1"), which is
// valid JSON but surprises every human and some clients. Everything Urbis sends
// or stores as JSON text goes through to_json() instead, which prints doubles
// as the shortest text that reads back to the same double (std::to_chars), in
// plain notation when that is shortest ("21.5", "0.001", "1e+21").
//
// Non-finite doubles (which JSON cannot represent; Boost.JSON never parses them
// but code may build them) print as null. Strings are escaped as RFC 8259
// requires (", \, control characters); other bytes, UTF-8 included, pass
// through unchanged. Object members keep their insertion order.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace urbis::model {

// `v` as compact JSON text (no spaces).
std::string to_json(const boost::json::value& v);

// Appends `v` as compact JSON text to `out`.
void append_json(std::string& out, const boost::json::value& v);

// Appends `s` as a JSON string literal (with the quotes) to `out`.
void append_json_string(std::string& out, std::string_view s);

// Appends a double as to_json() prints it.
void append_json_double(std::string& out, double d);

}  // namespace urbis::model
