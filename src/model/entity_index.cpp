#include "model/entity_index.hpp"

#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <boost/iterator/function_output_iterator.hpp>

#include <utility>

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <unordered_map>

namespace urbis::model {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

namespace {

// One geometry of one GeoProperty instance of an entity.
struct GeoEntry {
  std::string property;
  std::string dataset_id;
  std::shared_ptr<const geo::Geometry> geometry;
};

struct Slot {
  std::shared_ptr<const Entity> entity;
  std::vector<GeoEntry> geo;
};

// The secondary indexes point at the nodes of Tenant::by_id (map nodes never
// move while they exist): no copies of ids, and no second lookup by id when a
// query walks them. Sets of nodes are ordered by id, the pagination order.
using Node = std::pair<const std::string, Slot>;
struct ById {
  bool operator()(const Node* a, const Node* b) const { return a->first < b->first; }
};
using IdSet = std::set<const Node*, ById>;
using RtreeValue = std::pair<geo::Box, const Node*>;
using Rtree = bgi::rtree<RtreeValue, bgi::rstar<16>>;

// The geometries of e's GeoProperties. A geometry whose GeoJSON equals the
// one `prev` (the entity's previous version, may be null) had for the same
// property is reused, not parsed again: most updates leave the location alone.
std::vector<GeoEntry> geo_entries(const Entity& e, const Entity* prev, const std::vector<GeoEntry>* prev_geo) {
  std::vector<GeoEntry> out;
  for (const auto& [name, instances] : e.attributes) {
    for (const AttributeInstance& a : instances) {
      if (a.kind != AttributeKind::kGeoProperty) continue;
      std::shared_ptr<const geo::Geometry> reused;
      if (prev && prev_geo) {
        const AttributeInstance* old = prev->find(name, a.dataset_id);
        if (old && old->kind == AttributeKind::kGeoProperty && old->value == a.value) {
          // prev_geo lists prev's parsable geometries in the same walk order;
          // find the one of this property whose bounds came from that value.
          for (const GeoEntry& g : *prev_geo) {
            if (g.property == name && g.dataset_id == a.dataset_id) {
              reused = g.geometry;
              break;
            }
          }
        }
      }
      if (reused) {
        out.push_back({name, a.dataset_id, std::move(reused)});
        continue;
      }
      Result<geo::Geometry> g = geo::Geometry::from_geojson(a.value);
      if (g.ok()) out.push_back({name, a.dataset_id, std::make_shared<const geo::Geometry>(std::move(g).value())});
    }
  }
  return out;
}

bool is_prunable(const GeoQuery& g) {
  switch (g.relation) {
    case GeoRelation::kNear: return g.max_distance_m.has_value();
    case GeoRelation::kDisjoint: return false;
    default: return true;
  }
}

bool geo_match(const GeoQuery& q, const geo::Point* ref, const geo::Geometry& g) {
  switch (q.relation) {
    case GeoRelation::kNear: {
      const double d = geo::distance_m(g, *ref);
      return (!q.max_distance_m || d <= *q.max_distance_m) && (!q.min_distance_m || d >= *q.min_distance_m);
    }
    case GeoRelation::kWithin: return geo::within(g, q.geometry);
    case GeoRelation::kContains: return geo::contains(g, q.geometry);
    case GeoRelation::kIntersects: return geo::intersects(g, q.geometry);
    case GeoRelation::kEquals: return geo::equals(g, q.geometry);
    case GeoRelation::kDisjoint: return geo::disjoint(g, q.geometry);
    case GeoRelation::kOverlaps: return geo::overlaps(g, q.geometry);
  }
  return false;
}

template <typename Set>
bool any_of_in(const std::vector<std::string>& wanted, const Set& have) {
  return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) { return have.count(w) > 0; });
}

}  // namespace

struct EntityIndex::Tenant {
  std::map<std::string, Slot, std::less<>> by_id;
  std::unordered_map<std::string, IdSet> by_type;
  std::unordered_map<std::string, IdSet> by_attr;
  std::unordered_map<std::string, Rtree> geo;  // GeoProperty name -> boxes

