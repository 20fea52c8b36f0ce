#include "ngsild/notify/coalesce.hpp"

namespace urbis::ngsild::notify {

namespace {

// A forward-only walker over JSON text that only needs to find value
// boundaries; it trusts the text to be JSON in between (our own renderer wrote
// it) but never reads past the end whatever the input.
struct Walker {
  std::string_view s;
  size_t i = 0;

  bool end() const { return i >= s.size(); }
  void ws() {
    while (!end() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool eat(char c) {
    ws();
    if (end() || s[i] != c) return false;
    ++i;
    return true;
  }
  // At '"': past the closing quote.
  bool string() {
    if (end() || s[i] != '"') return false;
    for (++i; !end(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        ++i;
        return true;
      }
    }
    return false;
  }
  // Past one value of any kind.
  bool value() {
    ws();
    if (end()) return false;
    if (s[i] == '"') return string();
    if (s[i] == '{' || s[i] == '[') {
      size_t depth = 0;
      while (!end()) {
        const char c = s[i];
        if (c == '"') {
          if (!string()) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') {
          if (--depth == 0) {
            ++i;
            return true;
          }
        }
        ++i;
      }
      return false;
    }
    // number, true, false, null
    const size_t from = i;
    while (!end() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' &&
           s[i] != '\r')
      ++i;
    return i > from;
  }
};

}  // namespace

std::optional<NotificationShape> notification_shape(std::string_view body) {
  Walker w{body};
  if (!w.eat('{')) return std::nullopt;
  NotificationShape out;
  bool have_data = false;
  w.ws();
  if (w.eat('}')) return std::nullopt;
  for (;;) {
    w.ws();
    const size_t key_begin = w.i;
    if (!w.string()) return std::nullopt;
    const std::string_view key = body.substr(key_begin + 1, w.i - key_begin - 2);
    if (!w.eat(':')) return std::nullopt;
    w.ws();
    if (key == "data") {
      if (have_data || !w.eat('[')) return std::nullopt;
      have_data = true;
      out.data_begin = w.i;
      w.ws();
      if (w.end()) return std::nullopt;
      if (body[w.i] == ']') {
        out.data_end = w.i++;
      } else {
        for (;;) {
          if (!w.value()) return std::nullopt;
          ++out.members;
          w.ws();
          if (w.end()) return std::nullopt;
          if (body[w.i] == ']') {
            out.data_end = w.i++;
            break;
          }
          if (body[w.i] != ',') return std::nullopt;
          ++w.i;
        }
      }
    } else {
      if (!w.value()) return std::nullopt;
      if (key != "id" && key != "notifiedAt") {
        out.envelope.append(body.substr(key_begin, w.i - key_begin));
        out.envelope += '\n';  // cannot occur raw inside JSON strings
      }
    }
    w.ws();
    if (w.eat('}')) break;
    if (!w.eat(',')) return std::nullopt;
  }
  w.ws();
  if (!w.end() || !have_data) return std::nullopt;
  return out;
}

std::string merge_notifications(const std::vector<ShapedBody>& parts) {
  const ShapedBody& last = parts.back();
  size_t size = last.body.size();
  for (const auto& p : parts) size += p.shape->data_end - p.shape->data_begin + 1;
  std::string out;
  out.reserve(size);
  out.append(last.body.substr(0, last.shape->data_begin));
  bool first = true;
  for (const auto& p : parts) {
    if (p.shape->members == 0) continue;
    if (!first) out += ',';
    first = false;
    out.append(p.body.substr(p.shape->data_begin, p.shape->data_end - p.shape->data_begin));
  }
  out.append(last.body.substr(last.shape->data_end));
  return out;
}

}  // namespace urbis::ngsild::notify
