// to_json: the one serialisation point. Numbers as people write them, strings
// escaped so any JSON parser reads them back.
#include "model/json_format.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

namespace urbis::model {
namespace {

namespace json = boost::json;

TEST(JsonFormat, DoublesArePlainAndShortest) {
  const std::pair<double, const char*> cases[] = {
      {21.5, "21.5"}, {0.1, "0.1"},     {-3.25, "-3.25"}, {100.0, "100"},        {1e21, "1e+21"},
      {0.001, "0.001"}, {1e-7, "1e-07"}, {0.0, "0"},      {123456.789, "123456.789"}, {2.5e-300, "2.5e-300"},
  };
  for (auto [d, text] : cases) EXPECT_EQ(to_json(json::value(d)), text) << d;
}

TEST(JsonFormat, NonFiniteDoublesBecomeNull) {
  EXPECT_EQ(to_json(json::value(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(to_json(json::value(std::nan(""))), "null");
}

TEST(JsonFormat, IntegersAndLiterals) {
  EXPECT_EQ(to_json(json::value(int64_t{-9223372036854775807 - 1})), "-9223372036854775808");
  EXPECT_EQ(to_json(json::value(uint64_t{18446744073709551615u})), "18446744073709551615");
  EXPECT_EQ(to_json(json::value(true)), "true");
  EXPECT_EQ(to_json(json::value(nullptr)), "null");
}

TEST(JsonFormat, StringsAreEscaped) {
  EXPECT_EQ(to_json(json::value("a\"b\\c\nd\x01\te\x7f\xc3\xa9")), "\"a\\\"b\\\\c\\nd\\u0001\\te\x7f\xc3\xa9\"");
  EXPECT_EQ(to_json(json::value("")), "\"\"");
}

TEST(JsonFormat, ContainersKeepOrderAndHaveNoSpaces) {
  json::value v = json::parse(R"({"z": [1, 2.5, {"a": null}], "a": "x", "m": {}})");
  EXPECT_EQ(to_json(v), R"({"z":[1,2.5,{"a":null}],"a":"x","m":{}})");
}

TEST(JsonFormat, RandomDoublesReadBackExactly) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mant(-1, 1);
  std::uniform_int_distribution<int> exp(-300, 300);
  for (int i = 0; i < 10000; ++i) {
    const double d = std::ldexp(mant(rng), exp(rng));
    const std::string text = to_json(json::value(d));
    EXPECT_EQ(text.find('E'), std::string::npos) << text;
    // strtod rounds correctly; Boost.JSON 1.81's parser may be off by an ulp.
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
  }
}

}  // namespace
}  // namespace urbis::model
