// LoRaWAN network-server uplinks: ChirpStack v4 integration events and The
// Things Stack v3 application uplinks. Both are JSON envelopes around one
// LoRaWAN frame: device identity, frame counter and port, radio metadata, the
// frame payload (base64) and, when the network server has a codec for the
// device, its decoded object.
//
// Both servers omit fields whose value is the protobuf default (0, "", false):
// a first uplink after a join has no fCnt / f_cnt member, a frame without
// payload no data / frm_payload. Missing numbers therefore read as 0, never as
// an error. TTS also sends 64-bit numbers as strings (settings.frequency).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <charconv>
#include <cmath>
#include <limits>

#include "devices/decoders/encoding.hpp"
#include "devices/decoders/internal.hpp"

namespace urbis::devices::detail {

namespace json = boost::json;

namespace {

// Path lookup through nested objects; nullptr when any step is missing.
const json::value* at_path(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::object* cur = &o;
  const json::value* v = nullptr;
  for (auto key : path) {
    if (cur == nullptr) return nullptr;
    v = cur->if_contains(key);
    if (v == nullptr) return nullptr;
    cur = v->if_object();
  }
  return v;
}

std::string dotted(std::initializer_list<std::string_view> path) {
  std::string s;
  for (auto k : path) {
    if (!s.empty()) s += '.';
    s += k;
  }
  return s;
}

class Envelope {
 public:
  Envelope(std::string_view where, const json::object& root) : where_(where), root_(root) {}

  // Optional string member ("" when absent).
  Status text(std::initializer_list<std::string_view> path, std::string& out) const {
    const json::value* v = at_path(root_, path);
    if (v == nullptr || v->is_null()) return Status::Ok();
    if (!v->is_string()) return fail(where_, "'" + dotted(path) + "' must be a string");
    out = v->get_string();
    return Status::Ok();
  }

  // Optional unsigned integer, as a JSON number or a decimal string (0 when absent).
  Status unsigned_int(std::initializer_list<std::string_view> path, uint64_t max, uint64_t& out,
                      bool* present = nullptr) const {
    const json::value* v = at_path(root_, path);
    if (v == nullptr || v->is_null()) return Status::Ok();
    const std::string what = "'" + dotted(path) + "' must be an integer from 0 to " + std::to_string(max);
    uint64_t x = 0;
    if (v->is_int64()) {
      if (v->get_int64() < 0) return fail(where_, what);
      x = static_cast<uint64_t>(v->get_int64());
    } else if (v->is_uint64()) {
      x = v->get_uint64();
    } else if (v->is_double()) {
      const double d = v->get_double();
      if (!(d >= 0 && d <= 1.8e19) || d != std::floor(d)) return fail(where_, what);
      x = static_cast<uint64_t>(d);
    } else if (v->is_string()) {
      const std::string_view s = v->get_string();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return fail(where_, what);
    } else {
      return fail(where_, what);
    }
    if (x > max) return fail(where_, what);
    out = x;
    if (present) *present = true;
    return Status::Ok();
  }

  Status time(std::initializer_list<std::string_view> path, std::optional<int64_t>& out) const {
    const json::value* v = at_path(root_, path);
    if (v == nullptr || v->is_null()) return Status::Ok();
    out = v->is_string() ? time_ms_of(*v) : std::nullopt;
    if (!out) return fail(where_, "'" + dotted(path) + "' is not an ISO 8601 date-time");
    return Status::Ok();
  }

  Status dev_eui(std::initializer_list<std::string_view> path, bool required, std::string& out) const {
    std::string s;
    if (Status st = text(path, s); !st.ok()) return st;
    if (s.empty()) return required ? fail(where_, "'" + dotted(path) + "' missing") : Status::Ok();
    if (s.size() != 16) return fail(where_, "'" + dotted(path) + "' must be 16 hex digits");
    for (char& c : s) {
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return fail(where_, "'" + dotted(path) + "' must be 16 hex digits");
    }
    out = std::move(s);
    return Status::Ok();
  }

  // The best-heard gateway (highest RSSI) of an rx metadata array.
  Status best_gateway(std::string_view array_key, std::initializer_list<std::string_view> gateway_path,
                      LorawanMeta& m) const {
    const json::value* v = root_.if_contains(array_key);
    if (v == nullptr || v->is_null()) return Status::Ok();
    if (!v->is_array()) return fail(where_, "'" + std::string(array_key) + "' must be an array");
    const json::array& a = v->get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string w = std::string(array_key) + "[" + std::to_string(i) + "]";
      const json::object* gw = a[i].if_object();
      if (gw == nullptr) return fail(where_, "'" + w + "' must be an object");
      auto number = [&](std::string_view key, std::optional<double>& out) -> Status {
        const json::value* n = gw->if_contains(key);
        if (n == nullptr || n->is_null()) return Status::Ok();
        if (!n->is_number()) return fail(where_, "'" + w + "." + std::string(key) + "' must be a number");
        out = n->to_number<double>();
        return Status::Ok();
      };
      std::optional<double> rssi, snr;
      if (Status s = number("rssi", rssi); !s.ok()) return s;
      if (!rssi) {
        if (Status s = number("channel_rssi", rssi); !s.ok()) return s;
      }
      if (Status s = number("snr", snr); !s.ok()) return s;
      if (!rssi) continue;  // cannot be ranked
      if (m.rssi && *m.rssi >= *rssi) continue;
      m.rssi = rssi;
      m.snr = snr ? snr : std::optional<double>(0.0);
      m.gateway_id.clear();
      if (const json::value* id = at_path(*gw, gateway_path); id && id->is_string()) m.gateway_id = id->get_string();
    }
    return Status::Ok();
  }

