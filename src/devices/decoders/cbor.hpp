// The subset of CBOR (RFC 8949) that SenML CBOR (RFC 8428 section 6) uses,
// read into Boost.JSON values so the SenML rules are written once.
//
// Mapping: unsigned and negative integers -> int64/uint64 (a negative integer
// below INT64_MIN -> double); half, single and double floats -> double (NaN and
// infinities included: the caller decides); text strings -> strings (UTF-8 is
// not validated); byte strings -> base64url text without padding; arrays ->
// arrays; maps -> objects, integer keys named by the caller's `key_name`, text
// keys as they are, a repeated key is an error; false/true/null; undefined ->
// null; tags are skipped (their content is kept). Definite and indefinite
// lengths are both read. Other simple values and other key types are errors.
//
// Limits: nesting depth (tags count), and nothing is allocated from a declared
// length before the bytes are there, so a forged length cannot exhaust memory.
// Work is linear in the input size.
//
// Thread-safety: pure function.
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace urbis::devices {

struct CborOptions {
  // Names for integer map keys (SenML labels); nullptr = the decimal text of the key.
  std::string (*key_name)(int64_t key) = nullptr;
  // Deepest nesting of arrays, maps and tags accepted.
  size_t max_depth = 16;
};

// Exactly one data item that fills `bytes`. InvalidArgument "cbor: <what> at byte <offset>".
Result<boost::json::value> cbor_to_json(std::string_view bytes, const CborOptions& options = {});

}  // namespace urbis::devices
