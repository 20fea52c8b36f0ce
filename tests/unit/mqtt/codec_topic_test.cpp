// Topic name, topic filter and UTF-8 checks (MQTT 5.0 1.5.4, 4.7).
#include <gtest/gtest.h>

#include <string>

#include "mqtt/codec/codec.hpp"

namespace urbis::mqtt {
namespace {

TEST(CodecTopic, Filters) {
  struct {
    std::string filter;
    bool ok;
  } const table[] = {
      {"sport/tennis/#", true},   {"sport/tennis#", false}, {"sport/+/player1", true},
      {"sport+", false},          {"#", true},              {"+", true},
      {"/", true},                {"+/+", true},            {"/+", true},
      {"sport/#/ranking", false}, {"#/", false},            {"a//b", true},
      {"+/tennis/#", true},       {"", false},              {"a/b+/c", false},
      {"a/+b", false},            {"##", false},            {"++", false},
      {"$SYS/#", true},           {"a/b/", true},           {"sport/tennis/player1", true},
  };
  for (const auto& row : table) EXPECT_EQ(valid_topic_filter(row.filter), row.ok) << row.filter;
}

TEST(CodecTopic, Names) {
  struct {
    std::string name;
    bool ok;
  } const table[] = {
      {"sport/tennis/player1", true}, {"/", true},       {"a//b", true},  {"$SYS/broker", true},
      {"sport/tennis/#", false},      {"sport/+", false}, {"+", false},   {"#", false},
      {"", false},                    {"a+b", false},    {" ", true},
  };
  for (const auto& row : table) EXPECT_EQ(valid_topic_name(row.name), row.ok) << row.name;
}

TEST(CodecTopic, Utf8) {
  struct {
    const char* name;
    std::string s;
    bool ok;
  } const table[] = {
      {"empty", "", true},
      {"ascii", "hello/world", true},
      {"long ascii (fast path)", std::string(100, 'a'), true},
      {"two-byte é", "caf\xC3\xA9", true},
      {"three-byte €", "\xE2\x82\xAC", true},
      {"four-byte U+1F6A6", "\xF0\x9F\x9A\xA6", true},
      {"BOM U+FEFF allowed", "\xEF\xBB\xBF" "abc", true},
      {"U+10FFFF", "\xF4\x8F\xBF\xBF", true},
      {"U+FFFF noncharacter allowed", "\xEF\xBF\xBF", true},
      {"control char U+0001 allowed", "\x01", true},
      {"U+0000", std::string("a\0b", 3), false},
      {"U+0000 after 8 ascii bytes", std::string("abcdefgh\0", 9), false},
      {"U+0000 inside an 8-byte block", std::string("abc\0defghijk", 12), false},
      {"overlong / (C0 AF)", "\xC0\xAF", false},
      {"overlong NUL (C0 80)", "\xC0\x80", false},
      {"overlong 3-byte (E0 80 AF)", "\xE0\x80\xAF", false},
      {"overlong 4-byte (F0 80 80 AF)", "\xF0\x80\x80\xAF", false},
      {"surrogate D800", "\xED\xA0\x80", false},
      {"surrogate DFFF", "\xED\xBF\xBF", false},
      {"beyond U+10FFFF", "\xF4\x90\x80\x80", false},
      {"F8 lead byte", "\xF8\x88\x80\x80\x80", false},
      {"FF byte", "\xFF", false},
      {"lone continuation", "\x80", false},
      {"truncated 2-byte", "\xC3", false},
      {"truncated 3-byte at end of long string", std::string(9, 'a') + "\xE2\x82", false},
      {"bad continuation", "\xC3\x28", false},
      {"non-ascii after 8 ascii", "abcdefgh\xC3\xA9", true},
  };
  for (const auto& row : table) EXPECT_EQ(valid_utf8(row.s), row.ok) << row.name;
}

}  // namespace
}  // namespace urbis::mqtt
