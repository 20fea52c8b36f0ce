#include "ngsild/api/history.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

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

// FNV-1a 64: a stable fingerprint of a value for an idempotency key.
uint64_t fingerprint(const tsdb::Value& v) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  mix(static_cast<unsigned char>(v.kind));
  unsigned char bits[sizeof(double)];
  std::memcpy(bits, &v.number, sizeof bits);
  for (unsigned char c : bits) mix(c);
  for (unsigned char c : v.text) mix(c);
  return h;
}

}  // namespace

std::vector<tsdb::Measurement> history_points(const std::string& tenant, const model::Entity& committed,
                                              const std::vector<std::string>* names) {
  std::vector<tsdb::Measurement> out;
  for (const auto& [name, instances] : committed.attributes) {
    if (names && std::find(names->begin(), names->end(), name) == names->end()) continue;
    for (const model::AttributeInstance& a : instances) {
      // Only the instances this write stamped: appending a datasetId instance
      // or updating one must not record its unchanged siblings again (an
      // instance without observedAt has no idempotency key to stop that).
      if (a.modified_at_ms != committed.modified_at_ms) continue;
      tsdb::Measurement m;
      m.key = {tenant, committed.id, name, a.dataset_id};
      m.observed_at_ms = a.observed_at_ms.value_or(a.modified_at_ms);
      m.value = value_of(a);
      if (a.observed_at_ms) {
        m.idempotency_key = "t" + std::to_string(*a.observed_at_ms);
      } else if (instances.size() > 1) {
        // Writes in the same millisecond (one group commit stamps them alike)
        // pass the filter above; this key makes an unchanged sibling the same
        // point again, while a new value in that millisecond is a new point.
        // Only siblings need it: a key costs a B-tree insert per point, which
        // a single-instance attribute (nearly every write) is spared.
        m.idempotency_key = "m" + std::to_string(a.modified_at_ms) + ":" + std::to_string(fingerprint(m.value));
      }
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace urbis::ngsild
