// docs/http-routes.md must be exactly what the route table renders. When this
// fails after adding a route, regenerate the file with `urbis routes >
// docs/http-routes.md`, or run this test once with URBIS_UPDATE_DOCS=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/clock.hpp"
#include "http/routes.hpp"

namespace urbis::http {
namespace {

TEST(RoutesDoc, CommittedDocumentMatchesRouteTable) {
  SystemClock clock;
  Router router;
  ASSERT_TRUE(register_core_routes(router, clock, {}).ok());
  const std::string path = std::string(URBIS_SOURCE_DIR) + "/docs/http-routes.md";
  if (std::getenv("URBIS_UPDATE_DOCS")) std::ofstream(path) << router.markdown();
  std::ifstream f(path);
  ASSERT_TRUE(f) << "docs/http-routes.md is missing";
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), router.markdown());
}

}  // namespace
}  // namespace urbis::http
