#include "ngsild/temporal/temporal_view.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include "model/entity_json.hpp"

namespace urbis::ngsild::temporal {

namespace json = boost::json;

namespace {

// One series of the answer and its points (oldest first once fetched).
struct SeriesData {
  size_t entity = 0;          // index into the entity list
  std::string attribute;      // stored name
  std::string dataset_id;
  model::AttributeKind kind = model::AttributeKind::kProperty;
  std::string unit_code;
  std::vector<tsdb::Point> points;
  bool truncated = false;
  std::vector<AggregatedPeriod> periods;  // kAggregated
};

json::value point_value(const tsdb::Value& v) {
  switch (v.kind) {
    case tsdb::Value::Kind::kNumber: return v.number;
    case tsdb::Value::Kind::kBool: return v.number != 0;
    case tsdb::Value::Kind::kString: return json::string(v.text);
    case tsdb::Value::Kind::kJson: {
      boost::system::error_code ec;
      auto parsed = json::parse(v.text, ec);
      return ec ? json::value(json::string(v.text)) : parsed;
    }
  }
  return nullptr;
}

std::string dataset_tag(const std::string& dataset_id) {
  if (dataset_id.empty()) return "default";
  uint32_t h = 2166136261u;  // FNV-1a: short, stable, no dependency
  for (unsigned char c : dataset_id) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

// The member holding the value of one instance, and of a simplified list.
std::string_view value_member(model::AttributeKind k) {
  switch (k) {
    case model::AttributeKind::kRelationship: return "object";
    case model::AttributeKind::kLanguageProperty: return "languageMap";
    default: return "value";
  }
}
std::string_view values_member(model::AttributeKind k) {
  switch (k) {
    case model::AttributeKind::kRelationship: return "objects";
    case model::AttributeKind::kLanguageProperty: return "languageMaps";
    default: return "values";
  }
}

json::object attribute_head(const SeriesData& s) {
  json::object o;
  o["type"] = model::attribute_kind_name(s.kind);
  return o;
}

json::value render_series(const SeriesData& s, const TemporalParams& p) {
  switch (p.format) {
    case Format::kNormalized: {
      json::array arr;
      arr.reserve(s.points.size());
      const std::string prefix = "urn:ngsi-ld:Instance:" + dataset_tag(s.dataset_id) + "-";
      int64_t prev_t = std::numeric_limits<int64_t>::min();
      int n = 0;
      for (const auto& pt : s.points) {
        n = pt.t_ms == prev_t ? n + 1 : 0;
        prev_t = pt.t_ms;
        json::object o = attribute_head(s);
        o[value_member(s.kind)] = point_value(pt.value);
        o["observedAt"] = model::format_datetime_ms(pt.t_ms);
        o["instanceId"] = prefix + std::to_string(pt.t_ms) + "-" + std::to_string(n);
        if (!s.unit_code.empty()) o["unitCode"] = s.unit_code;
        if (!s.dataset_id.empty()) o["datasetId"] = s.dataset_id;
        arr.emplace_back(std::move(o));
      }
      return arr;
    }
    case Format::kTemporalValues: {
      json::object o = attribute_head(s);
      json::array values;
      values.reserve(s.points.size());
      for (const auto& pt : s.points) {
        json::array pair;
        pair.emplace_back(point_value(pt.value));
        pair.emplace_back(model::format_datetime_ms(pt.t_ms));
        values.emplace_back(std::move(pair));
      }
      o[values_member(s.kind)] = std::move(values);
      if (!s.dataset_id.empty()) o["datasetId"] = s.dataset_id;
      return o;
    }
    case Format::kAggregated: {
      json::object o = attribute_head(s);
      for (size_t m = 0; m < p.aggr_methods.size(); ++m) {
        json::array rows;
        for (const auto& period : s.periods) {
          json::array row;
          row.emplace_back(period.values[m]);
          row.emplace_back(model::format_datetime_ms(period.start_ms));
          row.emplace_back(model::format_datetime_ms(period.end_ms));
          rows.emplace_back(std::move(row));
        }
        o[aggr_method_name(p.aggr_methods[m])] = std::move(rows);
      }
      if (!s.dataset_id.empty()) o["datasetId"] = s.dataset_id;
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<TemporalAnswer> build_temporal_view(tsdb::TimeSeriesStore& history,
                                           const std::vector<std::shared_ptr<const model::Entity>>& entities,
                                           const ViewRequest& request, const ViewOptions& options) {
  const TemporalParams& p = request.params;
  const size_t max = std::max<size_t>(1, options.max_instances);
  const bool backward = p.last_n.has_value();
  // lastN within the server limit is answered whole; beyond it, pages go backward.
  const size_t fetch = backward && *p.last_n <= max ? *p.last_n : max + 1;

  std::vector<SeriesData> series;
  for (size_t ei = 0; ei < entities.size(); ++ei) {
    const model::Entity& e = *entities[ei];
    auto keys = history.series_of(request.tenant, e.id);
    if (!keys.ok()) return keys.status();
    std::sort(keys->begin(), keys->end());
    for (const auto& key : *keys) {
      if (!request.attrs.empty() &&
          std::find(request.attrs.begin(), request.attrs.end(), key.attribute) == request.attrs.end()) {
        continue;
      }
      SeriesData s;
      s.entity = ei;
      s.attribute = key.attribute;
      s.dataset_id = key.dataset_id;
      if (const auto* inst = e.find(key.attribute, key.dataset_id)) {
        s.kind = inst->kind;
        s.unit_code = inst->unit_code;
      } else if (auto it = e.attributes.find(key.attribute); it != e.attributes.end() && !it->second.empty()) {
        s.kind = it->second.front().kind;
      }
      if (p.format == Format::kAggregated) {
        auto periods = aggregate_series(history, key, p, options.aggregation);
        if (!periods.ok()) return periods.status();
        s.periods = std::move(*periods);
        if (s.periods.empty()) continue;
      } else {
        tsdb::RangeQuery q;
        q.key = key;
        q.from_ms = p.from_ms();
        q.to_ms = p.to_ms();
        q.limit = fetch;
        q.descending = backward;
        auto pts = history.range(q);
        if (!pts.ok()) return pts.status();
        if (pts->empty()) continue;
        s.points = std::move(*pts);  // newest first when backward
        s.truncated = s.points.size() > max;
      }
      series.push_back(std::move(s));
    }
  }

  TemporalAnswer answer;
  // --- temporal pagination: cut every series to the range in which all are complete
  const bool cut = std::any_of(series.begin(), series.end(), [](const SeriesData& s) { return s.truncated; });
  if (cut) {
    // The time of the last instance a truncated series may keep: its max-th,
    // backed off past instances sharing that millisecond with the first one
    // left out.
    auto cut_time = [&](const std::vector<tsdb::Point>& pts) {
      int64_t t = pts[max - 1].t_ms;
      if (pts[max].t_ms == t) {
        for (size_t i = max - 1; i-- > 0;) {
          if (pts[i].t_ms != t) return pts[i].t_ms;
        }
      }
      return t;
    };
    int64_t end = backward ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    for (const auto& s : series) {
      if (!s.truncated) continue;
      end = backward ? std::max(end, cut_time(s.points)) : std::min(end, cut_time(s.points));
    }
    int64_t start = backward ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    for (auto& s : series) {
      if (s.points.size() > max) s.points.resize(max);
      std::erase_if(s.points, [&](const tsdb::Point& pt) { return backward ? pt.t_ms < end : pt.t_ms > end; });
      if (!s.points.empty()) {
        start = backward ? std::max(start, s.points.front().t_ms) : std::min(start, s.points.front().t_ms);
      }
    }
    if (p.timerel == TimeRel::kAfter || (p.timerel == TimeRel::kBetween && !backward)) start = p.time_at_ms;
    if (backward && p.timerel == TimeRel::kBefore) start = p.time_at_ms;
    if (backward && p.timerel == TimeRel::kBetween) start = p.end_time_at_ms;
    answer.content_range = "date-time " + model::format_datetime_ms(start) + "-" + model::format_datetime_ms(end) +
                           "/" + (backward ? std::to_string(*p.last_n) : std::string("*"));
  }
  if (backward) {
    for (auto& s : series) std::reverse(s.points.begin(), s.points.end());
  }

  // --- render, entity by entity, attributes in stored-name order
  std::vector<json::object> objects(entities.size());
  for (size_t ei = 0; ei < entities.size(); ++ei) {
    const model::Entity& e = *entities[ei];
    json::object& o = objects[ei];
    o["id"] = e.id;
    if (e.types.size() == 1) {
      o["type"] = request.from_stored(e.types.front());
    } else {
      json::array types;
      for (const auto& t : e.types) types.emplace_back(json::string(request.from_stored(t)));
      o["type"] = std::move(types);
    }
    if (p.sys_attrs) {
      o["createdAt"] = model::format_datetime_ms(e.created_at_ms);
      o["modifiedAt"] = model::format_datetime_ms(e.modified_at_ms);
    }
  }
  for (size_t i = 0; i < series.size();) {
    size_t j = i;
    while (j < series.size() && series[j].entity == series[i].entity && series[j].attribute == series[i].attribute) {
      ++j;
    }
    json::object& o = objects[series[i].entity];
    const std::string name = request.from_stored(series[i].attribute);
    if (p.format == Format::kNormalized) {
      json::array all;
      for (size_t k = i; k < j; ++k) {
        auto part = render_series(series[k], p);
        for (auto& inst : part.as_array()) all.emplace_back(std::move(inst));
      }
      o[name] = std::move(all);
    } else if (j - i == 1) {
      o[name] = render_series(series[i], p);
    } else {
      json::array parts;
      for (size_t k = i; k < j; ++k) parts.emplace_back(render_series(series[k], p));
      o[name] = std::move(parts);
    }
    i = j;
  }
  for (auto& o : objects) answer.entities.emplace_back(std::move(o));
  return answer;
}

}  // namespace urbis::ngsild::temporal