  static void drop(std::unordered_map<std::string, IdSet>& m, const std::string& key, const Node* id) {
    auto it = m.find(key);
    if (it == m.end()) return;
    it->second.erase(id);
    if (it->second.empty()) m.erase(it);
  }

  void unlink_geo(const Node* id, const std::vector<GeoEntry>& entries) {
    for (const GeoEntry& g : entries) {
      auto it = geo.find(g.property);
      if (it == geo.end()) continue;
      it->second.remove(RtreeValue(g.geometry->bounds(), id));
      if (it->second.empty()) geo.erase(it);
    }
  }

  void link_geo(const Node* id, const std::vector<GeoEntry>& entries) {
    for (const GeoEntry& g : entries) geo[g.property].insert(RtreeValue(g.geometry->bounds(), id));
  }

  void unlink(const Node* id) {
    const Slot& s = id->second;
    for (const std::string& t : s.entity->types) drop(by_type, t, id);
    for (const auto& [name, inst] : s.entity->attributes) drop(by_attr, name, id);
    unlink_geo(id, s.geo);
  }

  void link(const Node* id) {
    const Slot& s = id->second;
    for (const std::string& t : s.entity->types) by_type[t].insert(id);
    for (const auto& [name, inst] : s.entity->attributes) by_attr[name].insert(id);
    link_geo(id, s.geo);
  }

  // The entity at `id` changed from `old` to its current slot: moves only the
  // index entries that differ. Most updates change values, not the set of
  // types, attributes or geometry boxes, and then touch no index at all (the
  // secondary indexes hold nodes, which stay put).
  void relink(const Node* id, const Slot& old) {
    const Slot& s = id->second;
    const Entity& before = *old.entity;
    const Entity& after = *s.entity;
    if (before.types != after.types) {
      for (const std::string& t : before.types)
        if (!after.has_type(t)) drop(by_type, t, id);
      for (const std::string& t : after.types)
        if (!before.has_type(t)) by_type[t].insert(id);
    }
    // Both attribute maps are ordered by name: one merge walk.
    auto a = before.attributes.begin();
    auto b = after.attributes.begin();
    while (a != before.attributes.end() || b != after.attributes.end()) {
      if (b == after.attributes.end() || (a != before.attributes.end() && a->first < b->first)) {
        drop(by_attr, a->first, id);
        ++a;
      } else if (a == before.attributes.end() || b->first < a->first) {
        by_attr[b->first].insert(id);
        ++b;
      } else {
        ++a;
        ++b;
      }
    }
    if (!same_boxes(old.geo, s.geo)) {
      unlink_geo(id, old.geo);
      link_geo(id, s.geo);
    }
  }

  static bool same_boxes(const std::vector<GeoEntry>& x, const std::vector<GeoEntry>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i].property != y[i].property) return false;
      const geo::Box& p = x[i].geometry->bounds();
      const geo::Box& q = y[i].geometry->bounds();
      if (p.min_corner().x() != q.min_corner().x() || p.min_corner().y() != q.min_corner().y() ||
          p.max_corner().x() != q.max_corner().x() || p.max_corner().y() != q.max_corner().y())
        return false;
    }
    return true;
  }
};

struct EntityIndex::Impl {
  mutable std::shared_mutex mu;
  std::map<std::string, Tenant, std::less<>> tenants;  // guarded by mu

  const Tenant* find(const std::string& tenant) const {
    auto it = tenants.find(tenant);
    return it == tenants.end() ? nullptr : &it->second;
  }
};

EntityIndex::EntityIndex() : impl_(std::make_unique<Impl>()) {}
EntityIndex::~EntityIndex() = default;

