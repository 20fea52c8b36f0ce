#include "mqtt/codec/packet.hpp"

namespace urbis::mqtt {

PacketType type_of(const Packet& p) {
  struct V {
    PacketType operator()(const Connect&) const { return PacketType::Connect; }
    PacketType operator()(const Connack&) const { return PacketType::Connack; }
    PacketType operator()(const Publish&) const { return PacketType::Publish; }
    PacketType operator()(const Ack& a) const { return a.type; }
    PacketType operator()(const Subscribe&) const { return PacketType::Subscribe; }
    PacketType operator()(const Suback&) const { return PacketType::Suback; }
    PacketType operator()(const Unsubscribe&) const { return PacketType::Unsubscribe; }
    PacketType operator()(const Unsuback&) const { return PacketType::Unsuback; }
    PacketType operator()(const Pingreq&) const { return PacketType::Pingreq; }
    PacketType operator()(const Pingresp&) const { return PacketType::Pingresp; }
    PacketType operator()(const Disconnect&) const { return PacketType::Disconnect; }
    PacketType operator()(const Auth&) const { return PacketType::Auth; }
  };
  return std::visit(V{}, p);
}

const char* name_of(PacketType t) {
  static constexpr const char* kNames[] = {"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK",
                                           "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK",
                                           "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
                                           "DISCONNECT", "AUTH"};
  auto i = static_cast<unsigned>(t);
  return i < 16 ? kNames[i] : "INVALID";
}

}  // namespace urbis::mqtt
