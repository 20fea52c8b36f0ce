#include "model/entity.hpp"

#include <algorithm>

namespace urbis::model {

std::string_view attribute_kind_name(AttributeKind k) {
  switch (k) {
    case AttributeKind::kProperty: return "Property";
    case AttributeKind::kRelationship: return "Relationship";
    case AttributeKind::kGeoProperty: return "GeoProperty";
    case AttributeKind::kLanguageProperty: return "LanguageProperty";
  }
  return "Property";
}

const AttributeInstance* Entity::find(std::string_view name, std::string_view dataset_id) const {
  auto it = attributes.find(std::string(name));
  if (it == attributes.end()) return nullptr;
  for (const AttributeInstance& a : it->second)
    if (a.dataset_id == dataset_id) return &a;
  return nullptr;
}

bool Entity::has_type(std::string_view type) const {
  return std::find(types.begin(), types.end(), type) != types.end();
}

namespace {

void stamp_instance(AttributeInstance& a, int64_t now_ms) {
  a.created_at_ms = a.modified_at_ms = now_ms;
  for (auto& [name, sub] : a.sub_attributes) stamp_instance(sub, now_ms);
}

void add_types(Entity& target, const std::vector<std::string>& types) {
  for (const std::string& t : types)
    if (!target.has_type(t)) target.types.push_back(t);
}

AttributeInstance* find_instance(std::vector<AttributeInstance>& v, std::string_view dataset_id) {
  for (AttributeInstance& a : v)
    if (a.dataset_id == dataset_id) return &a;
  return nullptr;
}

// Merge-patch of one instance onto an existing one (see merge_entity).
void merge_instance(AttributeInstance& cur, const AttributeInstance& patch, int64_t now_ms) {
  cur.kind = patch.kind;
  cur.value = patch.value;
  if (patch.observed_at_ms) cur.observed_at_ms = patch.observed_at_ms;
  if (!patch.unit_code.empty()) cur.unit_code = patch.unit_code;
  cur.modified_at_ms = now_ms;
  for (const auto& [name, sub] : patch.sub_attributes) {
    auto it = cur.sub_attributes.find(name);
    if (it == cur.sub_attributes.end()) {
      AttributeInstance fresh = sub;
      stamp_instance(fresh, now_ms);
      cur.sub_attributes.emplace(name, std::move(fresh));
    } else {
      merge_instance(it->second, sub, now_ms);
    }
  }
}

// `fresh` replaces `cur` wholesale, keeping cur's createdAt.
void replace_instance(AttributeInstance& cur, const AttributeInstance& fresh, int64_t now_ms) {
  const int64_t created = cur.created_at_ms;
  cur = fresh;
  stamp_instance(cur, now_ms);
  cur.created_at_ms = created;
}

}  // namespace

void stamp_new(Entity& e, int64_t now_ms) {
  e.created_at_ms = e.modified_at_ms = now_ms;
  for (auto& [name, instances] : e.attributes)
    for (AttributeInstance& a : instances) stamp_instance(a, now_ms);
}

Entity replace_entity(const Entity& current, Entity replacement, int64_t now_ms) {
  stamp_new(replacement, now_ms);
  replacement.created_at_ms = current.created_at_ms;
  return replacement;
}

void merge_entity(Entity& target, const Entity& patch, int64_t now_ms) {
  add_types(target, patch.types);
  for (const auto& [name, instances] : patch.attributes) {
    std::vector<AttributeInstance>& cur = target.attributes[name];
    for (const AttributeInstance& p : instances) {
      if (AttributeInstance* existing = find_instance(cur, p.dataset_id)) {
        merge_instance(*existing, p, now_ms);
      } else {
        cur.push_back(p);
        stamp_instance(cur.back(), now_ms);
      }
    }
  }
  target.modified_at_ms = now_ms;
}

std::vector<std::string> append_attributes(Entity& target, const Entity& attrs, AppendMode mode, int64_t now_ms) {
  std::vector<std::string> not_updated;
  bool changed = false;
  for (const auto& [name, instances] : attrs.attributes) {
    auto it = target.attributes.find(name);
    if (it == target.attributes.end() && mode == AppendMode::kUpdateOnly) {
      not_updated.push_back(name);
      continue;
    }
    std::vector<AttributeInstance>& cur = it != target.attributes.end() ? it->second : target.attributes[name];
    bool skipped = false;
    for (const AttributeInstance& a : instances) {
      AttributeInstance* existing = find_instance(cur, a.dataset_id);
      if (existing != nullptr) {
        if (mode == AppendMode::kNoOverwrite) {
          skipped = true;
          continue;
        }
        replace_instance(*existing, a, now_ms);
      } else {
        if (mode == AppendMode::kUpdateOnly) {
          skipped = true;
          continue;
        }
        cur.push_back(a);
        stamp_instance(cur.back(), now_ms);
      }
      changed = true;
    }
    if (cur.empty()) target.attributes.erase(name);  // nothing was added under a new name
    if (skipped) not_updated.push_back(name);
  }
  const size_t before = target.types.size();
  add_types(target, attrs.types);
  if (changed || target.types.size() != before) target.modified_at_ms = now_ms;
  return not_updated;
}

Status delete_attribute(Entity& target, std::string_view name, std::string_view dataset_id, bool all,
                        int64_t now_ms) {
  auto it = target.attributes.find(std::string(name));
  if (it == target.attributes.end()) return NotFound("attribute '" + std::string(name) + "' not found");
  if (all) {
    target.attributes.erase(it);
  } else {
    auto& v = it->second;
    auto pos = std::find_if(v.begin(), v.end(), [&](const AttributeInstance& a) { return a.dataset_id == dataset_id; });
    if (pos == v.end()) {
      return NotFound(dataset_id.empty()
                          ? "attribute '" + std::string(name) + "' has no default instance (no datasetId)"
                          : "attribute '" + std::string(name) + "' has no instance with datasetId '" +
                                std::string(dataset_id) + "'");
    }
    v.erase(pos);
    if (v.empty()) target.attributes.erase(it);
  }
  target.modified_at_ms = now_ms;
  return Status::Ok();
}

}  // namespace urbis::model
