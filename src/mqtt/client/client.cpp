#include "mqtt/client/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>

#include "mqtt/codec/codec.hpp"
#include "net/tls_context.hpp"

namespace urbis::mqtt {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The protocol limit: 4-byte remaining length plus the fixed header.
constexpr size_t kProtocolMaxPacket = 268435455 + 5;
// Reads ask for at least this much free space; the buffer doubles when a
// packet does not fit, and when a read fills it (a busy connection then reads
// up to kBusyRead per system call). An idle connection keeps kReadChunk.
constexpr size_t kReadChunk = 4096;
constexpr size_t kBusyRead = 64 * 1024;

Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
Status protocol_error(std::string m) { return {Code::kIoError, "MQTT protocol error: " + std::move(m)}; }

Status from_asio(const char* what, const boost::system::error_code& ec) {
  return {Code::kUnavailable, std::string(what) + ": " + ec.message()};
}

}  // namespace

std::string reason_name(uint8_t reason) {
  const char* name = "Unknown";
  switch (reason) {
    case rc::kSuccess: name = "Success"; break;
    case rc::kGrantedQos1: name = "Granted QoS 1"; break;
    case rc::kGrantedQos2: name = "Granted QoS 2"; break;
    case rc::kDisconnectWithWill: name = "Disconnect with Will"; break;
    case rc::kNoMatchingSubscribers: name = "No matching subscribers"; break;
    case rc::kNoSubscriptionExisted: name = "No subscription existed"; break;
    case rc::kUnspecifiedError: name = "Unspecified error"; break;
    case rc::kMalformedPacket: name = "Malformed Packet"; break;
    case rc::kProtocolError: name = "Protocol Error"; break;
    case rc::kImplementationSpecificError: name = "Implementation specific error"; break;
    case rc::kUnsupportedProtocolVersion: name = "Unsupported Protocol Version"; break;
    case rc::kClientIdentifierNotValid: name = "Client Identifier not valid"; break;
    case rc::kBadUserNameOrPassword: name = "Bad User Name or Password"; break;
    case rc::kNotAuthorized: name = "Not authorized"; break;
    case rc::kServerUnavailable: name = "Server unavailable"; break;
    case rc::kServerBusy: name = "Server busy"; break;
    case rc::kBanned: name = "Banned"; break;
    case rc::kServerShuttingDown: name = "Server shutting down"; break;
    case rc::kKeepAliveTimeout: name = "Keep Alive timeout"; break;
    case rc::kSessionTakenOver: name = "Session taken over"; break;
    case rc::kTopicFilterInvalid: name = "Topic Filter invalid"; break;
    case rc::kTopicNameInvalid: name = "Topic Name invalid"; break;
    case rc::kPacketIdentifierInUse: name = "Packet Identifier in use"; break;
    case rc::kPacketIdentifierNotFound: name = "Packet Identifier not found"; break;
    case rc::kReceiveMaximumExceeded: name = "Receive Maximum exceeded"; break;
    case rc::kPacketTooLarge: name = "Packet too large"; break;
    case rc::kQuotaExceeded: name = "Quota exceeded"; break;
    case rc::kAdministrativeAction: name = "Administrative action"; break;
    case rc::kPayloadFormatInvalid: name = "Payload format invalid"; break;
    case rc::kRetainNotSupported: name = "Retain not supported"; break;
    case rc::kQosNotSupported: name = "QoS not supported"; break;
    case rc::kUseAnotherServer: name = "Use another server"; break;
    case rc::kServerMoved: name = "Server moved"; break;
    case rc::kWildcardSubscriptionsNotSupported: name = "Wildcard Subscriptions not supported"; break;
    default: break;
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X ", reason);
  return hex + std::string(name);
}

struct Client::Tls {
  Tls(tcp::socket& socket, std::shared_ptr<asio::ssl::context> c) : ctx(std::move(c)), stream(socket, *ctx) {}
  std::shared_ptr<asio::ssl::context> ctx;  // outlives the stream
  asio::ssl::stream<tcp::socket&> stream;
};

std::shared_ptr<Client> Client::create(asio::any_io_executor executor) {
  return std::shared_ptr<Client>(new Client(std::move(executor)));
}

Client::Client(asio::any_io_executor executor)
    : executor_(executor),
      resolver_(executor),
      socket_(executor),
      connect_timer_(executor),
      keep_alive_timer_(executor) {}

Client::~Client() = default;

// ---------------------------------------------------------------- connect

void Client::connect(const std::string& host, uint16_t port, ClientOptions options, ConnectHandler done) {
  if (state_ != State::kIdle) {
    asio::post(executor_, [done = std::move(done)] {
      done(Status(Code::kInvalidArgument, "connect() called twice on one Client"));
    });
    return;
  }
  state_ = State::kConnecting;
  options_ = std::move(options);
  connect_done_ = std::move(done);
  host_ = host;
  port_ = port;
  max_in_packet_ = options_.maximum_packet_size ? options_.maximum_packet_size : kProtocolMaxPacket;

  auto self = shared_from_this();
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec && self->state_ == State::kConnecting) self->fail(unavailable("timed out waiting for CONNACK"));
  });
  resolver_.async_resolve(host, std::to_string(port),
                          [self](const boost::system::error_code& ec, tcp::resolver::results_type r) {
                            if (self->state_ != State::kConnecting) return;
                            if (ec) return self->fail(from_asio("resolve", ec));
                            self->on_resolved(r);
                          });
}

