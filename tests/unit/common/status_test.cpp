#include "common/status.hpp"

#include <gtest/gtest.h>

namespace urbis {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return InvalidArgument("value must be positive");
  return v;
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
}

TEST(Result, HoldsValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  EXPECT_TRUE(good.status().ok());

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "value must be positive");
}

}  // namespace
}  // namespace urbis
