// The parsed form of an NGSI-LD q expression. Private to src/ngsild/query/.
//
// A tree of AND / OR nodes (each with two or more children, never a child of
// its own kind: parsing flattens "a;(b;c)" into one AND of three) over query
// terms. Nodes are immutable once built and shared between copies of a
// QExpression; rename_attributes() builds a new tree.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "model/entity.hpp"

namespace urbis::ngsild::qast {

enum class Op : uint8_t {
  kExists,     // a
  kNotExists,  // !a (an extension of the spec grammar that several brokers accept)
  kEq,         // ==
  kNe,         // !=
  kGt,         // >
  kGe,         // >=
  kLt,         // <
  kLe,         // <=
  kMatch,      // ~=
  kNotMatch,   // !~=
};

// A trailing system member of the attribute path: "temperature.observedAt".
// Without attributes (path "createdAt" alone) it addresses the entity's own timestamp.
enum class Meta : uint8_t { kNone, kObservedAt, kCreatedAt, kModifiedAt, kUnitCode, kDatasetId };

struct Path {
  // The attribute, then sub-attributes ("temperature.accuracy"). Empty only
  // for the entity's createdAt/modifiedAt.
  std::vector<std::string> attrs;
  Meta meta = Meta::kNone;
  // The trailing [ ] path into the value ("address[city]", "a[b.c]",
  // "a[b][c]"), or for a LanguageProperty the language tag or "*". Empty when
  // the path has no brackets.
  std::vector<std::string> members;
};

struct Value {
  enum class Kind : uint8_t { kNumber, kString, kBool };
  Kind kind = Kind::kNumber;
  double number = 0;
  bool boolean = false;
  std::string text;
  // For strings that are ISO 8601 date-times: the instant, so that
  // comparisons with date-time values (and observedAt) are temporal.
  std::optional<int64_t> time_ms;
};

struct Term {
  Path path;
  Op op = Op::kExists;
  // kEq/kNe: one value, a list (any of), or with `range` exactly two (min, max).
  // Ordering operators: exactly one value.
  std::vector<Value> values;
  bool range = false;
  // kMatch/kNotMatch: the pattern as written (for printing) and compiled.
  std::string pattern;
  std::shared_ptr<const std::regex> regex;
};

struct Node {
  enum class Kind : uint8_t { kAnd, kOr, kTerm };
  Kind kind = Kind::kTerm;
  std::vector<std::shared_ptr<const Node>> children;  // kAnd / kOr
  Term term;                                          // kTerm
};

// "observedAt", "createdAt", ... for a system member (q_parse.cpp).
std::string_view meta_name(Meta m);

// True when the entity satisfies the node (q_match.cpp).
bool evaluate(const Node& n, const model::Entity& e);

// Longest regular expression accepted, and longest string a pattern is
// matched against (std::regex backtracks recursively: both bound its work and
// its stack depth). A longer string never satisfies ~= nor !~=.
inline constexpr size_t kMaxPatternLength = 256;
inline constexpr size_t kMaxPatternSubject = 4096;
// Deepest nesting of parentheses accepted.
inline constexpr int kMaxDepth = 32;

}  // namespace urbis::ngsild::qast