void Client::on_resolved(const tcp::resolver::results_type& endpoints) {
  auto self = shared_from_this();
  asio::async_connect(socket_, endpoints, [self](const boost::system::error_code& ec, const tcp::endpoint&) {
    if (self->state_ != State::kConnecting) return;
    if (ec) return self->fail(from_asio("connect", ec));
    self->on_tcp_connected();
  });
}

void Client::on_tcp_connected() {
  boost::system::error_code ignored;
  // Small packets (acks, pings) must not wait for Nagle; throughput comes from
  // write coalescing instead.
  socket_.set_option(tcp::no_delay(true), ignored);
  if (!options_.tls) return on_transport_ready();

  tls_ = std::make_unique<Tls>(socket_, options_.tls);
  const std::string where = "TLS handshake with " + host_ + ":" + std::to_string(port_) + ": ";
  if (Status s = net::prepare_client_handshake(tls_->stream.native_handle(), host_); !s.ok()) {
    return fail(Status(Code::kUnavailable, where + s.message()));
  }
  auto self = shared_from_this();
  tls_->stream.async_handshake(asio::ssl::stream_base::client, [self, where](const boost::system::error_code& ec) {
    if (self->state_ != State::kConnecting) return;
    if (ec) {
      return self->fail(Status(Code::kUnavailable,
                               where + net::describe_client_handshake_error(self->tls_->stream.native_handle(), ec)));
    }
    self->on_transport_ready();
  });
}

void Client::on_transport_ready() {
  Connect c;
  c.version = options_.version;
  c.clean_start = options_.clean_start;
  c.keep_alive = options_.keep_alive;
  c.client_id = options_.client_id;
  c.will = options_.will;
  c.username = options_.username;
  c.password = options_.password;
  c.props = options_.connect_props;
  if (options_.version == Version::v5) {
    if (options_.session_expiry) c.props.session_expiry_interval = options_.session_expiry;
    if (options_.receive_maximum != 65535) c.props.receive_maximum = options_.receive_maximum;
    if (options_.maximum_packet_size) c.props.maximum_packet_size = options_.maximum_packet_size;
  }
  send(c);
  start_read();
}

void Client::handle_connack(Connack& c) {
  connect_timer_.cancel();
  if (c.reason >= 0x80) {
    return fail(Status(c.reason == rc::kNotAuthorized || c.reason == rc::kBadUserNameOrPassword
                           ? Code::kPermissionDenied
                           : Code::kUnavailable,
                       "connection refused: " + reason_name(c.reason) +
                           (c.props.reason_string ? " (" + *c.props.reason_string + ")" : "")));
  }
  state_ = State::kConnected;
  connack_ = std::move(c);
  send_quota_ = options_.max_inflight;
  if (connack_.props.receive_maximum) send_quota_ = std::min(send_quota_, *connack_.props.receive_maximum);
  if (send_quota_ == 0) send_quota_ = 1;  // a Receive Maximum of 0 is a protocol error; be lenient
  server_max_packet_ = connack_.props.maximum_packet_size;
  keep_alive_s_ = connack_.props.server_keep_alive.value_or(options_.keep_alive);
  arm_keep_alive();
  if (auto done = std::move(connect_done_)) {
    connect_done_ = nullptr;
    done(connack_);
  }
}

// ---------------------------------------------------------------- reading

