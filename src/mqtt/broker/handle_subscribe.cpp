// SUBSCRIBE and UNSUBSCRIBE.
#include "common/log.hpp"
#include "mqtt/broker/broker.hpp"
#include "mqtt/broker/connection.hpp"

namespace urbis::mqtt {

void Connection::handle_subscribe(Subscribe& s) {
  auto opts = broker_.options();
  uint32_t sub_id = 0;
  if (!s.props.subscription_identifiers.empty()) sub_id = s.props.subscription_identifiers.front();

  Suback ack;
  ack.packet_id = s.packet_id;
  struct Granted {
    std::string filter;
    SubOptions o;
    bool existed;
  };
  std::vector<Granted> granted;
  for (auto& t : s.topics) {
    std::string_view group, real;
    bool valid = true;
    bool shared = TopicTree::split_shared(t.filter, group, real, valid);
    if (shared && (!valid || !valid_topic_filter(real))) {
      ack.reasons.push_back(rc::kTopicFilterInvalid);
      continue;
    }
    if (shared && t.no_local) {
      // MQTT-3.8.3-4.
      fail(rc::kProtocolError, "no-local is not allowed on a shared subscription");
      return;
    }
    std::string_view checked = shared ? real : std::string_view(t.filter);
    if (!broker_.auth_.may_subscribe(identity(), principal(), checked)) {
      ULOG_DEBUG("mqtt {}: '{}' may not subscribe to '{}'", transport_->remote_endpoint(), client_id(),
                 t.filter);
      ack.reasons.push_back(rc::kNotAuthorized);
      continue;
    }
    SubOptions o;
    o.qos = std::min<uint8_t>(t.qos, opts->maximum_qos);
    o.no_local = t.no_local;
    o.retain_as_published = t.retain_as_published;
    o.retain_handling = t.retain_handling;
    o.subscription_id = sub_id;
    bool existed = broker_.tree_.subscribe(session_, t.filter, o);
    {
      std::lock_guard lock(session_->mu);
      session_->subscriptions[t.filter] = o;
    }
    broker_.persist_subscription(*session_, t.filter, o);
    ack.reasons.push_back(o.qos);
    granted.push_back({t.filter, o, existed});
  }
  send(ack);

  // Retained messages go after the SUBACK (MQTT-3.3.1-9), never to shared
  // subscriptions, and as retain handling says: 0 always, 1 only for a new
  // subscription, 2 never.
  for (auto& g : granted) {
    std::string_view group, real;
    bool valid;
    if (TopicTree::split_shared(g.filter, group, real, valid)) continue;
    if (g.o.retain_handling == 2 || (g.o.retain_handling == 1 && g.existed)) continue;
    broker_.send_retained(session_, g.filter, g.o);
  }
  if (broker_.subscribe_observer_) {
    for (auto& g : granted) broker_.subscribe_observer_(g.filter);
  }
}

void Connection::recheck_subscriptions() {
  if (state_ != State::kConnected || !session_) return;
  std::vector<std::string> filters;
  {
    std::lock_guard lock(session_->mu);
    for (auto& [f, o] : session_->subscriptions) filters.push_back(f);
  }
  for (auto& f : filters) {
    std::string_view group, real;
    bool valid;
    bool shared = TopicTree::split_shared(f, group, real, valid);
    if (broker_.auth_.may_subscribe(identity(), principal(), shared ? real : std::string_view(f))) continue;
    ULOG_INFO("mqtt {}: '{}' may no longer subscribe to '{}': subscription removed", transport_->remote_endpoint(),
              client_id(), f);
    broker_.tree_.unsubscribe(session_.get(), f);
    {
      std::lock_guard lock(session_->mu);
      session_->subscriptions.erase(f);
    }
    broker_.unpersist_subscription(*session_, f);
  }
}

void Connection::handle_unsubscribe(Unsubscribe& u) {
  Unsuback ack;
  ack.packet_id = u.packet_id;
  for (auto& f : u.filters) {
    bool removed = broker_.tree_.unsubscribe(session_.get(), f);
    {
      std::lock_guard lock(session_->mu);
      session_->subscriptions.erase(f);
    }
    if (removed) broker_.unpersist_subscription(*session_, f);
    ack.reasons.push_back(removed ? rc::kSuccess : rc::kNoSubscriptionExisted);
  }
  send(ack);
}

void Connection::handle_pingreq() { send(Pingresp{}); }

void Connection::handle_disconnect(const Disconnect& d) {
  if (version_ == Version::v5) {
    if (d.props.session_expiry_interval) {
      std::unique_lock lock(session_->mu);
      bool was_zero = session_->expiry_interval == 0;
      if (was_zero && *d.props.session_expiry_interval != 0) {
        lock.unlock();
        // MQTT-3.14.2-2.
        fail(rc::kProtocolError, "session expiry cannot be set at DISCONNECT after connecting with 0");
        return;
      }
      session_->expiry_interval = std::min(*d.props.session_expiry_interval, broker_.options()->max_session_expiry);
      session_->persistent = session_->expiry_interval > 0;
    }
    send_will_ = d.reason == rc::kDisconnectWithWill;
  } else {
    send_will_ = false;
  }
  // Nothing more is read; what is already queued for writing may be dropped.
  state_ = State::kClosing;
  close_now();
}

void Connection::handle_auth(const Auth&) {
  // No authentication method was accepted at CONNECT, so AUTH is out of place.
  fail(rc::kProtocolError, "AUTH without an authentication method");
}

}  // namespace urbis::mqtt
