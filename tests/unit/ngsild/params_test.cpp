// Query parameters of the NGSI-LD API that are parsed on their own.
#include <gtest/gtest.h>

#include "ngsild/api/params.hpp"

namespace urbis::ngsild {
namespace {

using Tags = std::vector<std::string>;

Tags tags(std::string_view text) {
  auto r = language_preferences(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : Tags{};
}

TEST(LanguagePreferences, OrderedByWeightThenAsGiven) {
  EXPECT_EQ(tags("fr"), Tags{"fr"});
  EXPECT_EQ(tags("en;q=0.5, de, fr;q=0.9"), (Tags{"de", "fr", "en"}));
  EXPECT_EQ(tags("nl,*;q=0.1"), (Tags{"nl", "*"}));
  EXPECT_EQ(tags("zh-Hant-TW,en"), (Tags{"zh-Hant-TW", "en"}));
  EXPECT_EQ(tags("fr,en;q=0"), Tags{"fr"}) << "q=0 means not acceptable";
}

TEST(LanguagePreferences, BadListsNameTheElement) {
  for (const char* bad : {"", ",", "f r", "fr;q=2", "fr;q=x", "fr;level=1", "en;q=0"}) {
    auto r = language_preferences(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("lang: ", 0), 0u) << r.status().message();
  }
}

}  // namespace
}  // namespace urbis::ngsild