void Client::start_read() {
  if (in_.size() - in_len_ < kReadChunk) in_.resize(std::max(in_.size() * 2, in_len_ + kReadChunk));
  auto on_done = [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
    if (self->state_ == State::kClosed) return;
    if (ec) {
      // After our DISCONNECT the server closing is the normal end.
      if (self->state_ == State::kClosing) return self->fail(Status::Ok());
      return self->fail(from_asio("read", ec));
    }
    self->on_read(n);
  };
  auto buf = asio::buffer(in_.data() + in_len_, in_.size() - in_len_);
  if (tls_) {
    tls_->stream.async_read_some(buf, std::move(on_done));
  } else {
    socket_.async_read_some(buf, std::move(on_done));
  }
}

void Client::on_read(size_t n) {
  const bool filled = in_len_ + n == in_.size();
  in_len_ += n;
  size_t pos = 0;
  Packet packet;
  DecodeError err;
  while (pos < in_len_) {
    std::span<const uint8_t> avail(in_.data() + pos, in_len_ - pos);
    Frame f = frame(avail, max_in_packet_);
    if (f.state == Frame::State::kIncomplete) break;
    if (f.state == Frame::State::kMalformed) return fail(protocol_error("malformed remaining length"));
    if (f.state == Frame::State::kTooLarge) return fail(protocol_error("packet larger than maximum_packet_size"));
    if (!decode(avail.first(f.total()), options_.version, packet, err)) {
      return fail(protocol_error("undecodable packet from server: " + err.message));
    }
    pos += f.total();
    handle_packet(packet);
    if (state_ == State::kClosed) return;
  }
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
  }
  if (filled && in_.size() < kBusyRead) {
    in_.resize(in_.size() * 2);
  } else if (in_len_ == 0 && in_.size() > kBusyRead) {
    // One large packet passed; do not keep its buffer for the connection's life.
    in_.resize(kBusyRead);
    in_.shrink_to_fit();
  }
  start_read();
}

void Client::handle_packet(Packet& p) {
  if (state_ == State::kConnecting && !std::holds_alternative<Connack>(p)) {
    return fail(protocol_error(std::string("expected CONNACK, got ") + name_of(type_of(p))));
  }
  switch (type_of(p)) {
    case PacketType::Connack:
      if (state_ != State::kConnecting) return fail(protocol_error("second CONNACK"));
      return handle_connack(std::get<Connack>(p));
    case PacketType::Publish: return handle_publish(std::get<Publish>(p));
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp: return handle_ack(std::get<Ack>(p));
    case PacketType::Suback: return handle_suback(std::get<Suback>(p));
    case PacketType::Unsuback: return handle_unsuback(std::get<Unsuback>(p));
    case PacketType::Pingresp: ping_outstanding_ = false; return;
    case PacketType::Disconnect: {
      const auto& d = std::get<Disconnect>(p);
      return fail(unavailable("server sent DISCONNECT: " + reason_name(d.reason) +
                              (d.props.reason_string ? " (" + *d.props.reason_string + ")" : "")));
    }
    default: return fail(protocol_error(std::string("unexpected ") + name_of(type_of(p)) + " from server"));
  }
}

void Client::handle_publish(Publish& p) {
  if (on_message_deferred_) return deliver_deferred(p);
  if (p.qos == 2) {
    // Method A: deliver once, remember the id until PUBREL so a retransmitted
    // PUBLISH (DUP) is acknowledged again but not delivered again.
    bool fresh = inbound_qos2_.insert(p.packet_id).second;
    if (fresh && on_message_) on_message_(p);
    if (state_ == State::kClosed) return;
    send(Ack{PacketType::Pubrec, p.packet_id, rc::kSuccess, {}});
    return;
  }
  if (on_message_) on_message_(p);
  if (state_ == State::kClosed) return;
  if (p.qos == 1) send(Ack{PacketType::Puback, p.packet_id, rc::kSuccess, {}});
}

void Client::deliver_deferred(const Publish& p) {
  if (p.qos == 0) {
    on_message_deferred_(p, [] {});
    return;
  }
  if (p.qos == 2 && !inbound_qos2_.insert(p.packet_id).second) {
    // A retransmission of a message we already hold (method A: not delivered
    // again). If its PUBREC still waits for the ack it goes out then, in
    // order; if it was sent, the server missed it: send it again.
    bool waiting = std::any_of(pending_acks_.begin(), pending_acks_.end(),
                               [&](const PendingAck& e) { return e.qos == 2 && e.packet_id == p.packet_id; });
    if (!waiting) send(Ack{PacketType::Pubrec, p.packet_id, rc::kSuccess, {}});
    return;
  }
  const uint64_t seq = next_ack_seq_++;
  pending_acks_.push_back(PendingAck{seq, p.packet_id, p.qos});
  // The ack may run on any thread and outlive us: it only posts the sequence
  // number back to our executor, where complete_ack checks it still applies.
  std::weak_ptr<Client> weak = weak_from_this();
  on_message_deferred_(p, [weak, ex = executor_, seq] {
    asio::post(ex, [weak, seq] {
      if (auto self = weak.lock()) self->complete_ack(seq);
    });
  });
}

