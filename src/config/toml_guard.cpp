#include "config/toml_guard.hpp"

#include <algorithm>
#include <string>

namespace urbis::config {

Status check_toml_non_ascii(std::string_view t, std::string_view source) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMlBasic, kMlLiteral };
  In in = In::kCode;
  size_t line = 1;
  auto high = [](char c) { return static_cast<unsigned char>(c) >= 0x80; };
  auto refuse = [&](std::string_view where) {
    return InvalidArgument(std::string(source) + ":" + std::to_string(line) + ": non-ASCII character " +
                           std::string(where));
  };
  auto starts = [&](size_t i, std::string_view s) { return t.compare(i, s.size(), s) == 0; };
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\n') ++line;
    // Control characters other than tab and line ends are invalid anywhere in
    // TOML (strings must escape them). Refusing them first also keeps this scan
    // and toml++ reading the same structure, which invalid text can break.
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F) {
      return InvalidArgument(std::string(source) + ":" + std::to_string(line) + ": control character " +
                             std::to_string(u) + " (TOML allows only tab and line ends)");
    }
    switch (in) {
      case In::kCode:
        if (high(c)) return refuse("outside a string or comment");
        if (c == '#') {
          in = In::kComment;
        } else if (starts(i, "\"\"\"")) {
          in = In::kMlBasic;
          i += 2;
        } else if (c == '"') {
          in = In::kBasic;
        } else if (starts(i, "'''")) {
          in = In::kMlLiteral;
          i += 2;
        } else if (c == '\'') {
          in = In::kLiteral;
        }
        break;
      case In::kComment:
        if (c == '\n') in = In::kCode;
        break;
      case In::kBasic:
        if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') {
          ++i;
        } else if (c == '"' || c == '\n') {
          in = In::kCode;
        }
        break;
      case In::kLiteral:
        if (c == '\'' || c == '\n') in = In::kCode;
        break;
      case In::kMlBasic:
        if (c == '\\') {
          size_t j = i + 1;
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
          if (j < t.size() && (t[j] == '\n' || t[j] == '\r')) {  // line-ending backslash
            while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\n' || t[j] == '\r')) {
              if (t[j] == '\n') ++line;
              ++j;
            }
            if (j < t.size() && high(t[j])) return refuse("right after a line-ending backslash");
            i = j - 1;
          } else if (i + 1 < t.size() && t[i + 1] != '\n') {
            ++i;
          }
        } else if (starts(i, "\"\"\"")) {
          i += 2;
          while (i + 1 < t.size() && t[i + 1] == '"') ++i;  // up to two quotes may end the content
          in = In::kCode;
        }
        break;
      case In::kMlLiteral:
        if (starts(i, "'''")) {
          i += 2;
          while (i + 1 < t.size() && t[i + 1] == '\'') ++i;
          in = In::kCode;
        }
        break;
    }
  }
  return Status::Ok();
}

namespace {
Result<toml::table> parse_unguarded(std::string_view text, std::string_view source);
}  // namespace

Result<toml::table> parse_toml(std::string_view text, std::string_view source) {
  if (Status s = check_toml_non_ascii(text, source); !s.ok()) return s;
  // The scan above follows valid TOML exactly, but on invalid text toml++ can
  // read the structure differently and still meet a non-ASCII byte where it
  // asks about whitespace (the fuzzer finds such texts). So text holding any
  // non-ASCII byte is first parsed as a copy with every such byte replaced by
  // 'x' (same length, same lines and columns): only if that copy is valid
  // TOML, and so read as the scan read it, is the original parsed.
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    std::string ascii(text);
    for (auto& c : ascii) {
      if (static_cast<unsigned char>(c) >= 0x80) c = 'x';
    }
    if (auto copy = parse_unguarded(ascii, source); !copy.ok()) return copy.status();
  }
  return parse_unguarded(text, source);
}

namespace {

Result<toml::table> parse_unguarded(std::string_view text, std::string_view source) {
  auto located = [&](const toml::parse_error& e) {
    return InvalidArgument(std::string(source) + ":" + std::to_string(e.source().begin.line) + ":" +
                           std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  };
  try {
#if TOML_EXCEPTIONS
    return toml::parse(text, source);
#else
    toml::parse_result r = toml::parse(text, source);
    if (!r) return located(r.error());
    return std::move(r).table();
#endif
  }
#if TOML_EXCEPTIONS
  catch (const toml::parse_error& e) {
    return located(e);
  }
#endif
  catch (const std::exception& e) {
    return InvalidArgument(std::string(source) + ": " + e.what());
  }
}

}  // namespace

}  // namespace urbis::config