void EntityIndex::put(const std::string& tenant, std::shared_ptr<const Entity> e) {
  // Parse outside the exclusive lock, reusing the previous version's
  // geometries where the GeoJSON did not change (a reused geometry is the
  // parse of an equal value, so this is right even if another put slips in).
  std::shared_ptr<const Entity> prev;
  std::vector<GeoEntry> prev_geo;
  {
    std::shared_lock read(impl_->mu);
    if (const Tenant* t = impl_->find(tenant)) {
      auto it = t->by_id.find(e->id);
      if (it != t->by_id.end()) {
        prev = it->second.entity;
        prev_geo = it->second.geo;
      }
    }
  }
  Slot fresh{e, geo_entries(*e, prev.get(), &prev_geo)};
  std::unique_lock lock(impl_->mu);
  Tenant& t = impl_->tenants[tenant];
  auto [it, inserted] = t.by_id.try_emplace(e->id);
  if (inserted) {
    it->second = std::move(fresh);
    t.link(&*it);
    return;
  }
  Slot old = std::exchange(it->second, std::move(fresh));
  t.relink(&*it, old);
  lock.unlock();  // `old` (the previous entity) is freed outside the lock
}

void EntityIndex::erase(const std::string& tenant, const std::string& id) {
  std::shared_ptr<const Entity> old;  // released after the lock
  std::unique_lock lock(impl_->mu);
  auto tit = impl_->tenants.find(tenant);
  if (tit == impl_->tenants.end()) return;
  Tenant& t = tit->second;
  auto it = t.by_id.find(id);
  if (it == t.by_id.end()) return;
  t.unlink(&*it);
  old = std::move(it->second.entity);
  t.by_id.erase(it);
  if (t.by_id.empty()) impl_->tenants.erase(tit);
}

std::shared_ptr<const Entity> EntityIndex::get(const std::string& tenant, const std::string& id) const {
  std::shared_lock lock(impl_->mu);
  const Tenant* t = impl_->find(tenant);
  if (t == nullptr) return nullptr;
  auto it = t->by_id.find(id);
  return it == t->by_id.end() ? nullptr : it->second.entity;
}