void Client::complete_ack(uint64_t seq) {
  // After the connection ended the queue is gone: the server redelivers.
  if (state_ != State::kConnected || pending_acks_.empty()) return;
  const uint64_t first = pending_acks_.front().seq;
  if (seq < first || seq - first >= pending_acks_.size()) return;  // already acked
  pending_acks_[seq - first].done = true;
  while (!pending_acks_.empty() && pending_acks_.front().done) {
    const PendingAck& e = pending_acks_.front();
    send(Ack{e.qos == 2 ? PacketType::Pubrec : PacketType::Puback, e.packet_id, rc::kSuccess, {}});
    pending_acks_.pop_front();
  }
}

void Client::handle_ack(const Ack& a) {
  if (a.type == PacketType::Pubrel) {
    uint8_t reason = inbound_qos2_.erase(a.packet_id) || options_.version != Version::v5
                         ? rc::kSuccess
                         : rc::kPacketIdentifierNotFound;
    send(Ack{PacketType::Pubcomp, a.packet_id, reason, {}});
    return;
  }
  auto it = inflight_.find(a.packet_id);
  if (it == inflight_.end()) {
    // A late ack for a publish we no longer track is harmless; log-worthy only.
    return;
  }
  OutgoingPublish& op = it->second;
  bool finished = false;
  if (a.type == PacketType::Puback) {
    if (op.msg.qos != 1) return fail(protocol_error("PUBACK for a QoS 2 publish"));
    finished = true;
  } else if (a.type == PacketType::Pubrec) {
    if (op.msg.qos != 2) return fail(protocol_error("PUBREC for a QoS 1 publish"));
    if (a.reason >= 0x80) {
      finished = true;  // MQTT 5: a failed PUBREC ends the exchange
    } else {
      op.released = true;
      send(Ack{PacketType::Pubrel, a.packet_id, rc::kSuccess, {}});
    }
  } else {  // Pubcomp
    if (op.msg.qos != 2 || !op.released) return fail(protocol_error("PUBCOMP before PUBREC"));
    finished = true;
  }
  if (!finished) return;
  PublishHandler done = std::move(op.done);
  inflight_.erase(it);
  // Free the slot first so the handler's own publishes queue behind waiting ones.
  send_queued_publishes();
  if (done) {
    if (a.reason >= 0x80) {
      done(Status(Code::kUnavailable, "publish refused: " + reason_name(a.reason)), a.reason);
    } else {
      done(Status::Ok(), a.reason);
    }
  }
}

void Client::handle_suback(Suback& s) {
  auto it = pending_sub_.find(s.packet_id);
  if (it == pending_sub_.end()) return fail(protocol_error("SUBACK with unknown packet id"));
  SubscribeHandler done = std::move(it->second);
  pending_sub_.erase(it);
  if (done) done(std::move(s));
}

void Client::handle_unsuback(Unsuback& u) {
  auto it = pending_unsub_.find(u.packet_id);
  if (it == pending_unsub_.end()) return fail(protocol_error("UNSUBACK with unknown packet id"));
  UnsubscribeHandler done = std::move(it->second);
  pending_unsub_.erase(it);
  if (done) done(std::move(u));
}

// ---------------------------------------------------------------- operations

