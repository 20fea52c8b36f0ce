#include "ingest/json_ingest.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <climits>

#include "common/log.hpp"
#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::ingest {

namespace json = boost::json;

namespace {

Result<int64_t> time_of(const json::value& v, std::string_view what) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= uint64_t(INT64_MAX)) return static_cast<int64_t>(v.as_uint64());
  if (v.is_string()) {
    if (auto t = model::parse_datetime_ms(std::string_view(v.as_string()))) return *t;
    return InvalidArgument(std::string(what) + ": '" + std::string(v.as_string()) +
                           "' is not an ISO 8601 date-time such as 2026-11-25T08:15:00Z");
  }
  return InvalidArgument(std::string(what) + ": expected an ISO 8601 string or epoch milliseconds");
}

}  // namespace

Result<Decoded> decode_json_measurements(std::string_view topic_rest, std::string_view payload, int64_t now_ms,
                                         std::string_view idempotency_key) {
  // <tenant>/<type>/<id>
  auto s1 = topic_rest.find('/');
  auto s2 = s1 == std::string_view::npos ? s1 : topic_rest.find('/', s1 + 1);
  if (s2 == std::string_view::npos || topic_rest.find('/', s2 + 1) != std::string_view::npos)
    return InvalidArgument("topic must be <prefix>/<tenant>/<entity type>/<entity id>");
  std::string_view tenant = topic_rest.substr(0, s1);
  std::string_view type = topic_rest.substr(s1 + 1, s2 - s1 - 1);
  std::string_view id = topic_rest.substr(s2 + 1);
  if (tenant.empty() || type.empty() || id.empty())
    return InvalidArgument("topic must be <prefix>/<tenant>/<entity type>/<entity id>, with no empty level");

  Decoded out;
  out.tenant = tenant == "default" ? "" : std::string(tenant);
  out.entity_type = std::string(type);
  out.entity_id = id.find(':') != std::string_view::npos ? std::string(id)
                                                          : "urn:ngsi-ld:" + std::string(type) + ":" + std::string(id);

  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(payload.data(), payload.size()), ec);
  if (ec) return InvalidArgument("payload is not JSON: " + ec.message());
  if (!doc.is_object()) return InvalidArgument("payload must be a JSON object of attributes");
  const auto& obj = doc.as_object();

  int64_t observed = now_ms;
  bool explicit_time = false;
  if (auto* t = obj.if_contains("observedAt")) {
    auto r = time_of(*t, "observedAt");
    if (!r.ok()) return r.status();
    observed = *r;
    explicit_time = true;
  }

  out.state.id = out.entity_id;
  out.state.types = {out.entity_type};
  for (const auto& kv : obj) {
    std::string name(kv.key());
    if (name == "observedAt" || name == "id" || name == "type") continue;
    // NGSI-LD forbids these characters in names (GS CIM 009, 4.6.2); an
    // empty name names nothing.
    if (name.empty() || name.find_first_of("<>\"'=;()") != std::string::npos ||
        std::any_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x20; })) {
      return InvalidArgument("attribute name '" + name + "' is empty or contains a forbidden character");
    }
    const json::value* v = &kv.value();
    std::string unit;
    int64_t t = observed;
    bool attr_time = explicit_time;
    if (v->is_object() && v->as_object().contains("value")) {
      const auto& o = v->as_object();
      if (auto* u = o.if_contains("unitCode")) {
        if (!u->is_string()) return InvalidArgument("attribute '" + name + "': unitCode must be a string");
        unit = std::string(u->as_string());
      }
      if (auto* ot = o.if_contains("observedAt")) {
        auto r = time_of(*ot, "attribute '" + name + "': observedAt");
        if (!r.ok()) return r.status();
        t = *r;
        attr_time = true;
      }
      v = &o.at("value");
    }
    if (v->is_null()) return InvalidArgument("attribute '" + name + "': value is null");

    tsdb::Measurement m;
    m.key = {out.tenant, out.entity_id, name, ""};
    m.observed_at_ms = t;
    if (v->is_number()) {
      m.value = tsdb::Value::of(v->to_number<double>());
    } else if (v->is_bool()) {
      m.value = tsdb::Value::of_bool(v->as_bool());
    } else if (v->is_string()) {
      m.value = tsdb::Value::of_string(std::string(v->as_string()));
    } else {
      m.value = tsdb::Value::of_json(model::to_json(*v));
    }
    // Keys are scoped to their series by the store (time_series_store.hpp),
    // so they need not repeat the entity or attribute.
    if (!idempotency_key.empty()) {
      m.idempotency_key = std::string(idempotency_key);
    } else if (attr_time) {
      // Same series, same instant: the same reading sent again.
      m.idempotency_key = "t" + std::to_string(t);
    }
    out.measurements.push_back(std::move(m));

    model::AttributeInstance inst;
    inst.kind = model::AttributeKind::kProperty;
    inst.value = *v;
    inst.observed_at_ms = t;
    inst.unit_code = std::move(unit);
    out.state.attributes[name].push_back(std::move(inst));
  }
  if (out.measurements.empty()) return InvalidArgument("payload has no attributes");
  return out;
}

JsonIngestSink::JsonIngestSink(std::string prefix, MeasurementWriter& writer, const Clock& clock)
    : prefix_(std::move(prefix) + "/"), writer_(writer), clock_(clock) {}

bool JsonIngestSink::wants(std::string_view topic) const {
  return topic.size() > prefix_.size() && topic.compare(0, prefix_.size(), prefix_) == 0;
}

void JsonIngestSink::ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) {
  std::string_view key;
  for (auto& [k, v] : msg->props.user_properties) {
    if (k == "idempotency-key") key = v;
  }
  auto decoded = decode_json_measurements(std::string_view(msg->topic).substr(prefix_.size()), msg->payload,
                                          clock_.unix_ms(), key);
  if (!decoded.ok()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    ULOG_DEBUG("ingest: '{}' from '{}' rejected: {}", msg->topic, who.client_id, decoded.status().message());
    done(decoded.status());
    return;
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);

  writer_.commit(std::move(*decoded), std::move(done));
}

}  // namespace urbis::ingest
