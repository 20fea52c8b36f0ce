#include "ngsild/api/history.hpp"

#include <algorithm>

#include "model/json_format.hpp"

namespace urbis::ngsild {

namespace {

tsdb::Value value_of(const model::AttributeInstance& a) {
  const boost::json::value& v = a.value;
  if (a.kind == model::AttributeKind::kProperty || a.kind == model::AttributeKind::kRelationship) {
    if (v.is_number()) return tsdb::Value::of(v.to_number<double>());
    if (v.is_bool()) return tsdb::Value::of_bool(v.as_bool());
    if (v.is_string()) return tsdb::Value::of_string(std::string(v.as_string()));
  }
  return tsdb::Value::of_json(model::to_json(v));
}

}  // namespace

std::vector<tsdb::Measurement> history_points(const std::string& tenant, const model::Entity& committed,
                                              const std::vector<std::string>* names) {
  std::vector<tsdb::Measurement> out;
  for (const auto& [name, instances] : committed.attributes) {
    if (names && std::find(names->begin(), names->end(), name) == names->end()) continue;
    for (const model::AttributeInstance& a : instances) {
      // Only the instances this write stamped: appending a datasetId instance
      // or updating one must not record its unchanged siblings again. The
      // store gives every write of an entity its own modifiedAt, so this is
      // exact even for writes in one millisecond.
      if (a.modified_at_ms != committed.modified_at_ms) continue;
      tsdb::Measurement m;
      m.key = {tenant, committed.id, name, a.dataset_id};
      m.observed_at_ms = a.observed_at_ms.value_or(a.modified_at_ms);
      m.value = value_of(a);
      if (a.observed_at_ms) m.idempotency_key = "t" + std::to_string(*a.observed_at_ms);
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace urbis::ngsild
