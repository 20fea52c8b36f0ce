// NGSI-LD q: parser, canonical printer, renaming.
//
// Grammar (GS CIM 009 4.9, with the extensions noted):
//   Query     = Or
//   Or        = And *("|" And)             ; AND binds tighter than OR (4.9)
//   And       = Factor *(";" Factor)
//   Factor    = "(" Or ")" / Term          ; nesting to kMaxDepth (the spec's QueryTermAssoc is one level)
//   Term      = ["!"] Path                 ; "!" (not present) is an extension
//             / Path Op Value / Path ("==" / "!=") (List / Range) / Path ("~=" / "!~=") Pattern
//   Path      = Name *("." Name) *("[" Member *("." Member) "]")   ; "a[b][c]" (the 1.3 grammar) is "a[b.c]"
//   Range     = Value ".." Value           ; two numbers or two strings
//   List      = Value 1*("," Value)
//   Value     = JSON number / "JSON string" / 'single-quoted string' / true / false
//             / unquoted date-time, date, time or URI (kept as strings)
//   Pattern   = quoted string, or unquoted up to ";" / "|" / an unbalanced ")"
// Whitespace between tokens is ignored. Names follow the spec's AttrName
// (letters, digits, "_"; any byte >= 0x80 counts as a letter) and may also be
// "prefix:name" or an absolute URI: ":", "/", "#", "-", "@", "%" are name
// characters, and inside a name that contains "://" a "." followed by text
// holding a "/" or "#" (and no ":") belongs to the URI ("https://x.org/a.b/c"),
// as do the dots of its host, otherwise it separates sub-attributes
// ("https://x.org/temperature.accuracy", "https://x.org/a.https://x.org/b").
// A last path member observedAt, createdAt, modifiedAt, unitCode or datasetId
// addresses that member of the instance; "createdAt"/"modifiedAt" alone
// address the entity's own.
//
// Errors name the 1-based byte position: "q: at 14: expected a value after '>='".
//
// Canonical text: no whitespace, strings double-quoted with JSON escapes,
// numbers as model::to_json prints them, patterns quoted, brackets merged
// ("a[b][c]" -> "a[b.c]"), parentheses only where an OR sits inside an AND.
// Parsing the canonical text gives back the same tree.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <regex>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"
#include "ngsild/query/q_ast.hpp"
#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

using qast::Meta;
using qast::Node;
using qast::Op;
using qast::Path;
using qast::Term;
using qast::Value;

namespace {

constexpr std::string_view kCoreNs = "https://uri.etsi.org/ngsi-ld/";

struct MetaName {
  Meta meta;
  std::string_view name;
};
constexpr MetaName kMetaNames[] = {{Meta::kObservedAt, "observedAt"}, {Meta::kCreatedAt, "createdAt"},
                                   {Meta::kModifiedAt, "modifiedAt"}, {Meta::kUnitCode, "unitCode"},
                                   {Meta::kDatasetId, "datasetId"}};

// The system member `name` names (short or expanded with the core @context).
Meta meta_of(std::string_view name) {
  if (name.starts_with(kCoreNs)) name.remove_prefix(kCoreNs.size());
  for (const MetaName& m : kMetaNames)
    if (m.name == name) return m.meta;
  return Meta::kNone;
}


bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }

bool is_name_start(char c) { return is_ascii_alpha(c) || c == '_' || is_high(c); }
bool is_name_char(char c) {
  return is_ascii_alpha(c) || is_digit(c) || is_high(c) || c == '_' || c == ':' || c == '/' || c == '#' ||
         c == '-' || c == '@' || c == '%';
}
// Characters of a [ ] member: JSON member names are free-form, so anything but
// the characters with a meaning in q.
bool is_member_char(char c) {
  if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return std::strchr(".[]\"'();|,=!<>~{}", c) == nullptr;
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// "YYYY-MM-DD".
bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!is_digit(s[i])) return false;
  return true;
}

// "HH:MM:SS" with an optional fraction and an optional Z or +-HH:MM.
bool is_time(std::string_view s) {
  if (s.size() < 8 || s[2] != ':' || s[5] != ':') return false;
  for (size_t i : {0, 1, 3, 4, 6, 7})
    if (!is_digit(s[i])) return false;
  size_t i = 8;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    const size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return true;
  if (s[i] == 'Z' && i + 1 == s.size()) return true;
  if ((s[i] == '+' || s[i] == '-') && s.size() == i + 6 && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
      s[i + 3] == ':' && is_digit(s[i + 4]) && is_digit(s[i + 5]))
    return true;
  return false;
}

