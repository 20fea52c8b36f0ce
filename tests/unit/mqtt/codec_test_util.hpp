// Helpers shared by the codec unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/codec/codec.hpp"

namespace urbis::mqtt::testing {

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

inline std::string hex(std::string_view s) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
    out += ' ';
  }
  return out;
}

inline std::string encoded(const Packet& p, Version v) {
  std::string out;
  encode(p, v, out);
  return out;
}

struct Decoded {
  bool ok = false;
  Packet packet;
  DecodeError err;
};

inline Decoded decoded(std::string_view wire, Version v) {
  Decoded d;
  d.ok = decode(as_bytes(wire), v, d.packet, d.err);
  return d;
}

}  // namespace urbis::mqtt::testing
