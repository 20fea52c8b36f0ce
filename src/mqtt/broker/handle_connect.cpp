// CONNECT: admission, authentication, client identifier, session takeover or
// resumption, CONNACK, and redelivery of what the session still owes.
#include <openssl/rand.h>

#include "common/log.hpp"
#include "mqtt/broker/broker.hpp"
#include "mqtt/broker/connection.hpp"

namespace urbis::mqtt {

namespace {
std::string random_client_id() {
  unsigned char b[12];
  if (RAND_bytes(b, sizeof b) != 1) {
    for (auto& x : b) x = static_cast<unsigned char>(std::rand());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "urbis-";
  for (auto x : b) {
    id += kHex[x >> 4];
    id += kHex[x & 15];
  }
  return id;
}
}  // namespace

void Connection::handle_connect(Connect& c) {
  version_ = c.version;
  auto opts = broker_.options();
  if (version_ == Version::v5) {
    if (c.props.request_problem_information) request_problem_info_ = *c.props.request_problem_information != 0;
    client_receive_max_ = c.props.receive_maximum.value_or(65535);
    if (c.props.maximum_packet_size) extras().client_max_packet = *c.props.maximum_packet_size;
    if (c.props.topic_alias_maximum.value_or(0)) extras().client_alias_max = *c.props.topic_alias_maximum;
    if (c.props.authentication_method) {
      fail(rc::kBadAuthenticationMethod, "enhanced authentication is not supported");
      return;
    }
  }
  if (refused_) {
    broker_.stats_.add(Stat::kConnectionsRefused);
    fail(version_ == Version::v5 ? rc::kQuotaExceeded : rc::kServerUnavailable, "connection limit reached");
    return;
  }
  if (broker_.stopping_.load()) {
    fail(version_ == Version::v5 ? rc::kServerShuttingDown : rc::kServerUnavailable, "server shutting down");
    return;
  }

  bool assigned = false;
  if (c.client_id.empty()) {
    // MQTT-3.1.3-8: 3.1.1 rejects an empty id with a persistent session.
    if (version_ == Version::v311 && !c.clean_start) {
      fail(rc::kClientIdentifierNotValid, "empty client identifier requires a clean session");
      return;
    }
    c.client_id = random_client_id();
    assigned = true;
  }
  ClientIdentity who;
  who.client_id = c.client_id;
  who.username = c.username;
  who.remote_ip = transport_->remote_ip();
  who.transport = transport_->kind();
  who.cert_cn = transport_->client_certificate_cn();

  AuthResult auth = broker_.auth_.authenticate(who, c.password);
  if (!auth.ok) {
    ULOG_INFO("mqtt {}: client '{}' user '{}' refused (0x{:02X})", transport_->remote_endpoint(), c.client_id,
              c.username.value_or(""), auth.reason);
    fail(auth.reason ? auth.reason : rc::kNotAuthorized, "not authorized");
    return;
  }
  if (c.will) {
    if (c.will->qos > opts->maximum_qos) {
      fail(rc::kQosNotSupported, "will QoS exceeds the server's maximum QoS");
      return;
    }
    if (c.will->retain && !opts->retain_available) {
      fail(rc::kRetainNotSupported, "retained wills are not available");
      return;
    }
    if (!broker_.auth_.may_publish(who, auth.principal, c.will->topic)) {
      fail(rc::kNotAuthorized, "not authorized to publish the will topic");
      return;
    }
    extras().will = std::make_unique<Will>(std::move(*c.will));
  }

  // Anonymous clients without a certificate (most idle fleets behind a
  // gateway) keep no credentials at all.
  if (who.username || !who.cert_cn.empty() || !auth.principal.empty()) {
    creds_ = std::make_unique<Credentials>(
        Credentials{std::move(who.username), std::move(who.cert_cn), std::move(auth.principal)});
  }

  // Keep-alive: MQTT 5 lets the server impose its own (server keep-alive).
  keep_alive_ = c.keep_alive;
  bool announce_keep_alive = false;
  if (version_ == Version::v5 && opts->max_keep_alive && (keep_alive_ == 0 || keep_alive_ > opts->max_keep_alive)) {
    keep_alive_ = opts->max_keep_alive;
    announce_keep_alive = true;
  }

  uint32_t expiry;
  bool expiry_capped = false;
  if (version_ == Version::v5) {
    expiry = c.props.session_expiry_interval.value_or(0);
  } else {
    expiry = c.clean_start ? 0 : 0xFFFFFFFFu;
  }
  if (expiry > opts->max_session_expiry) {
    expiry = opts->max_session_expiry;
    expiry_capped = true;
  }

  auto attach = broker_.attach_session(shared_from_this(), c.client_id, c.clean_start, expiry, version_);
  session_ = attach.session;
  state_ = State::kConnected;
  counted_connected_ = true;
  broker_.connected_.fetch_add(1, std::memory_order_relaxed);

  Connack ack;
  ack.session_present = attach.present;
  if (version_ == Version::v5) {
    auto& p = ack.props;
    if (assigned) p.assigned_client_identifier = c.client_id;
    p.receive_maximum = opts->receive_maximum;
    p.maximum_packet_size = opts->max_packet_size;
    p.topic_alias_maximum = opts->topic_alias_maximum;
    if (opts->maximum_qos < 2) p.maximum_qos = opts->maximum_qos;
    if (!opts->retain_available) p.retain_available = 0;
    if (announce_keep_alive) p.server_keep_alive = keep_alive_;
    if (expiry_capped) p.session_expiry_interval = expiry;
    if (c.props.request_response_information.value_or(0) == 1) {
      // The basis for response topics (MQTT 5 4.10): a subtree of the client's own.
      p.response_information = "urbis/response/" + c.client_id + "/";
    }
  }
  send(ack);
  ULOG_DEBUG("mqtt {}: client '{}' connected (v{}, keep-alive {}s, session {})", transport_->remote_endpoint(),
             c.client_id, version_ == Version::v5 ? "5" : "3.1.1", keep_alive_,
             attach.present ? "resumed" : "new");

  // A resumed session keeps only what this client may still read: the ACL
  // may have changed while it was away (or across a restart).
  if (attach.present) recheck_subscriptions();

  // MQTT-4.4.0-1: resend unacknowledged PUBLISH (DUP) and PUBREL, in order.
  {
    std::lock_guard lock(session_->mu);
    for (auto& [id, inf] : session_->inflight) {
      if (inf.pubrel_sent) {
        send(Ack{PacketType::Pubrel, id, rc::kSuccess, {}});
      } else {
        send_publish(inf.p, id, true);
      }
    }
  }
  flush_session();
}

}  // namespace urbis::mqtt