void Client::publish(std::string topic, std::string payload, uint8_t qos, bool retain, Properties props,
                     PublishHandler done) {
  auto reject = [this, &done](Status s) {
    if (done) asio::post(executor_, [done = std::move(done), s = std::move(s)] { done(s, rc::kUnspecifiedError); });
  };
  if (state_ != State::kConnected) return reject(unavailable("not connected"));
  if (qos > 2) return reject(Status(Code::kInvalidArgument, "QoS must be 0, 1 or 2"));
  if (connack_.props.maximum_qos && qos > *connack_.props.maximum_qos) {
    return reject(Status(Code::kInvalidArgument, "server's Maximum QoS is " +
                                                     std::to_string(*connack_.props.maximum_qos)));
  }
  OutgoingPublish op;
  op.msg.qos = qos;
  op.msg.retain = retain;
  op.msg.topic = std::move(topic);
  op.msg.props = std::move(props);
  op.msg.payload = std::move(payload);
  if (server_max_packet_ && encoded_size(op.msg, options_.version) > *server_max_packet_) {
    return reject(Status(Code::kInvalidArgument, "PUBLISH exceeds the server's Maximum Packet Size"));
  }
  if (qos == 0) {
    send(op.msg);
    if (done) asio::post(executor_, [done = std::move(done)] { done(Status::Ok(), rc::kSuccess); });
    return;
  }
  op.done = std::move(done);
  queue_.push_back(std::move(op));
  send_queued_publishes();
}

void Client::send_queued_publishes() {
  while (!queue_.empty() && inflight_.size() < send_quota_ && state_ == State::kConnected) {
    uint16_t id = next_packet_id();
    if (id == 0) return;  // every id in use; an ack will free one
    OutgoingPublish& op = inflight_.emplace(id, std::move(queue_.front())).first->second;
    queue_.pop_front();
    op.msg.packet_id = id;
    send(op.msg);
  }
}

void Client::subscribe(std::vector<SubscribeTopic> topics, SubscribeHandler done, Properties props) {
  if (state_ != State::kConnected) {
    asio::post(executor_, [done = std::move(done)] { done(unavailable("not connected")); });
    return;
  }
  uint16_t id = next_packet_id();
  if (id == 0) {
    asio::post(executor_, [done = std::move(done)] { done(Status(Code::kResourceExhausted, "no free packet id")); });
    return;
  }
  Subscribe s;
  s.packet_id = id;
  s.props = std::move(props);
  s.topics = std::move(topics);
  pending_sub_.emplace(id, std::move(done));
  send(s);
}

void Client::subscribe(std::string filter, uint8_t qos, SubscribeHandler done) {
  SubscribeTopic t;
  t.filter = std::move(filter);
  t.qos = qos;
  subscribe(std::vector<SubscribeTopic>{std::move(t)}, std::move(done));
}

void Client::unsubscribe(std::vector<std::string> filters, UnsubscribeHandler done, Properties props) {
  if (state_ != State::kConnected) {
    asio::post(executor_, [done = std::move(done)] { done(unavailable("not connected")); });
    return;
  }
  uint16_t id = next_packet_id();
  if (id == 0) {
    asio::post(executor_, [done = std::move(done)] { done(Status(Code::kResourceExhausted, "no free packet id")); });
    return;
  }
  Unsubscribe u;
  u.packet_id = id;
  u.props = std::move(props);
  u.filters = std::move(filters);
  pending_unsub_.emplace(id, std::move(done));
  send(u);
}

uint16_t Client::next_packet_id() {
  for (int i = 0; i < 65535; ++i) {
    if (++last_packet_id_ == 0) last_packet_id_ = 1;
    uint16_t id = last_packet_id_;
    if (!inflight_.count(id) && !pending_sub_.count(id) && !pending_unsub_.count(id)) return id;
  }
  return 0;
}

void Client::disconnect(uint8_t reason, std::function<void()> done) {
  if (state_ != State::kConnected && state_ != State::kConnecting) {
    if (done) asio::post(executor_, std::move(done));
    return;
  }
  if (state_ == State::kConnecting) {
    disconnect_done_ = std::move(done);
    return fail(Status::Ok());
  }
  send(Disconnect{reason, {}});
  state_ = State::kClosing;
  disconnect_done_ = std::move(done);
  // Bound the wait for the flush: a server that stopped reading must not keep us.
  auto self = shared_from_this();
  connect_timer_.expires_after(std::chrono::seconds(5));
  connect_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec && self->state_ == State::kClosing) self->fail(Status::Ok());
  });
  if (!write_in_flight_) flush();
}

void Client::close() {
  if (state_ == State::kClosed) return;
  fail(Status::Ok());
}

void Client::when_buffer_below(size_t threshold, std::function<void()> h) {
  if (buffered_bytes() <= threshold || state_ == State::kClosed) {
    asio::post(executor_, std::move(h));
    return;
  }
  buffer_threshold_ = threshold;
  buffer_waiter_ = std::move(h);
}

// ---------------------------------------------------------------- writing

void Client::send(const Packet& p) {
  encode(p, options_.version, out_);
  if (!write_in_flight_) flush();
}

