// MQTT 5 properties: one table says each id's type and which packets may carry
// it (OASIS MQTT 5.0, 2.2.2.2); reading, the standalone block API and the
// emptiness test live here. Writing is a template in wire.hpp.
#include <array>

#include "mqtt/codec/codec.hpp"
#include "mqtt/codec/wire.hpp"

namespace urbis::mqtt {

namespace {

using wire::PropCtx;
using wire::Reader;

enum class PType : uint8_t { kNone, kByte, kU16, kU32, kVarint, kString, kBinary, kPair };

struct PropInfo {
  PType type = PType::kNone;
  uint16_t ctx = 0;
};

constexpr uint16_t kAcks = wire::kCtxPubAck;
constexpr uint16_t kPubWill = wire::kCtxPublish | wire::kCtxWill;

constexpr std::array<PropInfo, 0x2B> make_table() {
  using namespace wire;
  std::array<PropInfo, 0x2B> t{};
  t[0x01] = {PType::kByte, kPubWill};
  t[0x02] = {PType::kU32, kPubWill};
  t[0x03] = {PType::kString, kPubWill};
  t[0x08] = {PType::kString, kPubWill};
  t[0x09] = {PType::kBinary, kPubWill};
  t[0x0B] = {PType::kVarint, kCtxPublish | kCtxSubscribe};
  t[0x11] = {PType::kU32, kCtxConnect | kCtxConnack | kCtxDisconnect};
  t[0x12] = {PType::kString, kCtxConnack};
  t[0x13] = {PType::kU16, kCtxConnack};
  t[0x15] = {PType::kString, kCtxConnect | kCtxConnack | kCtxAuth};
  t[0x16] = {PType::kBinary, kCtxConnect | kCtxConnack | kCtxAuth};
  t[0x17] = {PType::kByte, kCtxConnect};
  t[0x18] = {PType::kU32, kCtxWill};
  t[0x19] = {PType::kByte, kCtxConnect};
  t[0x1A] = {PType::kString, kCtxConnack};
  t[0x1C] = {PType::kString, kCtxConnack | kCtxDisconnect};
  t[0x1F] = {PType::kString,
             kCtxConnack | kAcks | kCtxSuback | kCtxUnsuback | kCtxDisconnect | kCtxAuth};
  t[0x21] = {PType::kU16, kCtxConnect | kCtxConnack};
  t[0x22] = {PType::kU16, kCtxConnect | kCtxConnack};
  t[0x23] = {PType::kU16, kCtxPublish};
  t[0x24] = {PType::kByte, kCtxConnack};
  t[0x25] = {PType::kByte, kCtxConnack};
  t[0x26] = {PType::kPair, kCtxAny};
  t[0x27] = {PType::kU32, kCtxConnect | kCtxConnack};
  t[0x28] = {PType::kByte, kCtxConnack};
  t[0x29] = {PType::kByte, kCtxConnack};
  t[0x2A] = {PType::kByte, kCtxConnack};
  return t;
}

constexpr auto kTable = make_table();

bool fail(DecodeError& err, uint8_t reason, std::string msg) {
  err.reason = reason;
  err.message = std::move(msg);
  return false;
}

std::string hex(uint8_t id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string{'0', 'x', kDigits[id >> 4], kDigits[id & 15]};
}

}  // namespace

namespace wire {

bool read_properties(Reader& r, PropCtx ctx, Properties& out, DecodeError& err) {
  uint32_t len;
  if (!r.varint(len)) return fail(err, rc::kMalformedPacket, "bad property length");
  if (len == 0) return true;
  Reader pr(nullptr, nullptr);
  if (!r.sub(len, pr)) return fail(err, rc::kMalformedPacket, "property length exceeds packet");
  const bool strict = ctx != kCtxAny;
  uint64_t seen = 0;  // bit per id, for duplicate detection
  while (!pr.empty()) {
    uint8_t id = 0;
    (void)pr.u8(id);
    // Ids are varints in the spec, but every defined id is one byte; a byte
    // >= 0x80 would start a longer, undefined id.
    if (id >= kTable.size() || kTable[id].type == PType::kNone)
      return fail(err, rc::kMalformedPacket, "unknown property id " + hex(id));
    const PropInfo& info = kTable[id];
    if (strict && !(info.ctx & ctx))
      return fail(err, rc::kProtocolError, "property " + hex(id) + " not allowed in this packet");
    const bool repeatable = id == 0x26 || (id == 0x0B && (ctx & kCtxPublish));
    if ((seen >> id) & 1 && !repeatable)
      return fail(err, rc::kProtocolError, "property " + hex(id) + " appears twice");
    seen |= uint64_t{1} << id;

    bool ok = true;
    uint8_t b = 0;
    uint16_t h = 0;
    uint32_t w = 0;
    std::string_view s1, s2;
    switch (info.type) {
      case PType::kByte: ok = pr.u8(b); break;
      case PType::kU16: ok = pr.u16(h); break;
      case PType::kU32: ok = pr.u32(w); break;
      case PType::kVarint: ok = pr.varint(w); break;
      case PType::kString:
      case PType::kBinary: ok = pr.bin(s1); break;
      case PType::kPair: ok = pr.bin(s1) && pr.bin(s2); break;
      case PType::kNone: ok = false; break;
    }
    if (!ok) return fail(err, rc::kMalformedPacket, "property " + hex(id) + " truncated");
    if ((info.type == PType::kString || info.type == PType::kPair) &&
        !(valid_utf8(s1) && valid_utf8(s2)))
      return fail(err, rc::kMalformedPacket, "property " + hex(id) + " is not valid UTF-8");

    // Value ranges the spec calls a Protocol Error (or a specific reason code).
    if (strict) {
      bool bad_bool = info.type == PType::kByte && b > 1 && id != 0x24;
      if (bad_bool) return fail(err, rc::kProtocolError, "property " + hex(id) + " must be 0 or 1");
      if (id == 0x24 && b > 1) return fail(err, rc::kProtocolError, "maximum QoS must be 0 or 1");
      if (id == 0x0B && w == 0)
        return fail(err, rc::kProtocolError, "subscription identifier 0");
      if (id == 0x21 && h == 0) return fail(err, rc::kProtocolError, "receive maximum 0");
      if (id == 0x27 && w == 0) return fail(err, rc::kProtocolError, "maximum packet size 0");
      if (id == 0x23 && h == 0) return fail(err, rc::kTopicAliasInvalid, "topic alias 0");
      if (id == 0x08 && !valid_topic_name(s1))
        return fail(err, rc::kProtocolError, "response topic is not a valid topic name");
    }

    switch (id) {
      case 0x01: out.payload_format_indicator = b; break;
      case 0x02: out.message_expiry_interval = w; break;
      case 0x03: out.content_type.emplace(s1); break;
      case 0x08: out.response_topic.emplace(s1); break;
      case 0x09: out.correlation_data.emplace(s1); break;
      case 0x0B: out.subscription_identifiers.push_back(w); break;
      case 0x11: out.session_expiry_interval = w; break;
      case 0x12: out.assigned_client_identifier.emplace(s1); break;
      case 0x13: out.server_keep_alive = h; break;
      case 0x15: out.authentication_method.emplace(s1); break;
      case 0x16: out.authentication_data.emplace(s1); break;
      case 0x17: out.request_problem_information = b; break;
      case 0x18: out.will_delay_interval = w; break;
      case 0x19: out.request_response_information = b; break;
      case 0x1A: out.response_information.emplace(s1); break;
      case 0x1C: out.server_reference.emplace(s1); break;
      case 0x1F: out.reason_string.emplace(s1); break;
      case 0x21: out.receive_maximum = h; break;
      case 0x22: out.topic_alias_maximum = h; break;
      case 0x23: out.topic_alias = h; break;
      case 0x24: out.maximum_qos = b; break;
      case 0x25: out.retain_available = b; break;
      case 0x26: out.user_properties.emplace_back(s1, s2); break;
      case 0x27: out.maximum_packet_size = w; break;
      case 0x28: out.wildcard_subscription_available = b; break;
      case 0x29: out.subscription_identifiers_available = b; break;
      case 0x2A: out.shared_subscription_available = b; break;
      default: break;
    }
  }
  // Authentication Data without a Method is a Protocol Error (3.1.2.11.10, 3.15.2.2.3).
  if (strict && out.authentication_data && !out.authentication_method)
    return fail(err, rc::kProtocolError, "authentication data without authentication method");
  return true;
}

bool props_empty(const Properties& p) {
  return !p.payload_format_indicator && !p.message_expiry_interval && !p.content_type &&
         !p.response_topic && !p.correlation_data && p.subscription_identifiers.empty() &&
         !p.session_expiry_interval && !p.assigned_client_identifier && !p.server_keep_alive &&
         !p.authentication_method && !p.authentication_data && !p.request_problem_information &&
         !p.will_delay_interval && !p.request_response_information && !p.response_information &&
         !p.server_reference && !p.reason_string && !p.receive_maximum &&
         !p.topic_alias_maximum && !p.topic_alias && !p.maximum_qos && !p.retain_available &&
         p.user_properties.empty() && !p.maximum_packet_size &&
         !p.wildcard_subscription_available && !p.subscription_identifiers_available &&
         !p.shared_subscription_available;
}

}  // namespace wire

void encode_properties(const Properties& props, std::string& out) {
  wire::CountSink c;
  wire::write_properties(props, c);
  out.reserve(out.size() + c.size());
  wire::StringSink s(out);
  wire::write_properties(props, s);
}

bool decode_properties(std::span<const uint8_t> in, Properties& out, DecodeError& err) {
  out = Properties{};
  wire::Reader r(in.data(), in.data() + in.size());
  if (!wire::read_properties(r, wire::kCtxAny, out, err)) return false;
  if (!r.empty()) return fail(err, rc::kMalformedPacket, "bytes after the property block");
  return true;
}

}  // namespace urbis::mqtt
