// NGSI-LD q matching cost per entity; reported, not asserted.
//
//   BM_QMatchTypical   a typical subscription/query filter (numeric range on
//                      a property, string equality, observedAt window, a
//                      Relationship object) against one matching entity.
//   BM_QMatchPattern   a ~= pattern on a string property.
//   BM_QParse          parsing the typical expression.
#include <benchmark/benchmark.h>

#include "model/entity_json.hpp"
#include "ngsild/query/query.hpp"

namespace {

using urbis::model::Entity;
using urbis::ngsild::QExpression;

Entity spot() {
  Entity e = urbis::model::entity_from_text(R"({
    "id": "urn:ngsi-ld:ParkingSpot:42", "type": "ParkingSpot",
    "status": {"type": "Property", "value": "free", "observedAt": "2024-05-01T10:00:00Z"},
    "occupancy": {"type": "Property", "value": 0.25, "unitCode": "P1"},
    "name": {"type": "Property", "value": "Rathausplatz spot 42"},
    "refParkingSite": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingSite:7"},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [13.4, 52.5]}}
  })").value();
  urbis::model::stamp_new(e, 1714557600000);
  return e;
}

constexpr const char* kTypical =
    R"(occupancy==0..0.5;status=="free","reserved";status.observedAt>=2024-05-01T00:00:00Z;)"
    R"(refParkingSite==urn:ngsi-ld:ParkingSite:7)";

void BM_QMatchTypical(benchmark::State& state) {
  const Entity e = spot();
  const QExpression q = QExpression::parse(kTypical).value();
  for (auto _ : state) benchmark::DoNotOptimize(q.matches(e));
}
BENCHMARK(BM_QMatchTypical);

void BM_QMatchPattern(benchmark::State& state) {
  const Entity e = spot();
  const QExpression q = QExpression::parse("name~=spot [0-9]+$").value();
  for (auto _ : state) benchmark::DoNotOptimize(q.matches(e));
}
BENCHMARK(BM_QMatchPattern);

void BM_QParse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(QExpression::parse(kTypical));
}
BENCHMARK(BM_QParse);

}  // namespace