void Client::flush() {
  if (write_in_flight_ || out_.empty() || state_ == State::kClosed) return;
  writing_.clear();
  std::swap(out_, writing_);
  write_in_flight_ = true;
  last_sent_ = std::chrono::steady_clock::now();
  auto on_done = [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->write_in_flight_ = false;
    self->writing_.clear();
    if (self->state_ == State::kClosed) return;
    if (ec) return self->fail(from_asio("write", ec));
    self->check_buffer_waiter();
    if (self->state_ == State::kClosed) return;
    if (!self->out_.empty()) return self->flush();
    if (self->state_ == State::kClosing) {
      // Everything including DISCONNECT is written: half-close and finish.
      boost::system::error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      self->fail(Status::Ok());
    }
  };
  if (tls_) {
    asio::async_write(tls_->stream, asio::buffer(writing_), std::move(on_done));
  } else {
    asio::async_write(socket_, asio::buffer(writing_), std::move(on_done));
  }
}

void Client::check_buffer_waiter() {
  if (buffer_waiter_ && buffered_bytes() <= buffer_threshold_) {
    auto h = std::move(buffer_waiter_);
    buffer_waiter_ = nullptr;
    h();
  }
}

// ---------------------------------------------------------------- keep-alive

void Client::arm_keep_alive() {
  if (keep_alive_s_ == 0) return;
  // Check twice per interval so a PINGREQ goes out well before the server's
  // 1.5 x keep-alive deadline.
  auto period = std::chrono::milliseconds(keep_alive_s_ * 500);
  keep_alive_timer_.expires_after(period);
  auto self = shared_from_this();
  keep_alive_timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::kConnected) return;
    self->on_keep_alive_tick();
  });
}

void Client::on_keep_alive_tick() {
  auto now = std::chrono::steady_clock::now();
  auto ka = std::chrono::seconds(keep_alive_s_);
  if (ping_outstanding_ && now - ping_sent_ >= ka) {
    return fail(unavailable("keep-alive timeout: no PINGRESP from server"));
  }
  if (!ping_outstanding_ && now - last_sent_ >= ka / 2) {
    ping_outstanding_ = true;
    ping_sent_ = now;
    send(Pingreq{});
  }
  arm_keep_alive();
}

// ---------------------------------------------------------------- teardown

void Client::fail(Status why) {
  if (state_ == State::kClosed) return;
  const bool was_up = state_ == State::kConnected || state_ == State::kClosing;
  state_ = State::kClosed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  connect_timer_.cancel();
  keep_alive_timer_.cancel();

  // Operations still pending fail with the reason, or "connection closed"
  // after an orderly disconnect. Completions run later, on the executor, so a
  // caller of close() never re-enters its own code.
  Status op_err = why.ok() ? unavailable("connection closed") : why;
  std::vector<std::function<void()>> calls;
  if (connect_done_) {
    calls.push_back([h = std::move(connect_done_), op_err] { h(op_err); });
    connect_done_ = nullptr;
  }
  for (auto& [id, op] : inflight_) {
    if (op.done) calls.push_back([h = std::move(op.done), op_err] { h(op_err, rc::kUnspecifiedError); });
  }
  inflight_.clear();
  for (auto& op : queue_) {
    if (op.done) calls.push_back([h = std::move(op.done), op_err] { h(op_err, rc::kUnspecifiedError); });
  }
  queue_.clear();
  for (auto& [id, h] : pending_sub_) {
    if (h) calls.push_back([h = std::move(h), op_err] { h(op_err); });
  }
  pending_sub_.clear();
  for (auto& [id, h] : pending_unsub_) {
    if (h) calls.push_back([h = std::move(h), op_err] { h(op_err); });
  }
  pending_unsub_.clear();
  if (buffer_waiter_) {
    calls.push_back(std::move(buffer_waiter_));
    buffer_waiter_ = nullptr;
  }
  if (disconnect_done_) {
    calls.push_back(std::move(disconnect_done_));
    disconnect_done_ = nullptr;
  }
  if (on_close_ && was_up) calls.push_back([h = on_close_, why] { h(why); });
  out_.clear();
  inbound_qos2_.clear();
  // Never acknowledged: a persistent session on the server delivers them again.
  pending_acks_.clear();
  if (!calls.empty()) {
    asio::post(executor_, [self = shared_from_this(), calls = std::move(calls)] {
      for (auto& c : calls) c();
    });
  }
}

}  // namespace urbis::mqtt
