// NGSI-LD q: evaluation against an entity (GS CIM 009 4.9).
//
// The target element of a term is found in every instance of the top-level
// attribute (all datasetIds; the term holds when it holds for ANY instance),
// then through the sub-attributes of the path. Its target value is:
//   Property, GeoProperty   the value, then the [ ] members (object members,
//                           or array indexes); a member that is absent makes
//                           the target absent
//   Relationship            the object (a URI or an array of URIs); only ==
//                           and != can match, [ ] never does
//   LanguageProperty        [tag]: the string(s) of that language; no [ ] or
//                           [*]: the strings of every language
//   .observedAt etc.        the instance's timestamp (compared as time),
//                           unitCode or datasetId (strings)
// A target value that is an array (or the several strings of a language map)
// is a set of candidates:
//   ==  some candidate equals a value of the term (or lies in its range)
//   !=  the target exists and NO candidate does (4.9: "not included in the
//       target value, if the latter is an array")
//   > >= < <=  some candidate compares so
//   ~=  some string candidate matches;  !~= some candidate is a string and no
//       string candidate matches
// Values of different types never compare equal and never order: "30" ==
// 30 is false, "30" != 30 is true, "30" > 20 is false. Strings compare
// by bytes (UTF-8, so by code point, RFC 8259 8.3), except that two date-times
// compare as instants. Every operator other than "!a" requires the target to
// exist: "a!=1" does not match an entity without `a` (4.9).
#include <boost/json.hpp>

#include <regex>

#include "model/entity_json.hpp"
#include "ngsild/query/q_ast.hpp"

