// Topic and UTF-8 checks (OASIS MQTT 5.0 1.5.4 and 4.7; 3.1.1 1.5.3 and 4.7).
//
// Topic names are what a PUBLISH is sent to: they never contain the wildcards
// '+' or '#'. Topic filters are what a SUBSCRIBE asks for: levels are separated
// by '/', '+' matches exactly one level and must fill its level alone, '#'
// matches the rest and must be the whole last level.
//   valid filters: "sport/tennis/#", "#", "+", "/", "sport/+/player1", "+/+", "a//b"
//   invalid:       "sport/tennis#", "sport+", "#/a", "a/#/b", "a+/b", ""
// Empty levels ("a//b", "/") are legal and distinct from their neighbours.
#include <cstring>

#include "mqtt/codec/codec.hpp"

namespace urbis::mqtt {

bool valid_topic_name(std::string_view topic) {
  // Two memchr calls: std::string_view::find_first_of tests one character at a
  // time, which showed up as the top cost of decoding a PUBLISH.
  return !topic.empty() && !std::memchr(topic.data(), '+', topic.size()) &&
         !std::memchr(topic.data(), '#', topic.size());
}

bool valid_topic_filter(std::string_view filter) {
  if (filter.empty()) return false;
  const size_t n = filter.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = filter[i];
    if (c != '+' && c != '#') continue;
    // A wildcard fills its level alone: preceded by '/' or the start, and
    // followed by '/' or the end; '#' must also be the last character.
    if (i > 0 && filter[i - 1] != '/') return false;
    if (c == '#') return i + 1 == n;
    if (i + 1 < n && filter[i + 1] != '/') return false;
  }
  return true;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // Fast path: 8 ASCII bytes at a time, none of them NUL. Topics and client
    // ids are nearly always ASCII, and this runs for every PUBLISH.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      constexpr uint64_t kHigh = 0x8080808080808080ull;
      constexpr uint64_t kOnes = 0x0101010101010101ull;
      bool has_zero = ((w - kOnes) & ~w & kHigh) != 0;
      if ((w & kHigh) || has_zero) break;
      p += 8;
    }
    if (p >= end) break;
    unsigned c = *p;
    if (c < 0x80) {
      if (c == 0) return false;  // U+0000 is forbidden (MQTT-1.5.4-2)
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // continuation byte without a lead, or 0xF8..0xFF
    }
    if (static_cast<size_t>(end - p) < n) return false;
    for (size_t i = 1; i < n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min) return false;                      // overlong encoding
    if (cp > 0x10FFFF) return false;                 // beyond Unicode
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogate halves (MQTT-1.5.4-1)
    p += n;
  }
  return true;
}

}  // namespace urbis::mqtt
