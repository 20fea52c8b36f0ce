// docs/configuration.md must contain exactly the key table the code renders
// (config_keys_markdown()), between its BEGIN/END markers, so the reference an
// operator reads cannot drift from the keys Urbis accepts. When this fails
// after adding or changing a key, run this test once with URBIS_UPDATE_DOCS=1:
// it rewrites the part between the markers and leaves the prose around it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace urbis {
namespace {

constexpr std::string_view kBegin = "<!-- BEGIN generated key table -->\n";
constexpr std::string_view kEnd = "<!-- END generated key table -->";

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ConfigDoc, CommittedDocumentMatchesKeyTable) {
  const std::string path = std::string(URBIS_SOURCE_DIR) + "/docs/configuration.md";
  std::string doc = read_file(path);
  ASSERT_FALSE(doc.empty()) << path << " is missing or empty";
  size_t begin = doc.find(kBegin);
  size_t end = doc.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "docs/configuration.md lacks the line " << kBegin;
  ASSERT_NE(end, std::string::npos) << "docs/configuration.md lacks the line " << kEnd;
  ASSERT_LT(begin, end) << "END marker before BEGIN marker";
  begin += kBegin.size();

  const std::string table = config_keys_markdown();
  if (std::getenv("URBIS_UPDATE_DOCS")) {
    doc.replace(begin, end - begin, table);
    std::ofstream(path) << doc;
    end = begin + table.size();
  }
  EXPECT_EQ(doc.substr(begin, end - begin), table)
      << "docs/configuration.md is out of date; rerun this test with URBIS_UPDATE_DOCS=1";
}

}  // namespace
}  // namespace urbis
