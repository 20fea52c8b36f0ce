// docs/http-routes.md must be exactly what the route table renders. When this
// fails after adding a route, run this test once with URBIS_UPDATE_DOCS=1 to
// regenerate the file, and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/clock.hpp"
#include "devices/commands/service.hpp"
#include "devices/registry/registry.hpp"
#include "http/command_routes.hpp"
#include "http/data_routes.hpp"
#include "http/device_routes.hpp"
#include "http/routes.hpp"
#include "model/change_events.hpp"
#include "ngsild/service.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"
#include "storage/sqlite/subscription_store_sqlite.hpp"
#include "tsdb/memory_time_series_store.hpp"

namespace urbis::http {
namespace {

TEST(RoutesDoc, CommittedDocumentMatchesRouteTable) {
  SystemClock clock;
  Router router;
  ASSERT_TRUE(register_core_routes(router, clock, {}).ok());
  // Every route urbis serve registers (the stores only back the handlers).
  model::ChangeBus bus;
  auto state = storage::sqlite::SqliteEntityStore::open(":memory:", bus);
  ASSERT_TRUE(state.ok());
  tsdb::MemoryTimeSeriesStore history;
  ASSERT_TRUE(register_data_routes(router, **state, history).ok());
  boost::asio::io_context io;
  auto subscriptions = storage::sqlite::SqliteSubscriptionStore::open(":memory:");
  ASSERT_TRUE(subscriptions.ok());
  ngsild::Service ngsi(NgsiLdOptions{}, {.entities = state->get(),
                                        .history = &history,
                                        .bus = &bus,
                                        .clock = &clock,
                                        .io = &io,
                                        .subscriptions = subscriptions->get(),
                                        .notification_queue_path = ""});
  ASSERT_TRUE(ngsi.start().ok());
  ASSERT_TRUE(ngsi.register_routes(router).ok());
  devices::MemoryDeviceStore device_store;
  devices::DeviceRegistry registry(device_store, clock);
  ASSERT_TRUE(register_device_routes(router, registry, "").ok());
  devices::MemoryCommandStore command_store;
  struct NoPublisher final : devices::DownlinkPublisher {
    size_t publish(const std::string&, std::string, int64_t, bool) override { return 0; }
  } publisher;
  devices::CommandService commands(registry, command_store, publisher, clock, {.background = false});
  ASSERT_TRUE(register_command_routes(router, registry, commands, "").ok());
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