// The whole of `s` is a JSON number (RFC 8259 section 6).
bool is_json_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < s.size() && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<std::shared_ptr<const Node>> parse() {
    skip_ws();
    if (i_ == s_.size()) return InvalidArgument("q: empty expression");
    std::shared_ptr<const Node> root = parse_or();
    if (!err_.ok()) return err_;
    skip_ws();
    if (i_ < s_.size()) {
      if (s_[i_] == ')') return InvalidArgument(fmt::format("q: unbalanced ')' at {}", i_ + 1));
      fail(fmt::format("unexpected '{}' (expected ';', '|' or the end)", s_[i_]));
      return err_;
    }
    return root;
  }

 private:
  // Records the first error; false, for `return fail(...)` in the bool parsers.
  bool fail(std::string_view what) { return fail_at(i_, what); }
  bool fail_at(size_t pos, std::string_view what) {
    if (err_.ok()) err_ = InvalidArgument(fmt::format("q: at {}: {}", pos + 1, what));
    return false;
  }

  void skip_ws() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool at(std::string_view t) const { return s_.substr(i_).starts_with(t); }
  // At the end of a term: the end of input, a logical operator or a ')'.
  bool at_term_end() const { return i_ == s_.size() || at(';') || at('|') || at(')'); }

  static std::shared_ptr<const Node> join(Node::Kind kind, std::vector<std::shared_ptr<const Node>> parts) {
    if (parts.size() == 1) return std::move(parts.front());
    auto n = std::make_shared<Node>();
    n->kind = kind;
    for (auto& p : parts) {
      if (p->kind == kind) {
        n->children.insert(n->children.end(), p->children.begin(), p->children.end());
      } else {
        n->children.push_back(std::move(p));
      }
    }
    return n;
  }

  std::shared_ptr<const Node> parse_or() {
    std::vector<std::shared_ptr<const Node>> parts;
    parts.push_back(parse_and());
    while (err_.ok()) {
      skip_ws();
      if (!at('|')) break;
      ++i_;
      parts.push_back(parse_and());
    }
    return err_.ok() ? join(Node::Kind::kOr, std::move(parts)) : nullptr;
  }

  std::shared_ptr<const Node> parse_and() {
    std::vector<std::shared_ptr<const Node>> parts;
    parts.push_back(parse_factor());
    while (err_.ok()) {
      skip_ws();
      if (!at(';')) break;
      ++i_;
      parts.push_back(parse_factor());
    }
    return err_.ok() ? join(Node::Kind::kAnd, std::move(parts)) : nullptr;
  }

  std::shared_ptr<const Node> parse_factor() {
    skip_ws();
    if (at('(')) {
      const size_t open = i_;
      if (++depth_ > qast::kMaxDepth) {
        fail(fmt::format("parentheses nest deeper than {}", qast::kMaxDepth));
        return nullptr;
      }
      ++i_;
      std::shared_ptr<const Node> inner = parse_or();
      if (!err_.ok()) return nullptr;
      skip_ws();
      if (!at(')')) {
        if (i_ == s_.size()) {
          err_ = InvalidArgument(fmt::format("q: unbalanced '(' at {}", open + 1));
        } else {
          fail(fmt::format("unexpected '{}' (expected ';', '|' or ')')", s_[i_]));
        }
        return nullptr;
      }
      ++i_;
      --depth_;
      return inner;
    }
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kTerm;
    if (!parse_term(n->term)) return nullptr;
    return n;
  }

  // One name segment at i_ (see the header comment for the URI rule).
  bool parse_name(std::string& out) {
    const size_t start = i_;
    if (i_ == s_.size() || !is_name_start(s_[i_])) {
      if (i_ == s_.size() || at_term_end()) {
        fail("expected an attribute name");
      } else {
        fail(fmt::format("expected an attribute name, found '{}'", s_[i_]));
      }
      return false;
    }
    while (i_ < s_.size() && is_name_char(s_[i_])) ++i_;
    while (at('.') && i_ + 1 < s_.size() && is_name_char(s_[i_ + 1])) {
      const std::string_view so_far = s_.substr(start, i_ - start);
      const size_t scheme_end = so_far.find("://");
      if (scheme_end == std::string_view::npos) break;
      size_t j = i_ + 1;
      while (j < s_.size() && is_name_char(s_[j])) ++j;
      const std::string_view run = s_.substr(i_ + 1, j - i_ - 1);
      // Dots of the host ("https://uri.etsi.org/...") always belong to the URI.
      const bool in_authority = so_far.find('/', scheme_end + 3) == std::string_view::npos;
      if (!in_authority &&
          (run.find(':') != std::string_view::npos || run.find_first_of("/#") == std::string_view::npos))
        break;
      i_ = j;
    }
    out.assign(s_.substr(start, i_ - start));
    return true;
  }

  bool parse_path(Path& p) {
    const size_t start = i_;
    do {
      if (!p.attrs.empty()) ++i_;  // the '.'
      std::string name;
      if (!parse_name(name)) return false;
      p.attrs.push_back(std::move(name));
    } while (at('.'));
    while (at('[')) {
      ++i_;
      do {
        if (at('.')) ++i_;
        const size_t m = i_;
        while (i_ < s_.size() && is_member_char(s_[i_])) ++i_;
        if (i_ == m) {
          fail(i_ == s_.size() ? "unterminated '['" : "expected a member name inside [ ]");
          return false;
        }
        p.members.emplace_back(s_.substr(m, i_ - m));
      } while (at('.'));
      if (!at(']')) {
        fail(i_ == s_.size() ? "unterminated '['" : "expected ']'");
        return false;
      }
      ++i_;
    }
    if (at('{')) {
      fail("linked-entity paths (attr{...}) are not supported");
      return false;
    }
    if (p.attrs.size() >= 2) {
      if (Meta m = meta_of(p.attrs.back()); m != Meta::kNone) {
        p.meta = m;
        p.attrs.pop_back();
      }
    } else if (Meta m = meta_of(p.attrs.front()); m == Meta::kCreatedAt || m == Meta::kModifiedAt) {
      p.meta = m;
      p.attrs.clear();
    }
    if (p.meta != Meta::kNone && !p.members.empty()) {
      fail_at(start, fmt::format("[ ] cannot follow {}", qast::meta_name(p.meta)));
      return false;
    }
    return true;
  }

  bool parse_term(Term& t) {
    const bool negated = at('!');
    if (negated) ++i_;
    skip_ws();
    if (!parse_path(t.path)) return false;
    skip_ws();
    if (at_term_end()) {
      t.op = negated ? Op::kNotExists : Op::kExists;
      return true;
    }
    const size_t op_pos = i_;
    std::string_view op_text;
    static constexpr std::pair<std::string_view, Op> kOps[] = {
        {"==", Op::kEq}, {"!~=", Op::kNotMatch}, {"!=", Op::kNe}, {"~=", Op::kMatch},
        {">=", Op::kGe}, {"<=", Op::kLe},        {">", Op::kGt},  {"<", Op::kLt}};
    for (const auto& [text, op] : kOps) {
      if (at(text)) {
        op_text = text;
        t.op = op;
        break;
      }
    }
    if (op_text.empty()) {
      if (at('=')) {
        fail("'=' is not an operator: use '=='");
      } else {
        fail(fmt::format("unexpected '{}' after the attribute path (expected an operator or ';', '|', ')')", s_[i_]));
      }
      return false;
    }
    if (negated) {
      fail_at(op_pos, "'!' before an attribute only tests that it is absent; it takes no operator");
      return false;
    }
    i_ += op_text.size();
    skip_ws();
    if (t.op == Op::kMatch || t.op == Op::kNotMatch) return parse_pattern(t, op_text);

    Value first;
    if (!parse_value(first, op_text)) return false;
    t.values.push_back(std::move(first));
    skip_ws();
    const bool equality = t.op == Op::kEq || t.op == Op::kNe;
    if (at("..")) {
      const size_t pos = i_;
      if (!equality) {
        fail("a range (min..max) is only allowed with == or !=");
        return false;
      }
      i_ += 2;
      skip_ws();
      Value hi;
      if (!parse_value(hi, "..")) return false;
      const Value& lo = t.values.front();
      if (lo.kind != hi.kind || lo.kind == Value::Kind::kBool) {
        fail_at(pos, "a range needs two numbers or two strings (dates, times)");
        return false;
      }
      t.values.push_back(std::move(hi));
      t.range = true;
      return true;
    }
    if (at(',')) {
      if (!equality) {
        fail("a list of values is only allowed with == or !=");
        return false;
      }
      while (at(',')) {
        ++i_;
        skip_ws();
        Value v;
        if (!parse_value(v, ",")) return false;
        t.values.push_back(std::move(v));
        skip_ws();
      }
      return true;
    }
    if (!equality && t.values.front().kind == Value::Kind::kBool) {
      fail_at(op_pos, fmt::format("true/false can only be compared with == or !=, not '{}'", op_text));
      return false;
    }
    return true;
  }

  // A quoted string at i_ (quote '"' with JSON escapes, or '\'' which also
  // accepts \'), unescaped into `out`.
  bool parse_quoted(std::string& out) {
    const size_t open = i_;
    const char quote = s_[i_++];
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == quote) {
        ++i_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("control character in a string (escape it)");
        return false;
      }
      if (c != '\\') {
        out.push_back(c);
        ++i_;
        continue;
      }
      if (i_ + 1 >= s_.size()) break;
      const char e = s_[i_ + 1];
      i_ += 2;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\'': out.push_back('\''); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (!at("\\u")) {
              fail("a \\u escape of a high surrogate must be followed by its low surrogate");
              return false;
            }
            i_ += 2;
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) {
              fail("invalid low surrogate in a \\u escape");
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate in a \\u escape");
            return false;
          }
          append_utf8(out, cp);
          break;
        }
        default: fail_at(i_ - 2, fmt::format("invalid escape '\\{}' in a string", e)); return false;
      }
    }
    fail_at(open, "unterminated string");
    return false;
  }

  bool hex4(uint32_t& out) {
    if (i_ + 4 > s_.size()) {
      fail("\\u needs four hex digits");
      return false;
    }
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_ + k];
      uint32_t d;
      if (is_digit(c)) {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        fail("\\u needs four hex digits");
        return false;
      }
      out = out * 16 + d;
    }
    i_ += 4;
    return true;
  }

  bool parse_value(Value& v, std::string_view after) {
    if (i_ == s_.size() || (s_[i_] != 0 && std::strchr(";|),=<>!~", s_[i_]) != nullptr) || at("..")) {
      fail(fmt::format("expected a value after '{}'", after));
      return false;
    }
    if (at('"') || at('\'')) {
      v.kind = Value::Kind::kString;
      if (!parse_quoted(v.text)) return false;
      v.time_ms = model::parse_datetime_ms(v.text);
      return true;
    }
    const size_t start = i_;
    while (i_ < s_.size() && !is_space(s_[i_]) && s_[i_] != 0 && std::strchr(";|),", s_[i_]) == nullptr &&
           !at(".."))
      ++i_;
    const std::string_view tok = s_.substr(start, i_ - start);
    if (tok == "true" || tok == "false") {
      v.kind = Value::Kind::kBool;
      v.boolean = tok == "true";
      return true;
    }
    if (is_json_number(tok)) {
      v.kind = Value::Kind::kNumber;
      const auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v.number);
      if (ec != std::errc() || end != tok.data() + tok.size()) {
        fail_at(start, fmt::format("number '{}' is out of range", tok));
        return false;
      }
      return true;
    }
    v.kind = Value::Kind::kString;
    v.text.assign(tok);
    v.time_ms = model::parse_datetime_ms(tok);
    if (v.time_ms || is_date(tok) || is_time(tok) || model::looks_like_uri(tok)) return true;
    fail_at(start, fmt::format("'{}' is not a value (quote strings: \"{}\")", tok, tok));
    return false;
  }

  bool parse_pattern(Term& t, std::string_view op_text) {
    const size_t start = i_;
    if (at('"') || at('\'')) {
      if (!parse_quoted(t.pattern)) return false;
    } else {
      // Unquoted: up to ';' or '|' outside parentheses, or an unbalanced ')'.
      int depth = 0;
      bool in_class = false;
      while (i_ < s_.size()) {
        const char c = s_[i_];
        if (c == '\\' && i_ + 1 < s_.size()) {
          i_ += 2;
          continue;
        }
        if (in_class) {
          in_class = c != ']';
        } else if (c == '[') {
          in_class = true;
        } else if (c == '(') {
          ++depth;
        } else if (c == ')') {
          if (depth == 0) break;
          --depth;
        } else if ((c == ';' || c == '|') && depth == 0) {
          break;
        }
        ++i_;
      }
      t.pattern.assign(s_.substr(start, i_ - start));
      while (!t.pattern.empty() && is_space(t.pattern.back())) t.pattern.pop_back();
    }
    if (t.pattern.empty()) {
      fail_at(start, fmt::format("expected a regular expression after '{}'", op_text));
      return false;
    }
    Result<std::shared_ptr<const std::regex>> re = compile_pattern(t.pattern);
    if (!re.ok()) {
      fail_at(start, re.status().message());
      return false;
    }
    t.regex = std::move(re.value());
    return true;
  }

 public:
  // A leading "(?i)" (as Java and Stellio accept) makes the match
  // case-insensitive; the rest is an ECMAScript regular expression without
  // back-references.
  //
  // Patterns come from any client and run against every candidate entity, so
  // their cost is bounded: libstdc++'s default (backtracking) matcher takes
  // exponential time on "(a*)*b" and recurses once per character of the
  // subject, so the pattern is compiled for its polynomial (Thompson NFA)
  // matcher, which refuses back-references, and wrapped as
  // [\s\S]*(?:pattern)[\s\S]* to be tested in one pass with regex_match (a
  // regex_search would restart at every position). Repetition bounds {n,m}
  // multiply the automaton's size, so their product is capped too.
  static Result<std::shared_ptr<const std::regex>> compile_pattern(std::string_view pattern) {
    if (pattern.size() > qast::kMaxPatternLength)
      return InvalidArgument(fmt::format("regular expression longer than {} bytes", qast::kMaxPatternLength));
    auto flags = std::regex::ECMAScript | std::regex::nosubs;
#ifdef __GLIBCXX__
    flags |= std::regex_constants::__polynomial;
#endif
    if (pattern.starts_with("(?i)")) {
      pattern.remove_prefix(4);
      flags |= std::regex::icase;
    }
    if (Status s = check_repetitions(pattern); !s.ok()) return s;
    try {
      std::regex alone(pattern.begin(), pattern.end(), flags);  // validates the pattern on its own
      const std::string wrapped = fmt::format("[\\s\\S]*(?:{})[\\s\\S]*", pattern);
      return std::make_shared<const std::regex>(wrapped, flags);
    } catch (const std::regex_error& e) {
      return InvalidArgument(fmt::format("invalid regular expression: {}", e.what()));
    }
  }

  static Status check_repetitions(std::string_view p) {
    constexpr uint64_t kMaxExpansion = 1000;
    uint64_t product = 1;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '\\') {
        ++i;
        continue;
      }
      if (p[i] != '{') continue;
      uint64_t bound = 0;
      size_t j = i + 1;
      bool digits = false;
      for (; j < p.size() && (is_digit(p[j]) || p[j] == ','); ++j) {
        if (p[j] == ',') {
          bound = std::max<uint64_t>(bound, 1);
          continue;
        }
        digits = true;
        bound = std::min<uint64_t>(bound * 10 + static_cast<uint64_t>(p[j] - '0'), kMaxExpansion + 1);
      }
      if (!digits || j >= p.size() || p[j] != '}') continue;
      product = std::min<uint64_t>(product * std::max<uint64_t>(bound, 1), kMaxExpansion + 1);
      if (product > kMaxExpansion)
        return InvalidArgument(
            fmt::format("regular expression repeats too much ({{n,m}} bounds multiply past {})", kMaxExpansion));
    }
    return Status::Ok();
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
  int depth_ = 0;
  Status err_;
};

// --- printing ---------------------------------------------------------------

}  // namespace

std::string_view qast::meta_name(Meta m) {
  for (const MetaName& x : kMetaNames)
    if (x.meta == m) return x.name;
  return {};
}

QExpression::QExpression() = default;
QExpression::QExpression(std::shared_ptr<const qast::Node> root) : root_(std::move(root)) {}

Result<QExpression> QExpression::parse(std::string_view text) {
  if (text.size() > kMaxLength)
    return InvalidArgument(fmt::format("q: too long ({} bytes, at most {})", text.size(), kMaxLength));
  Result<std::shared_ptr<const Node>> root = Parser(text).parse();
  if (!root.ok()) return root.status();
  return QExpression(std::move(root.value()));
}

bool QExpression::matches(const model::Entity& e) const { return root_ == nullptr || qast::evaluate(*root_, e); }

}  // namespace urbis::ngsild