namespace urbis::ngsild::qast {

namespace {

namespace json = boost::json;
using model::AttributeInstance;
using model::AttributeKind;

// One comparable candidate.
struct Scalar {
  enum class Kind : uint8_t { kNumber, kString, kBool, kTime, kOther };
  Kind kind = Kind::kOther;
  double number = 0;
  bool boolean = false;
  std::string_view text;
  int64_t time_ms = 0;
};

Scalar scalar_of(const json::value& v) {
  Scalar s;
  switch (v.kind()) {
    case json::kind::int64: s.kind = Scalar::Kind::kNumber; s.number = static_cast<double>(v.get_int64()); break;
    case json::kind::uint64: s.kind = Scalar::Kind::kNumber; s.number = static_cast<double>(v.get_uint64()); break;
    case json::kind::double_: s.kind = Scalar::Kind::kNumber; s.number = v.get_double(); break;
    case json::kind::string: s.kind = Scalar::Kind::kString; s.text = v.get_string(); break;
    case json::kind::bool_: s.kind = Scalar::Kind::kBool; s.boolean = v.get_bool(); break;
    default: break;
  }
  return s;
}

int sign(auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); }

// <0, 0, >0, or nullopt when the types differ (or the value is not scalar).
std::optional<int> compare(const Scalar& t, const Value& q) {
  switch (t.kind) {
    case Scalar::Kind::kNumber:
      if (q.kind != Value::Kind::kNumber) return std::nullopt;
      if (t.number != t.number) return std::nullopt;  // NaN cannot come from JSON, but keep the order total
      return sign(t.number, q.number);
    case Scalar::Kind::kString:
      if (q.kind != Value::Kind::kString) return std::nullopt;
      if (q.time_ms) {
        if (std::optional<int64_t> ms = model::parse_datetime_ms(t.text)) return sign(*ms, *q.time_ms);
      }
      return sign(t.text.compare(q.text), 0);
    case Scalar::Kind::kBool:
      if (q.kind != Value::Kind::kBool) return std::nullopt;
      return sign(t.boolean, q.boolean);
    case Scalar::Kind::kTime:
      if (q.kind != Value::Kind::kString || !q.time_ms) return std::nullopt;
      return sign(t.time_ms, *q.time_ms);
    case Scalar::Kind::kOther: break;
  }
  return std::nullopt;
}

bool equal_term(const Scalar& t, const Term& term) {
  if (term.range) {
    const std::optional<int> lo = compare(t, term.values[0]), hi = compare(t, term.values[1]);
    return lo && hi && *lo >= 0 && *hi <= 0;
  }
  for (const Value& v : term.values) {
    const std::optional<int> c = compare(t, v);
    if (c && *c == 0) return true;
  }
  return false;
}

bool ordered(const Scalar& t, const Term& term) {
  const std::optional<int> c = compare(t, term.values.front());
  if (!c) return false;
  switch (term.op) {
    case Op::kGt: return *c > 0;
    case Op::kGe: return *c >= 0;
    case Op::kLt: return *c < 0;
    case Op::kLe: return *c <= 0;
    default: return false;
  }
}

// nullopt when the string is too long to be matched safely, or the matcher gave up.
std::optional<bool> pattern_matches(const Scalar& t, const Term& term) {
  if (t.kind != Scalar::Kind::kString || t.text.size() > kMaxPatternSubject) return std::nullopt;
  try {
    // The compiled pattern is wrapped to match the whole subject (see compile_pattern).
    return std::regex_match(t.text.begin(), t.text.end(), *term.regex);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

// The candidates of one target: calls f on each until it returns true.
class Candidates {
 public:
  // Every scalar of a JSON value (the elements of an array, else the value).
  static bool of_value(const json::value& v, const auto& f) {
    if (const json::array* a = v.if_array()) {
      for (const json::value& e : *a)
        if (f(scalar_of(e))) return true;
      return false;
    }
    return f(scalar_of(v));
  }
};

bool decide(const Term& term, bool relationship, const auto& any_candidate) {
  switch (term.op) {
    case Op::kExists: return true;
    case Op::kNotExists: return false;
    case Op::kEq: return any_candidate([&](const Scalar& s) { return equal_term(s, term); });
    case Op::kNe: return !any_candidate([&](const Scalar& s) { return equal_term(s, term); });
    case Op::kGt:
    case Op::kGe:
    case Op::kLt:
    case Op::kLe:
      return !relationship && any_candidate([&](const Scalar& s) { return ordered(s, term); });
    case Op::kMatch:
      return !relationship && any_candidate([&](const Scalar& s) { return pattern_matches(s, term) == true; });
    case Op::kNotMatch: {
      if (relationship) return false;
      bool some_string = false, some_match = false;
      any_candidate([&](const Scalar& s) {
        const std::optional<bool> m = pattern_matches(s, term);
        if (s.kind == Scalar::Kind::kString) some_string = true;
        // A string too long to test is neither a match nor a non-match: it
        // makes the whole term false rather than guess.
        if (s.kind == Scalar::Kind::kString && m != false) some_match = true;
        return some_match;
      });
      return some_string && !some_match;
    }
  }
  return false;
}

// The value at the [ ] members inside `v`, or null when absent.
const json::value* follow_members(const json::value* v, const std::vector<std::string>& members) {
  for (const std::string& m : members) {
    if (const json::object* o = v->if_object()) {
      v = o->if_contains(m);
    } else if (const json::array* a = v->if_array()) {
      size_t index = 0;
      if (m.empty() || m.size() > 9 || m.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      for (char c : m) index = index * 10 + static_cast<size_t>(c - '0');
      v = index < a->size() ? &(*a)[index] : nullptr;
    } else {
      return nullptr;
    }
    if (v == nullptr) return nullptr;
  }
  return v;
}

// Whether the term holds for one resolved instance; `exists` reports whether
// the instance had the target at all.
bool evaluate_instance(const Term& term, const AttributeInstance& inst, bool& exists) {
  const Path& p = term.path;
  exists = false;
  switch (p.meta) {
    case Meta::kObservedAt:
    case Meta::kCreatedAt:
    case Meta::kModifiedAt: {
      Scalar s;
      s.kind = Scalar::Kind::kTime;
      if (p.meta == Meta::kObservedAt) {
        if (!inst.observed_at_ms) return false;
        s.time_ms = *inst.observed_at_ms;
      } else {
        s.time_ms = p.meta == Meta::kCreatedAt ? inst.created_at_ms : inst.modified_at_ms;
      }
      exists = true;
      return decide(term, false, [&](const auto& f) { return f(s); });
    }
    case Meta::kUnitCode:
    case Meta::kDatasetId: {
      const std::string& text = p.meta == Meta::kUnitCode ? inst.unit_code : inst.dataset_id;
      if (text.empty()) return false;
      Scalar s;
      s.kind = Scalar::Kind::kString;
      s.text = text;
      exists = true;
      return decide(term, false, [&](const auto& f) { return f(s); });
    }
    case Meta::kNone: break;
  }
  switch (inst.kind) {
    case AttributeKind::kRelationship:
      if (!p.members.empty()) return false;
      exists = true;
      return decide(term, true, [&](const auto& f) { return Candidates::of_value(inst.value, f); });
    case AttributeKind::kLanguageProperty: {
      const json::object* map = inst.value.if_object();
      if (map == nullptr) return false;
      if (p.members.size() > 1) return false;
      if (!p.members.empty() && p.members.front() != "*") {
        const json::value* v = map->if_contains(p.members.front());
        if (v == nullptr) return false;
        exists = true;
        return decide(term, false, [&](const auto& f) { return Candidates::of_value(*v, f); });
      }
      exists = true;
      return decide(term, false, [&](const auto& f) {
        for (const auto& kv : *map)
          if (Candidates::of_value(kv.value(), f)) return true;
        return false;
      });
    }
    case AttributeKind::kProperty:
    case AttributeKind::kGeoProperty: {
      const json::value* v = p.members.empty() ? &inst.value : follow_members(&inst.value, p.members);
      if (v == nullptr || v->is_null()) return false;
      exists = true;
      return decide(term, false, [&](const auto& f) { return Candidates::of_value(*v, f); });
    }
  }
  return false;
}

bool evaluate_term(const Term& term, const model::Entity& e) {
  const Path& p = term.path;
  if (p.attrs.empty()) {  // the entity's createdAt / modifiedAt
    Scalar s;
    s.kind = Scalar::Kind::kTime;
    s.time_ms = p.meta == Meta::kCreatedAt ? e.created_at_ms : e.modified_at_ms;
    return decide(term, false, [&](const auto& f) { return f(s); });
  }
  const auto it = e.attributes.find(p.attrs.front());
  bool any_exists = false;
  if (it != e.attributes.end()) {
    for (const AttributeInstance& top : it->second) {
      const AttributeInstance* inst = &top;
      for (size_t k = 1; k < p.attrs.size() && inst != nullptr; ++k) {
        const auto sub = inst->sub_attributes.find(p.attrs[k]);
        inst = sub == inst->sub_attributes.end() ? nullptr : &sub->second;
      }
      if (inst == nullptr) continue;
      bool exists = false;
      const bool holds = evaluate_instance(term, *inst, exists);
      any_exists = any_exists || exists;
      if (holds) return true;
    }
  }
  return term.op == Op::kNotExists && !any_exists;
}

}  // namespace

bool evaluate(const Node& n, const model::Entity& e) {
  switch (n.kind) {
    case Node::Kind::kAnd:
      for (const auto& c : n.children)
        if (!evaluate(*c, e)) return false;
      return true;
    case Node::Kind::kOr:
      for (const auto& c : n.children)
        if (evaluate(*c, e)) return true;
      return false;
    case Node::Kind::kTerm: return evaluate_term(n.term, e);
  }
  return false;
}

}  // namespace urbis::ngsild::qast