  std::string_view where() const { return where_; }
  const json::object& root() const { return root_; }

 private:
  std::string_view where_;
  const json::object& root_;
};

// `keep` must have been made with the storage the document is to live in.
Result<Decoded> parse_root(std::string_view payload, std::string_view where, json::value& keep) {
  Result<json::value> v = parse_json(payload, where, keep.storage());
  if (!v.ok()) return v.status();
  keep = std::move(*v);
  if (!keep.is_object()) return fail(where, "payload must be a JSON object");
  return Decoded{};
}

// The readings of the frame: the binary payload with the profile's format, or
// the network server's decoded object.
Status frame_readings(std::string_view where, const json::value* data, std::string_view data_key,
                      const json::value* object, std::string_view object_key, const DecodeOptions& o, Decoded& d) {
  std::optional<std::string> bytes;
  if (data != nullptr && !data->is_null()) {
    if (!data->is_string()) return fail(where, "'" + std::string(data_key) + "' must be base64 text");
    bytes = base64_decode(data->get_string());
    if (!bytes) return fail(where, "'" + std::string(data_key) + "' is not base64");
  }
  if (o.inner) {
    if (is_envelope(*o.inner)) return fail(where, "the inner format cannot be another network-server envelope");
    if (!bytes || bytes->empty()) return Status::Ok();  // no payload: a heartbeat, or MAC commands only
    DecodeOptions io = o;
    io.inner.reset();
    Result<Decoded> r = decode(*o.inner, *bytes, io);
    if (!r.ok()) return fail(where, std::string(data_key) + ": " + r.status().message());
    d.readings = std::move(r->readings);
    return Status::Ok();
  }
  if (object != nullptr && !object->is_null()) {
    if (!object->is_object()) return fail(where, "'" + std::string(object_key) + "' must be an object");
    const std::string w = std::string(where) + ": " + std::string(object_key);
    Result<Decoded> r = decode_json_object(object->get_object(), w, o);
    if (!r.ok()) return r.status();
    d.readings = std::move(r->readings);
    return Status::Ok();
  }
  if (bytes && !bytes->empty())
    return fail(where, "no '" + std::string(object_key) +
                           "' (the network server has no codec for the device) and no inner format to decode '" +
                           std::string(data_key) + "'");
  return Status::Ok();
}

void finish(Decoded& d) {
  const LorawanMeta& m = *d.lorawan;
  for (Reading& r : d.readings)
    if (!r.time_ms) r.time_ms = m.received_ms;
  if (!m.dev_eui.empty()) {
    d.device_hint = m.dev_eui;
    d.idempotency_key = "lorawan:" + m.dev_eui + ":" + std::to_string(m.f_cnt);
  } else if (!m.device_id.empty()) {
    d.device_hint = m.device_id;
  }
}

}  // namespace