Result<QueryResult> EntityIndex::query(const std::string& tenant, const EntityQuery& q) const {
  // Validate before locking.
  std::optional<std::regex> pattern;
  if (!q.id_pattern.empty()) {
    try {
      pattern.emplace(q.id_pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return InvalidArgument("idPattern '" + q.id_pattern + "' is not a valid regular expression: " + e.what());
    }
  }
  std::optional<geo::Point> ref;
  if (q.geo) {
    const GeoQuery& g = *q.geo;
    if (g.relation == GeoRelation::kNear) {
      ref = g.geometry.as_point();
      if (!ref) return InvalidArgument("georel near needs a Point geometry");
      if (!g.max_distance_m && !g.min_distance_m) return InvalidArgument("georel near needs maxDistance or minDistance");
      if ((g.max_distance_m && !(*g.max_distance_m >= 0)) || (g.min_distance_m && !(*g.min_distance_m >= 0)))
        return InvalidArgument("georel near: distances must be non-negative numbers");
    }
    if (g.property.empty()) return InvalidArgument("geoproperty must not be empty");
  }

  QueryResult out;
  std::shared_lock lock(impl_->mu);
  const Tenant* t = impl_->find(tenant);
  if (t == nullptr) return out;

  // Candidates in id order: from the most selective index the query names.
  std::vector<const Node*> candidates;
  // Nodes whose geo predicate the R-tree stage already proved (near, point
  // geometries): the exact check would only repeat it.
  std::vector<const Node*> geo_proved;
  const IdSet* single = nullptr;  // iterate a set directly instead of copying it
  bool all = false;
  if (!q.ids.empty()) {
    for (const std::string& id : q.ids)
      if (auto it = t->by_id.find(id); it != t->by_id.end()) candidates.push_back(&*it);
  } else if (q.geo && is_prunable(*q.geo)) {
    auto rt = t->geo.find(q.geo->property);
    if (rt != t->geo.end()) {
      const geo::Box box = q.geo->relation == GeoRelation::kNear ? geo::box_around(*ref, *q.geo->max_distance_m)
                                                                 : q.geo->geometry.bounds();
      const GeoQuery& g = *q.geo;
      rt->second.query(bgi::intersects(box), boost::make_function_output_iterator([&](const RtreeValue& v) {
        // A point's box is the point: decide `near` here, without touching the
        // entity (a cache miss or several per candidate on a large city).
        const geo::Box& b = v.first;
        if (ref && b.min_corner().x() == b.max_corner().x() && b.min_corner().y() == b.max_corner().y()) {
          const double d = geo::haversine_m(*ref, b.min_corner());
          if ((g.max_distance_m && d > *g.max_distance_m) || (g.min_distance_m && d < *g.min_distance_m)) return;
          geo_proved.push_back(v.second);
        }
        candidates.push_back(v.second);
      }));
    }
  } else if (!q.types.empty() || !q.attributes.empty()) {
    const auto& m = !q.types.empty() ? t->by_type : t->by_attr;
    const auto& keys = !q.types.empty() ? q.types : q.attributes;
    if (keys.size() == 1) {
      auto it = m.find(keys.front());
      if (it != m.end()) single = &it->second;
    } else {
      for (const std::string& k : keys)
        if (auto it = m.find(k); it != m.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    }
  } else {
    all = true;
  }
  if (!single && !all) {
    std::sort(candidates.begin(), candidates.end(), ById());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    std::sort(geo_proved.begin(), geo_proved.end());  // by address, for binary search
  }

  auto consider = [&](const Node* n) -> Status {
    const Slot& s = n->second;
    const Entity& e = *s.entity;
    if (!q.types.empty() && std::none_of(q.types.begin(), q.types.end(), [&](const std::string& ty) {
          return e.has_type(ty);
        }))
      return Status::Ok();
    if (!q.attributes.empty() && !any_of_in(q.attributes, e.attributes)) return Status::Ok();
    if (pattern) {
      try {
        if (!std::regex_search(e.id, *pattern)) return Status::Ok();
      } catch (const std::regex_error& err) {
        return InvalidArgument("idPattern '" + q.id_pattern + "' could not be evaluated: " + err.what());
      }
    }
    if (q.geo && !std::binary_search(geo_proved.begin(), geo_proved.end(), n)) {
      bool hit = false;
      for (const GeoEntry& g : s.geo) {
        if (g.property == q.geo->property && geo_match(*q.geo, ref ? &*ref : nullptr, *g.geometry)) {
          hit = true;
          break;
        }
      }
      if (!hit) return Status::Ok();
    }
    if (q.filter && !q.filter(e)) return Status::Ok();
    const size_t rank = out.total++;
    if (rank >= q.offset && rank - q.offset < q.limit) out.entities.push_back(s.entity);
    return Status::Ok();
  };

  if (all) {
    for (const Node& n : t->by_id)
      if (Status st = consider(&n); !st.ok()) return st;
  } else if (single) {
    for (const Node* n : *single)
      if (Status st = consider(n); !st.ok()) return st;
  } else {
    for (const Node* n : candidates)
      if (Status st = consider(n); !st.ok()) return st;
  }
  return out;
}

std::vector<TypeInfo> EntityIndex::types(const std::string& tenant) const {
  std::vector<TypeInfo> out;
  std::shared_lock lock(impl_->mu);
  const Tenant* t = impl_->find(tenant);
  if (t == nullptr) return out;
  for (const auto& [type, ids] : t->by_type) {
    TypeInfo info{type, ids.size(), {}};
    std::set<std::string> names;
    for (const Node* n : ids)
      for (const auto& [name, inst] : n->second.entity->attributes) names.insert(name);
    info.attribute_names.assign(names.begin(), names.end());
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const TypeInfo& a, const TypeInfo& b) { return a.type < b.type; });
  return out;
}

std::vector<std::pair<std::string, size_t>> EntityIndex::attributes(const std::string& tenant) const {
  std::vector<std::pair<std::string, size_t>> out;
  std::shared_lock lock(impl_->mu);
  const Tenant* t = impl_->find(tenant);
  if (t == nullptr) return out;
  for (const auto& [name, ids] : t->by_attr) out.emplace_back(name, ids.size());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> EntityIndex::tenants() const {
  std::vector<std::string> out;
  std::shared_lock lock(impl_->mu);
  for (const auto& [name, t] : impl_->tenants) out.push_back(name);
  return out;
}

size_t EntityIndex::size(const std::string& tenant) const {
  std::shared_lock lock(impl_->mu);
  const Tenant* t = impl_->find(tenant);
  return t == nullptr ? 0 : t->by_id.size();
}

}  // namespace urbis::model
