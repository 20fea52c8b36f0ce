// PUBLISH from a client and the four acknowledgements of the QoS 1/2 flows.
#include "common/log.hpp"
#include "mqtt/broker/broker.hpp"
#include "mqtt/broker/connection.hpp"
#include "mqtt/broker/ingest.hpp"

namespace urbis::mqtt {

void Connection::handle_publish(Publish& p) {
  auto opts = broker_.options();
  broker_.stats_.add(Stat::kMessagesReceived);
  if (p.qos > opts->maximum_qos) {
    fail(rc::kQosNotSupported, "QoS " + std::to_string(p.qos) + " exceeds the server's maximum QoS");
    return;
  }
  if (p.retain && !opts->retain_available) {
    fail(rc::kRetainNotSupported, "retained messages are not available");
    return;
  }
  if (version_ == Version::v5) {
    if (p.props.topic_alias) {
      uint16_t alias = *p.props.topic_alias;
      if (alias == 0 || alias > opts->topic_alias_maximum) {
        fail(rc::kTopicAliasInvalid, "topic alias " + std::to_string(alias) + " out of range");
        return;
      }
      auto& aliases = extras().in_aliases;
      if (aliases.size() <= alias) aliases.resize(alias + 1);
      if (p.topic.empty()) {
        if (aliases[alias].empty()) {
          fail(rc::kProtocolError, "topic alias " + std::to_string(alias) + " used before it was set");
          return;
        }
        p.topic = aliases[alias];
      } else {
        aliases[alias] = p.topic;
      }
      p.props.topic_alias.reset();
    } else if (p.topic.empty()) {
      fail(rc::kProtocolError, "empty topic without a topic alias");
      return;
    }
    if (p.props.payload_format_indicator.value_or(0) == 1 && !valid_utf8(p.payload)) {
      // MQTT-3.3.2-4 allows the server to check; a city would rather know.
      if (p.qos == 1) send_ack(Ack{PacketType::Puback, p.packet_id, rc::kPayloadFormatInvalid, {}}, 0);
      if (p.qos == 2) send_ack(Ack{PacketType::Pubrec, p.packet_id, rc::kPayloadFormatInvalid, {}}, 0);
      return;
    }
  } else if (p.topic.empty()) {
    fail(rc::kTopicNameInvalid, "empty topic name");
    return;
  }

  if (p.qos == 2) {
    bool duplicate, full;
    {
      std::lock_guard lock(session_->mu);
      duplicate = session_->qos2_incoming.count(p.packet_id) > 0;
      full = session_->qos2_incoming.size() >= opts->receive_maximum;
    }
    if (duplicate) {
      // A retransmission of a message we already took: acknowledge, do not route again.
      send_ack(Ack{PacketType::Pubrec, p.packet_id, rc::kSuccess, {}}, 0);
      return;
    }
    if (full) {
      fail(rc::kReceiveMaximumExceeded, "more than " + std::to_string(opts->receive_maximum) +
                                            " QoS 2 messages awaiting PUBREL");
      return;
    }
  }

  // Rate limit: a token bucket with one second of burst. Reading pauses
  // instead of disconnecting, so TCP pushes back on the device.
  if (opts->max_publish_rate) {
    auto now = std::chrono::steady_clock::now();
    double rate = opts->max_publish_rate;
    auto& x = extras();
    if (x.tokens_at == std::chrono::steady_clock::time_point{}) {
      x.tokens = rate;
      x.tokens_at = now;
    }
    x.tokens = std::min(rate, x.tokens + rate * std::chrono::duration<double>(now - x.tokens_at).count());
    x.tokens_at = now;
    x.tokens -= 1;
    if (x.tokens < 0) {
      broker_.stats_.add(Stat::kPublishThrottled);
      pause_for(std::chrono::milliseconds(static_cast<int64_t>(-x.tokens * 1000 / rate) + 1));
    }
  }

  if (!broker_.auth_.may_publish(identity(), principal(), p.topic)) {
    ULOG_DEBUG("mqtt {}: '{}' may not publish to '{}'", transport_->remote_endpoint(), client_id(), p.topic);
    // 3.1.1 has no way to say no: the message is dropped and acknowledged.
    uint8_t reason = version_ == Version::v5 ? rc::kNotAuthorized : rc::kSuccess;
    if (p.qos == 1) send_ack(Ack{PacketType::Puback, p.packet_id, reason, {}}, 0);
    if (p.qos == 2) {
      if (reason == rc::kSuccess) {
        std::lock_guard lock(session_->mu);
        session_->qos2_incoming.insert(p.packet_id);
      }
      send_ack(Ack{PacketType::Pubrec, p.packet_id, reason, {}}, 0);
    }
    return;
  }

  auto msg = std::make_shared<Message>();
  msg->topic = std::move(p.topic);
  msg->payload = std::move(p.payload);
  msg->qos = p.qos;
  msg->retain = p.retain;
  if (version_ == Version::v5) {
    msg->props = std::move(p.props);
    msg->props.subscription_identifiers.clear();
    msg->props.topic_alias.reset();
    if (msg->props.message_expiry_interval) {
      msg->expiry_unix_ms = broker_.clock_.unix_ms() + int64_t(*msg->props.message_expiry_interval) * 1000;
      msg->props.message_expiry_interval.reset();
    }
  }
  msg->origin_client = client_id();
  uint16_t packet_id = p.packet_id;
  uint8_t qos = p.qos;

  if (qos > 0 && has_pending_acks() && extras_->pending_acks->size() >= opts->receive_maximum) {
    fail(rc::kReceiveMaximumExceeded, "more than " + std::to_string(opts->receive_maximum) +
                                          " unacknowledged QoS 1/2 messages");
    return;
  }

  SessionPtr congested;
  uint64_t writes_before = Broker::store_writes();
  size_t n = broker_.route(msg, &congested);
  // Whatever routing wrote (a queued copy for a persistent session, a retained
  // message) must be on disk before the publisher hears "acknowledged".
  bool state_written = broker_.store_ && Broker::store_writes() != writes_before;
  bool ingest = broker_.ingest_ && broker_.ingest_->wants(msg->topic);

  uint8_t reason = (version_ == Version::v5 && n == 0 && !ingest) ? rc::kNoMatchingSubscribers : rc::kSuccess;
  uint64_t ack_id = 0;
  if (qos == 2) {
    std::lock_guard lock(session_->mu);
    session_->qos2_incoming.insert(packet_id);
  }
  if (qos > 0) {
    ack_id = send_ack(Ack{qos == 1 ? PacketType::Puback : PacketType::Pubrec, packet_id, reason, {}},
                      int(state_written) + int(ingest));
  }
  if (state_written && ack_id) broker_.store_->when_durable(ack_completion(ack_id));
  if (ingest) {
    broker_.ingest_->ingest(identity(), msg, ack_id ? ack_completion(ack_id) : IngestSink::Done([](const Status&) {}));
  }
  if (congested) wait_for_drain(std::move(congested));
}

void Connection::handle_puback(const Ack& a) {
  {
    std::lock_guard lock(session_->mu);
    auto it = session_->inflight.find(a.packet_id);
    if (it == session_->inflight.end() || it->second.p.qos != 1) return;  // stale or unknown: ignore
    if (it->second.p.seq) broker_.store_erase_queued(*session_, it->second.p.seq);
    session_->inflight.erase(it);
  }
  flush_session();  // the window has room again
}

void Connection::handle_pubrec(const Ack& a) {
  bool found = false;
  {
    std::lock_guard lock(session_->mu);
    auto it = session_->inflight.find(a.packet_id);
    if (it != session_->inflight.end() && it->second.p.qos == 2) {
      found = true;
      if (a.reason >= 0x80) {
        // The receiver refused the message: the flow ends here (MQTT-4.3.3).
        if (it->second.p.seq) broker_.store_erase_queued(*session_, it->second.p.seq);
        session_->inflight.erase(it);
      } else if (!it->second.pubrel_sent) {
        it->second.pubrel_sent = true;
        if (it->second.p.seq) broker_.persist_queued(*session_, it->second.p, a.packet_id, true);
      }
    }
  }
  if (found && a.reason >= 0x80) {
    flush_session();
    return;
  }
  send(Ack{PacketType::Pubrel, a.packet_id, found ? rc::kSuccess : rc::kPacketIdentifierNotFound, {}});
}

void Connection::handle_pubrel(const Ack& a) {
  bool found;
  {
    std::lock_guard lock(session_->mu);
    found = session_->qos2_incoming.erase(a.packet_id) > 0;
  }
  send(Ack{PacketType::Pubcomp, a.packet_id, found ? rc::kSuccess : rc::kPacketIdentifierNotFound, {}});
}

void Connection::handle_pubcomp(const Ack& a) {
  {
    std::lock_guard lock(session_->mu);
    auto it = session_->inflight.find(a.packet_id);
    if (it == session_->inflight.end() || !it->second.pubrel_sent) return;
    if (it->second.p.seq) broker_.store_erase_queued(*session_, it->second.p.seq);
    session_->inflight.erase(it);
  }
  flush_session();
}

}  // namespace urbis::mqtt
