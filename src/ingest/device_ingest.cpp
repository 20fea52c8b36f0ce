#include "ingest/device_ingest.hpp"

#include <boost/json.hpp>

#include <utility>

#include "common/log.hpp"
#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::ingest {

namespace json = boost::json;

namespace {

constexpr std::string_view kUrbisPrefix = "urbis/";
constexpr std::string_view kChirpstackPrefix = "application/";
constexpr std::string_view kTtsPrefix = "v3/";
constexpr uint32_t kLogBurst = 10;
constexpr auto kLogWindow = std::chrono::seconds(10);

// urbis/<tenant>/<id>/up[/<format>]
struct UrbisTopic {
  std::string_view tenant;
  std::string_view device_id;
  std::string_view format;  // empty = none
};

std::optional<UrbisTopic> parse_urbis_topic(std::string_view topic) {
  if (topic.substr(0, kUrbisPrefix.size()) != kUrbisPrefix) return std::nullopt;
  std::string_view rest = topic.substr(kUrbisPrefix.size());
  std::string_view level[4];
  size_t n = 0;
  while (n < 4) {
    auto slash = rest.find('/');
    level[n++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      rest = {};
      break;
    }
    rest = rest.substr(slash + 1);
    if (n == 4) return std::nullopt;  // a fifth level
  }
  if (n < 3 || level[2] != "up" || level[0].empty() || level[1].empty()) return std::nullopt;
  if (n == 4 && level[3].empty()) return std::nullopt;
  return UrbisTopic{level[0], level[1], n == 4 ? level[3] : std::string_view{}};
}

// v3/<app>@<tenant>/devices/<device>/up
bool is_tts_uplink_topic(std::string_view topic) {
  if (topic.substr(0, kTtsPrefix.size()) != kTtsPrefix) return false;
  auto rest = topic.substr(kTtsPrefix.size());
  auto s1 = rest.find('/');
  if (s1 == std::string_view::npos || s1 == 0) return false;
  rest = rest.substr(s1 + 1);
  constexpr std::string_view kDevices = "devices/";
  if (rest.substr(0, kDevices.size()) != kDevices) return false;
  rest = rest.substr(kDevices.size());
  auto s2 = rest.find('/');
  return s2 != std::string_view::npos && s2 > 0 && rest.substr(s2) == "/up";
}

// A topic level cannot hold '+' (a wildcard), so topics spell the SenML
// media types with '-' (senml-json, senml-cbor), which format_from_name takes.
std::optional<devices::Format> topic_format(std::string_view level) { return devices::format_from_name(level); }

tsdb::Value history_value(const json::value& v) {
  if (v.is_number()) return tsdb::Value::of(v.to_number<double>());
  if (v.is_bool()) return tsdb::Value::of_bool(v.as_bool());
  if (v.is_string()) return tsdb::Value::of_string(std::string(v.as_string()));
  return tsdb::Value::of_json(model::to_json(v));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Decoded to_decoded(const devices::Device& device, const devices::Mapped& mapped, int64_t fallback_ms,
                   std::string_view key) {
  Decoded out;
  out.tenant = device.tenant;
  out.entity_id = mapped.entity_id;
  out.entity_type = mapped.entity_type;
  out.state.id = mapped.entity_id;
  out.state.types = {mapped.entity_type};
  for (const auto& a : mapped.attributes) {
    const int64_t t = a.time_ms.value_or(fallback_ms);
    tsdb::Measurement m;
    m.key = {out.tenant, out.entity_id, a.name, ""};
    m.observed_at_ms = t;
    m.value = history_value(a.value);
    // Keys are scoped to their series by the store, so one message key
    // serves every attribute of it.
    if (!key.empty()) {
      m.idempotency_key = std::string(key);
    } else if (a.time_ms) {
      m.idempotency_key = "t" + std::to_string(t);  // same series, same instant: the same reading again
    }
    out.measurements.push_back(std::move(m));

    model::AttributeInstance inst;
    inst.kind = model::AttributeKind::kProperty;
    inst.value = a.value;
    inst.observed_at_ms = t;
    inst.unit_code = a.unit_code;
    auto& slot = out.state.attributes[a.name];
    slot.clear();  // two readings for one attribute in one message: the last one is the state
    slot.push_back(std::move(inst));
  }
  if (out.state.attributes.empty()) return out;
  if (device.location) {
    model::AttributeInstance loc;
    loc.kind = model::AttributeKind::kGeoProperty;
    json::array coords{device.location->lon, device.location->lat};
    if (device.location->alt) coords.push_back(*device.location->alt);
    loc.value = json::object{{"type", "Point"}, {"coordinates", std::move(coords)}};
    out.state.attributes["location"].push_back(std::move(loc));
  }
  model::AttributeInstance ref;
  ref.kind = model::AttributeKind::kRelationship;
  ref.value = json::string("urn:ngsi-ld:Device:" + device.id);
  out.state.attributes["refDevice"].push_back(std::move(ref));
  return out;
}

DeviceIngestSink::DeviceIngestSink(devices::DeviceRegistry& registry, const devices::ProfileSet& profiles,
                                   MeasurementWriter& writer, const Clock& clock, model::ChangeBus* bus)
    : registry_(registry), profiles_(profiles), writer_(writer), clock_(clock), bus_(bus) {}

bool DeviceIngestSink::wants(std::string_view topic) const {
  if (parse_urbis_topic(topic)) return true;
  if (topic.substr(0, kChirpstackPrefix.size()) == kChirpstackPrefix) {
    auto t = devices::parse_chirpstack_topic(topic);
    return t && t->event == "up";
  }
  return is_tts_uplink_topic(topic);
}

DeviceIngestStats DeviceIngestSink::stats() const {
  return {accepted_.load(std::memory_order_relaxed), rejected_.load(std::memory_order_relaxed),
          empty_.load(std::memory_order_relaxed), alerts_.load(std::memory_order_relaxed)};
}

void DeviceIngestSink::refuse(std::string_view device_id, std::string_view source, const Status& st, Done& done) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (!device_id.empty() && st.code() == Code::kInvalidArgument) registry_.record_error(device_id, st.message());
  uint64_t left_out = 0;
  bool log = false;
  {
    std::lock_guard lock(log_mu_);
    auto now = std::chrono::steady_clock::now();
    if (now - log_window_start_ >= kLogWindow) {
      left_out = suppressed_;
      suppressed_ = 0;
      logged_in_window_ = 0;
      log_window_start_ = now;
    }
    if (logged_in_window_ < kLogBurst) {
      ++logged_in_window_;
      log = true;
    } else {
      ++suppressed_;
    }
  }
  if (left_out > 0) ULOG_WARN("device ingest: {} more refused messages were not logged", left_out);
  if (log) ULOG_WARN("device ingest: {} from device '{}' refused: {}", source, device_id, st.message());
  done(st);
}

void DeviceIngestSink::ingest(const mqtt::ClientIdentity& who, const mqtt::MessagePtr& msg, Done done) {
  std::string_view key;
  for (auto& [k, v] : msg->props.user_properties) {
    if (k == "idempotency-key") key = v;
  }
  const std::string& topic = msg->topic;
  if (auto t = parse_urbis_topic(topic)) {
    auto device = registry_.get(t->device_id);
    if (!device) {
      return refuse(t->device_id, topic, NotFound("no device '" + std::string(t->device_id) + "' is registered"),
                    done);
    }
    if (devices::tenant_to_wire(device->tenant) != t->tenant) {
      return refuse(t->device_id, topic,
                    Status(Code::kPermissionDenied, "device '" + device->id + "' belongs to tenant '" +
                                                        std::string(devices::tenant_to_wire(device->tenant)) + "'"),
                    done);
    }
    std::optional<devices::Format> format;
    if (!t->format.empty()) {
      format = topic_format(t->format);
      if (!format) {
        return refuse(device->id, topic,
                      InvalidArgument("topic names format '" + std::string(t->format) +
                                      "'; known: json, senml (senml-json), senml-cbor, lpp, chirpstack, tts"),
                      done);
      }
    }
    return process(*device, format, msg->payload, key, topic, nullptr, std::move(done));
  }

  // A network server's uplink: the device is known by its DevEUI (or, for
  // The Things Stack without one, its device id), which only the payload has
  // for TTS; ChirpStack also puts it in the topic.
  const bool chirpstack = topic.substr(0, kChirpstackPrefix.size()) == kChirpstackPrefix;
  const devices::Format envelope = chirpstack ? devices::Format::kChirpstackV4 : devices::Format::kTtsV3;
  std::string id;
  if (chirpstack) {
    if (auto t = devices::parse_chirpstack_topic(topic)) id = t->dev_eui;
  } else {
    // Decode once without an inner format only to learn the device; the
    // real decode (with the profile's inner format) follows.
    devices::DecodeOptions o;
    o.now_ms = clock_.unix_ms();
    auto probe = devices::decode(envelope, msg->payload, o);
    if (!probe.ok()) return refuse("", topic, probe.status(), done);
    if (probe->device_hint) id = lower(*probe->device_hint);
    if (!id.empty() && !registry_.get(id) && probe->lorawan && !probe->lorawan->device_id.empty()) {
      id = probe->lorawan->device_id;
    }
  }
  auto device = registry_.get(id);
  if (!device) {
    // A DevEUI registered in upper case is the same device.
    std::string upper = id;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    device = registry_.get(upper);
  }
  if (!device) {
    return refuse(id, topic,
                  NotFound("no device is registered with id '" + id + "' (LoRaWAN devices use their DevEUI as id)"),
                  done);
  }
  (void)who;
  process(*device, envelope, msg->payload, key, topic, nullptr, std::move(done));
}

void DeviceIngestSink::ingest_payload(const std::string& device_id, std::optional<devices::Format> format,
                                      std::string_view payload, std::string_view idempotency_key,
                                      std::shared_ptr<Summary> summary, Done done) {
  auto device = registry_.get(device_id);
  if (!device) return refuse(device_id, "HTTP", NotFound("no device '" + device_id + "' is registered"), done);
  process(*device, format, payload, idempotency_key, "HTTP", summary, std::move(done));
}

void DeviceIngestSink::process(const devices::Device& device, std::optional<devices::Format> format,
                               std::string_view payload, std::string_view idempotency_key, std::string_view source,
                               const std::shared_ptr<Summary>& summary, Done done) {
  if (device.state == devices::DeviceState::kQuarantined || device.state == devices::DeviceState::kDisabled) {
    return refuse(device.id, source,
                  Status(Code::kPermissionDenied, "device '" + device.id + "' is " +
                                                      std::string(devices::state_name(device.state))),
                  done);
  }
  std::shared_ptr<const devices::Profile> profile;
  if (!device.profile.empty()) {
    profile = profiles_.find(device.profile);
    if (!profile) {
      return refuse(device.id, source, InvalidArgument("the device's profile '" + device.profile + "' does not exist"),
                    done);
    }
  }
  devices::DecodeOptions o;
  o.now_ms = clock_.unix_ms();
  const devices::Format f = format ? *format : profile ? profile->decoder : devices::Format::kJson;
  if (devices::is_envelope(f) && profile && profile->inner) o.inner = profile->inner;
  auto decoded = devices::decode(f, payload, o);
  if (!decoded.ok()) return refuse(device.id, source, decoded.status(), done);

  int64_t fallback_ms = o.now_ms;
  std::string key(idempotency_key);
  if (decoded->lorawan) {
    const auto& lw = *decoded->lorawan;
    if (lw.received_ms) fallback_ms = *lw.received_ms;
    if (key.empty() && !decoded->idempotency_key.empty()) {
      key = decoded->idempotency_key;
      if (lw.received_ms) key += ":" + std::to_string(*lw.received_ms);
    }
    if (!lw.dev_eui.empty()) {
      auto verdict = frame_counters_.check(lw.dev_eui, lw.f_cnt);
      using V = devices::FrameCounterTracker::Verdict;
      if (verdict == V::kReplay || verdict == V::kReset) {
        alerts_.fetch_add(1, std::memory_order_relaxed);
        ULOG_WARN("device ingest: device '{}' (DevEUI {}) frame counter {}: {}", device.id, lw.dev_eui, lw.f_cnt,
                  devices::verdict_name(verdict));
        if (bus_) {
          model::ChangeEvent e;
          e.kind = model::ChangeEvent::Kind::kDeviceAlert;
          e.tenant = device.tenant;
          e.entity_id = "urn:ngsi-ld:Device:" + device.id;
          e.entity_type = "Device";
          e.attributes = {verdict == V::kReplay ? "frameCounterReplay" : "frameCounterReset"};
          e.detail = "DevEUI " + lw.dev_eui + " fCnt " + std::to_string(lw.f_cnt);
          e.at_unix_ms = o.now_ms;
          bus_->publish(e);
        }
      }
    }
    if (lorawan_observer_ && !lw.application_id.empty()) lorawan_observer_(device.id, lw.application_id);
  }

  Result<devices::Mapped> mapped = profile ? devices::map_readings(*profile, device, decoded->readings)
                                           : Result<devices::Mapped>(devices::map_unprofiled(device, decoded->readings));
  if (!mapped.ok()) return refuse(device.id, source, mapped.status(), done);

  if (summary) {
    summary->tenant = device.tenant;
    summary->entity_id = mapped->entity_id;
    summary->entity_type = mapped->entity_type;
    summary->attributes = mapped->attributes.size();
    summary->dropped = mapped->dropped;
  }
  if (mapped->attributes.empty()) {
    // A heartbeat, or nothing the profile keeps: the device is alive all the
    // same. Readings that all miss the profile are most often a naming
    // mistake while commissioning ("NO2" for "no2"): not refused, but said on
    // the device.
    empty_.fetch_add(1, std::memory_order_relaxed);
    registry_.record_seen(device.id);
    if (profile && !decoded->readings.empty()) {
      std::string names;
      for (size_t i = 0; i < decoded->readings.size() && i < 8; ++i) {
        names += (i ? ", " : "") + decoded->readings[i].name;
      }
      if (decoded->readings.size() > 8) names += ", ...";
      registry_.record_error(device.id, "no reading (" + names + ") is mapped by profile '" + profile->name +
                                            "': nothing stored");
    }
    return done(Status::Ok());
  }
  Decoded d = to_decoded(device, *mapped, fallback_ms, key);
  writer_.commit(std::move(d), [this, id = device.id, done = std::move(done)](const Status& st) {
    if (st.ok()) {
      accepted_.fetch_add(1, std::memory_order_relaxed);
      registry_.record_seen(id);
    }
    done(st);
  });
}

}  // namespace urbis::ingest