// ChirpStack v4 "up" event (integration JSON).
Result<Decoded> decode_chirpstack(std::string_view payload, const DecodeOptions& o) {
  constexpr std::string_view kWhere = "chirpstack";
  ScratchJson scratch;
  json::value root(scratch.storage());
  Result<Decoded> d = parse_root(payload, kWhere, root);
  if (!d.ok()) return d;
  const json::object& obj = root.get_object();
  Envelope e(kWhere, obj);
  const json::value* info = obj.if_contains("deviceInfo");
  if (info == nullptr) return fail(kWhere, "'deviceInfo' missing (not an uplink event)");
  if (!info->is_object()) return fail(kWhere, "'deviceInfo' must be an object");
  LorawanMeta m;
  if (Status s = e.dev_eui({"deviceInfo", "devEui"}, true, m.dev_eui); !s.ok()) return s;
  if (Status s = e.text({"deviceInfo", "applicationId"}, m.application_id); !s.ok()) return s;
  if (Status s = e.text({"deviceInfo", "deviceName"}, m.device_id); !s.ok()) return s;
  uint64_t x = 0;
  if (Status s = e.unsigned_int({"fCnt"}, std::numeric_limits<uint32_t>::max(), x); !s.ok()) return s;
  m.f_cnt = static_cast<uint32_t>(x);
  x = 0;
  if (Status s = e.unsigned_int({"fPort"}, 255, x); !s.ok()) return s;
  m.f_port = static_cast<uint8_t>(x);
  if (Status s = e.time({"time"}, m.received_ms); !s.ok()) return s;
  bool present = false;
  x = 0;
  if (Status s = e.unsigned_int({"txInfo", "frequency"}, std::numeric_limits<uint64_t>::max(), x, &present); !s.ok())
    return s;
  if (present) m.frequency_hz = x;
  present = false;
  x = 0;
  if (Status s = e.unsigned_int({"txInfo", "modulation", "lora", "spreadingFactor"}, 12, x, &present); !s.ok())
    return s;
  if (present) m.spreading_factor = static_cast<int>(x);
  if (const json::value* c = obj.if_contains("confirmed")) {
    if (!c->is_bool()) return fail(kWhere, "'confirmed' must be a boolean");
    m.confirmed = c->get_bool();
  }
  if (Status s = e.best_gateway("rxInfo", {"gatewayId"}, m); !s.ok()) return s;
  if (Status s = frame_readings(kWhere, obj.if_contains("data"), "data", obj.if_contains("object"), "object", o, *d);
      !s.ok())
    return s;
  d->lorawan = std::move(m);
  finish(*d);
  return d;
}

// The Things Stack v3 application uplink message.
Result<Decoded> decode_tts(std::string_view payload, const DecodeOptions& o) {
  constexpr std::string_view kWhere = "tts";
  ScratchJson scratch;
  json::value root(scratch.storage());
  Result<Decoded> d = parse_root(payload, kWhere, root);
  if (!d.ok()) return d;
  const json::object& obj = root.get_object();
  Envelope e(kWhere, obj);
  const json::value* ids = obj.if_contains("end_device_ids");
  if (ids == nullptr) return fail(kWhere, "'end_device_ids' missing");
  if (!ids->is_object()) return fail(kWhere, "'end_device_ids' must be an object");
  const json::value* up = obj.if_contains("uplink_message");
  if (up == nullptr) return fail(kWhere, "'uplink_message' missing (not an uplink message)");
  if (!up->is_object()) return fail(kWhere, "'uplink_message' must be an object");
  LorawanMeta m;
  if (Status s = e.text({"end_device_ids", "device_id"}, m.device_id); !s.ok()) return s;
  if (m.device_id.empty()) return fail(kWhere, "'end_device_ids.device_id' missing");
  if (Status s = e.dev_eui({"end_device_ids", "dev_eui"}, false, m.dev_eui); !s.ok()) return s;
  if (Status s = e.text({"end_device_ids", "application_ids", "application_id"}, m.application_id); !s.ok()) return s;
  uint64_t x = 0;
  if (Status s = e.unsigned_int({"uplink_message", "f_cnt"}, std::numeric_limits<uint32_t>::max(), x); !s.ok())
    return s;
  m.f_cnt = static_cast<uint32_t>(x);
  x = 0;
  if (Status s = e.unsigned_int({"uplink_message", "f_port"}, 255, x); !s.ok()) return s;
  m.f_port = static_cast<uint8_t>(x);
  // The network server's reception time; the application server's if that is missing.
  if (Status s = e.time({"uplink_message", "received_at"}, m.received_ms); !s.ok()) return s;
  if (!m.received_ms) {
    if (Status s = e.time({"received_at"}, m.received_ms); !s.ok()) return s;
  }
  bool present = false;
  x = 0;
  if (Status s = e.unsigned_int({"uplink_message", "settings", "frequency"}, std::numeric_limits<uint64_t>::max(), x,
                                &present);
      !s.ok())
    return s;
  if (present) m.frequency_hz = x;
  present = false;
  x = 0;
  if (Status s = e.unsigned_int({"uplink_message", "settings", "data_rate", "lora", "spreading_factor"}, 12, x,
                                &present);
      !s.ok())
    return s;
  if (present) m.spreading_factor = static_cast<int>(x);
  const json::object& u = up->get_object();
  if (const json::value* c = u.if_contains("confirmed")) {
    if (!c->is_bool()) return fail(kWhere, "'uplink_message.confirmed' must be a boolean");
    m.confirmed = c->get_bool();
  }
  Envelope ue("tts: uplink_message", u);
  if (Status s = ue.best_gateway("rx_metadata", {"gateway_ids", "gateway_id"}, m); !s.ok()) return s;
  if (Status s = frame_readings("tts: uplink_message", u.if_contains("frm_payload"), "frm_payload",
                                u.if_contains("decoded_payload"), "decoded_payload", o, *d);
      !s.ok())
    return s;
  d->lorawan = std::move(m);
  finish(*d);
  return d;
}

}  // namespace urbis::devices::detail
