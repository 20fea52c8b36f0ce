// EntityStore (SQLite backend) throughput and latency; reported, not asserted.
//
//   BM_EntityCreate/<sync>   creates/s through the store: each iteration submits
//                            `batch` creates (as many API requests would) and
//                            waits for their commits; group commit batches them.
//                            sync 0 = NORMAL, 1 = FULL.
//   BM_EntityGetById         get-by-id/s from memory over 100,000 entities.
//   BM_GeoNear               one near query (maxDistance 200 m, type Spot) over
//                            100,000 point entities spread over ~10 x 10 km;
//                            p50/p99 in µs are reported as counters.
// The database lives in $TMPDIR.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <string>

#include "model/change_events.hpp"
#include "model/entity_json.hpp"
#include "storage/sqlite/entity_store_sqlite.hpp"

namespace {

using urbis::model::ChangeBus;
using urbis::model::Entity;
using urbis::storage::sqlite::EntityStoreOptions;
using urbis::storage::sqlite::SqliteEntityStore;
using urbis::storage::sqlite::Synchronous;

std::string temp_dir() {
  std::string dir = (std::filesystem::temp_directory_path() / "urbis-ebench-XXXXXX").string();
  return mkdtemp(dir.data()) != nullptr ? dir : std::string();
}

Entity spot(int i, double lon, double lat) {
  Entity e = urbis::model::entity_from_text(
                 R"({"id": "urn:ngsi-ld:ParkingSpot:)" + std::to_string(i) +
                 R"(", "type": "ParkingSpot", "status": {"type": "Property", "value": "free", "observedAt": "2024-05-01T10:00:00Z"},
                 "occupancy": {"type": "Property", "value": 0.25, "unitCode": "P1"},
                 "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [)" +
                 std::to_string(lon) + "," + std::to_string(lat) + "]}}}")
                 .value();
  return e;
}

// A store with n spots spread over about 10 x 10 km around Brussels.
struct Loaded {
  std::string dir;
  ChangeBus bus;
  std::unique_ptr<SqliteEntityStore> store;
  explicit Loaded(int n) : dir(temp_dir()) {
    store = SqliteEntityStore::open(dir + "/state.db", bus).value();
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> lon(4.28, 4.42), lat(50.80, 50.89);
    for (int i = 0; i < n; ++i) store->create("", spot(i, lon(rng), lat(rng)), nullptr);
    (void)store->flush();
  }
  ~Loaded() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void BM_EntityCreate(benchmark::State& state) {
  const std::string dir = temp_dir();
  {
    ChangeBus bus;
    EntityStoreOptions o;
    o.synchronous = state.range(0) == 0 ? Synchronous::kNormal : Synchronous::kFull;
    auto store = SqliteEntityStore::open(dir + "/state.db", bus, o).value();
    const int batch = 1000;
    int next = 0;
    // Parsing is the API's cost, not the store's: copy a parsed entity instead.
    const Entity proto = spot(0, 4.35, 50.85);
    for (auto _ : state) {
      for (int i = 0; i < batch; ++i) {
        Entity e = proto;
        e.id = "urn:ngsi-ld:ParkingSpot:" + std::to_string(next++);
        store->create("", std::move(e), nullptr);
      }
      if (!store->flush().ok()) state.SkipWithError("write failed");
    }
    state.SetItemsProcessed(state.iterations() * batch);
    state.counters["batches"] = static_cast<double>(store->writer().stats().batches_committed);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_EntityCreate)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EntityGetById(benchmark::State& state) {
  static Loaded* loaded = new Loaded(100000);  // shared by repetitions; leaked on purpose (bench process)
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> pick(0, 99999);
  for (auto _ : state) {
    auto e = loaded->store->get("", "urn:ngsi-ld:ParkingSpot:" + std::to_string(pick(rng)));
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntityGetById);

void BM_GeoNear(benchmark::State& state) {
  static Loaded* loaded = new Loaded(100000);
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> lon(4.29, 4.41), lat(50.81, 50.88);
  std::vector<double> us;
  size_t found = 0;
  for (auto _ : state) {
    urbis::model::EntityQuery q;
    q.types = {"ParkingSpot"};
    q.geo = urbis::model::GeoQuery{
        urbis::model::GeoRelation::kNear,
        urbis::model::geo::Geometry::from_type_and_coordinates("Point", boost::json::array{lon(rng), lat(rng)}).value(),
        200.0, std::nullopt, "location"};
    q.limit = 100;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = loaded->store->query("", q);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    found += r->total;
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["matches"] = static_cast<double>(found) / static_cast<double>(us.size());
}
BENCHMARK(BM_GeoNear);

}  // namespace
