#include "mqtt/broker/connection.hpp"

#include <boost/asio/post.hpp>

#include "common/log.hpp"
#include "mqtt/broker/broker.hpp"

namespace urbis::mqtt {

namespace {
// Stop pulling from the session queue once this much is waiting to be
// written: the rest stays queued (where the drop policy applies) instead of
// piling up in an unbounded socket buffer.
constexpr size_t kMaxOutbuf = 256 * 1024;
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kClosingTimeout = std::chrono::seconds(5);
}  // namespace

Connection::Connection(Broker& broker, std::unique_ptr<net::Transport> transport, int thread)
    : broker_(broker), transport_(std::move(transport)), thread_(thread) {}

Connection::~Connection() = default;

std::string_view Connection::client_id() const {
  return session_ ? std::string_view(session_->client_id()) : std::string_view();
}

const ClientIdentity& Connection::identity() const {
  // Assigning into strings that already have the capacity copies without
  // allocating: the authorizer sees owned strings without the connection
  // keeping a second copy of each.
  thread_local ClientIdentity id;
  id.client_id.assign(client_id());
  if (creds_ && creds_->username) {
    if (!id.username) id.username.emplace();
    id.username->assign(*creds_->username);
  } else {
    id.username.reset();
  }
  id.remote_ip.assign(transport_->remote_ip());
  id.transport.assign(transport_->kind());
  if (creds_) {
    id.cert_cn.assign(creds_->cert_cn);
  } else {
    id.cert_cn.clear();
  }
  return id;
}

void Connection::start() {
  last_rx_ = connected_at_ = std::chrono::steady_clock::now();
  broker_.link(this);
  read_more();
}

void Connection::read_more() {
  if (reading_ || paused_ || state_ == State::kClosed || state_ == State::kClosing) return;
  reading_ = true;
  transport_->async_read([self = shared_from_this()](const std::error_code& ec, std::span<const uint8_t> data) {
    self->on_read(ec, data);
  });
}

void Connection::on_read(const std::error_code& ec, std::span<const uint8_t> data) {
  reading_ = false;
  if (state_ == State::kClosed) return;
  if (ec) {
    if (state_ != State::kClosing) ULOG_DEBUG("mqtt {} {}: connection lost: {}", transport_->remote_endpoint(), client_id(), ec.message());
    close_now();
    return;
  }
  broker_.stats_.add(Stat::kBytesReceived, data.size());
  last_rx_ = std::chrono::steady_clock::now();
  if (!inbuf_) {
    size_t used = process(data);
    if (state_ == State::kClosed) return;
    if (used < data.size() && (state_ == State::kConnected || state_ == State::kWaitConnect)) {
      inbuf_ = std::make_unique<std::string>(reinterpret_cast<const char*>(data.data() + used), data.size() - used);
    }
  } else {
    inbuf_->append(reinterpret_cast<const char*>(data.data()), data.size());
    process_inbuf();
    if (state_ == State::kClosed) return;
  }
  start_write();
  read_more();
}

void Connection::process_inbuf() {
  auto& in = *inbuf_;
  size_t used = process(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  if (state_ == State::kClosed) return;
  if (used == in.size()) {
    inbuf_.reset();  // idle connections keep no buffer
  } else {
    in.erase(0, used);
  }
}

size_t Connection::process(std::span<const uint8_t> data) {
  size_t pos = 0;
  auto opts = broker_.options();
  thread_local Packet packet;
  // Stops early when a handler paused reading (rate limit, back-pressure):
  // the rest stays buffered until reading resumes.
  while (pos < data.size() && !paused_ && (state_ == State::kWaitConnect || state_ == State::kConnected)) {
    auto rest = data.subspan(pos);
    Frame f = frame(rest, opts->max_packet_size);
    if (f.state == Frame::State::kIncomplete) break;
    if (f.state == Frame::State::kMalformed) {
      fail(rc::kMalformedPacket, "malformed remaining length");
      break;
    }
    if (f.state == Frame::State::kTooLarge) {
      fail(rc::kPacketTooLarge, "packet of " + std::to_string(f.total()) + " bytes exceeds maximum packet size " +
                                    std::to_string(opts->max_packet_size));
      break;
    }
    DecodeError err;
    if (!decode(rest.first(f.total()), version_, packet, err)) {
      if (state_ == State::kWaitConnect) {
        // Answer a broken CONNECT in the version it asked for (a 3.1.1
        // client cannot parse a v5 CONNACK, and the reverse).
        if (auto v = connect_version(rest.first(f.total()))) version_ = *v;
      }
      fail(err.reason, err.message);
      break;
    }
    pos += f.total();
    dispatch(packet);
  }
  return pos;
}

void Connection::dispatch(Packet& p) {
  PacketType t = type_of(p);
  if (state_ == State::kWaitConnect) {
    if (t != PacketType::Connect) {
      fail(rc::kProtocolError, std::string("expected CONNECT, got ") + name_of(t));
      return;
    }
    handle_connect(std::get<Connect>(p));
    return;
  }
  switch (t) {
    case PacketType::Publish: handle_publish(std::get<Publish>(p)); break;
    case PacketType::Puback: handle_puback(std::get<Ack>(p)); break;
    case PacketType::Pubrec: handle_pubrec(std::get<Ack>(p)); break;
    case PacketType::Pubrel: handle_pubrel(std::get<Ack>(p)); break;
    case PacketType::Pubcomp: handle_pubcomp(std::get<Ack>(p)); break;
    case PacketType::Subscribe: handle_subscribe(std::get<Subscribe>(p)); break;
    case PacketType::Unsubscribe: handle_unsubscribe(std::get<Unsubscribe>(p)); break;
    case PacketType::Pingreq: handle_pingreq(); break;
    case PacketType::Disconnect: handle_disconnect(std::get<Disconnect>(p)); break;
    case PacketType::Auth: handle_auth(std::get<Auth>(p)); break;
    case PacketType::Connect: fail(rc::kProtocolError, "second CONNECT on one connection"); break;
    default: fail(rc::kProtocolError, std::string(name_of(t)) + " is not sent by clients"); break;
  }
}

void Connection::send(const Packet& p) { encode(p, version_, outbuf_); }

uint64_t Connection::send_ack(Ack a, int waits) {
  if (waits == 0 && !has_pending_acks()) {
    send(a);
    return 0;
  }
  auto& x = extras();
  if (!x.pending_acks) x.pending_acks = std::make_unique<std::deque<PendingAck>>();
  uint64_t id = ++x.ack_counter;
  x.pending_acks->push_back({std::move(a), waits, id});
  return id;
}

std::function<void(const Status&)> Connection::ack_completion(uint64_t id) {
  return [self = shared_from_this(), id](const Status& st) {
    boost::asio::post(self->transport_->executor(), [self, id, st] { self->ack_done(id, st); });
  };
}

void Connection::ack_done(uint64_t id, const Status& st) {
  if (state_ != State::kConnected || !has_pending_acks()) return;
  auto& acks = extras_->pending_acks;
  for (auto& p : *acks) {
    if (p.id != id) continue;
    if (!st.ok()) {
      // Refused by the sink (bad payload, unknown or disabled device): the
      // sink keeps the reason and logs at a bounded rate, and sending the
      // message again would not help. Anything else is a storage failure.
      const bool bad_payload = st.code() == Code::kInvalidArgument;
      const bool refused = bad_payload || st.code() == Code::kPermissionDenied || st.code() == Code::kNotFound;
      if (!refused) {
        ULOG_WARN("mqtt {}: message from '{}' not stored: {}", transport_->remote_endpoint(), client_id(),
                  st.message());
      }
      if (version_ == Version::v311 && !refused) {
        // 3.1.1 cannot say "failed": close without acknowledging, so the
        // client sends the message again when it reconnects.
        close_now();
        return;
      }
      if (version_ == Version::v5 && p.ack.reason < 0x80) {
        p.ack.reason = bad_payload ? rc::kPayloadFormatInvalid : refused ? rc::kNotAuthorized : rc::kUnspecifiedError;
        if (request_problem_info_) p.ack.props.reason_string = st.message();
      }
    }
    if (p.waits > 0) --p.waits;
    break;
  }
  while (!acks->empty() && acks->front().waits == 0) {
    send(acks->front().ack);
    acks->pop_front();
  }
  if (acks->empty()) acks.reset();
  start_write();
}

bool Connection::send_publish(const Pending& pd, uint16_t packet_id, bool dup) {
  thread_local Publish pub;
  const Message& m = *pd.msg;
  pub.qos = pd.qos;
  pub.retain = pd.retain;
  pub.dup = dup;
  pub.packet_id = pd.qos ? packet_id : 0;
  pub.payload = m.payload;
  if (version_ == Version::v5) {
    pub.props = m.props;
    pub.props.subscription_identifiers = pd.sub_ids;
    if (m.expiry_unix_ms) {
      int64_t left = (m.expiry_unix_ms - broker_.clock_.unix_ms() + 999) / 1000;
      pub.props.message_expiry_interval = static_cast<uint32_t>(std::max<int64_t>(left, 1));
    }
    pub.topic = m.topic;
    if (extras_ && extras_->client_alias_max > 0) {
      auto& aliases = extras_->out_aliases;
      auto it = aliases.find(m.topic);
      if (it != aliases.end()) {
        pub.topic.clear();
        pub.props.topic_alias = it->second;
      } else if (aliases.size() < extras_->client_alias_max) {
        uint16_t alias = static_cast<uint16_t>(aliases.size() + 1);
        aliases.emplace(m.topic, alias);
        pub.props.topic_alias = alias;
      }
    }
  } else {
    pub.topic = m.topic;
  }
  size_t before = outbuf_.size();
  encode(Packet(std::in_place_type<Publish>, pub), version_, outbuf_);
  if (uint32_t max = client_max_packet(); max && outbuf_.size() - before > max) {
    // MQTT-3.1.2-25: never send a packet larger than the client accepts.
    outbuf_.resize(before);
    if (pub.props.topic_alias && !pub.topic.empty()) extras_->out_aliases.erase(m.topic);
    broker_.stats_.add(Stat::kDroppedTooLarge);
    return false;
  }
  broker_.stats_.add(Stat::kMessagesSent);
  return true;
}

void Connection::flush_session() {
  if (state_ != State::kConnected || !session_) return;
  auto& s = *session_;
  std::unique_lock lock(s.mu);
  s.flush_scheduled = false;
  if (s.conn.get() != this) return;
  uint32_t window = client_receive_max_;
  if (version_ == Version::v311) window = broker_.options()->receive_maximum;
  int64_t now_ms = 0;
  while (!s.queue.empty() && outbuf_.size() < kMaxOutbuf) {
    Pending& p = s.queue.front();
    if (p.qos > 0 && s.inflight.size() >= window) break;  // the client's receive maximum
    size_t bytes = p.msg->payload.size() + p.msg->topic.size();
    bool expired = false;
    if (p.msg->expiry_unix_ms) {
      if (!now_ms) now_ms = broker_.clock_.unix_ms();
      expired = p.msg->expiry_unix_ms <= now_ms;
    }
    if (expired) {
      broker_.stats_.add(Stat::kDroppedExpired);
      if (p.seq) broker_.store_erase_queued(s, p.seq);
    } else if (p.qos > 0) {
      uint16_t id = s.allocate_packet_id();
      if (send_publish(p, id, false)) {
        auto& inf = s.inflight[id];
        inf.p = std::move(p);
        // Recording the packet id lets a restarted broker resend it with DUP set.
        if (inf.p.seq) broker_.persist_queued(s, inf.p, id, false);
      } else if (p.seq) {
        broker_.store_erase_queued(s, p.seq);
      }
    } else {
      send_publish(p, 0, false);
    }
    s.queued_bytes -= bytes;
    s.queue.pop_front();
  }
  lock.unlock();
  start_write();
}

void Connection::start_write() {
  if (writing_ || outbuf_.empty() || state_ == State::kClosed) return;
  writing_ = true;
  std::string data;
  data.swap(outbuf_);
  broker_.stats_.add(Stat::kBytesSent, data.size());
  transport_->async_write(std::move(data), [self = shared_from_this()](const std::error_code& ec) {
    self->writing_ = false;
    if (ec) {
      self->close_now();
      return;
    }
    if (self->state_ == State::kClosing && self->outbuf_.empty()) {
      self->close_now();
      return;
    }
    self->flush_session();
    self->start_write();
  });
}

void Connection::fail(uint8_t reason, std::string why) {
  if (state_ == State::kClosed || state_ == State::kClosing) return;
  ULOG_DEBUG("mqtt {} {}: closing: {} (reason 0x{:02X})", transport_->remote_endpoint(), client_id(), why,
             reason);
  if (state_ == State::kWaitConnect) {
    // CONNACK can carry the reason; 3.1.1 only has return codes for a few of them.
    bool v311_code = reason == rc::kUnsupportedProtocolVersion || reason == rc::kClientIdentifierNotValid ||
                     reason == rc::kServerUnavailable || reason == rc::kServerBusy || reason == rc::kQuotaExceeded ||
                     reason == rc::kBadUserNameOrPassword || reason == rc::kNotAuthorized ||
                     reason == rc::kBanned;
    if (version_ == Version::v5 || v311_code) {
      Connack ack;
      ack.reason = reason;
      if (version_ == Version::v5 && request_problem_info_ && !why.empty()) ack.props.reason_string = why;
      send(ack);
    }
  } else if (version_ == Version::v5) {
    Disconnect d;
    d.reason = reason;
    if (request_problem_info_ && !why.empty()) d.props.reason_string = std::move(why);
    send(d);
  }
  state_ = State::kClosing;
  connected_at_ = std::chrono::steady_clock::now();  // start of the closing grace period
  if (outbuf_.empty() && !writing_) {
    close_now();
  } else {
    start_write();
  }
}

void Connection::close_now() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  transport_->close();
  if (extras_ && extras_->resume_timer) extras_->resume_timer->cancel();
  broker_.unlink(this);
  finish();
}

void Connection::finish() {
  broker_.release(transport_->remote_ip(), refused_);
  if (counted_connected_) broker_.connected_.fetch_sub(1, std::memory_order_relaxed);
  if (session_) {
    uint32_t expiry;
    {
      std::lock_guard lock(session_->mu);
      expiry = session_->expiry_interval;
    }
    broker_.detach_session(session_, this, extras_ ? std::move(extras_->will) : nullptr, send_will_, expiry);
    session_.reset();
  }
  inbuf_.reset();
  std::string().swap(outbuf_);
}

void Connection::taken_over() {
  if (state_ == State::kClosed) return;
  taken_over_ = true;
  fail(rc::kSessionTakenOver, "another connection uses this client identifier");
}

void Connection::shutdown() {
  if (state_ == State::kClosed) return;
  // The server closes without the client's DISCONNECT: its will is published
  // (MQTT 5 3.1.2.5), at once, since a delay cannot outlive this process.
  if (extras_ && extras_->will) extras_->will->props.will_delay_interval.reset();
  if (state_ == State::kConnected) {
    fail(rc::kServerShuttingDown, "server shutting down");
  } else {
    close_now();
  }
}

void Connection::check_timeouts(std::chrono::steady_clock::time_point now) {
  switch (state_) {
    case State::kWaitConnect:
      if (now - connected_at_ > kConnectTimeout) {
        ULOG_DEBUG("mqtt {}: no CONNECT within {}s", transport_->remote_endpoint(), kConnectTimeout.count());
        close_now();
      }
      break;
    case State::kConnected:
      // MQTT-3.1.2-24: one and a half times the keep-alive without a packet.
      if (keep_alive_ && now - last_rx_ > std::chrono::milliseconds(keep_alive_ * 1500)) {
        fail(rc::kKeepAliveTimeout, "keep-alive timeout");
        if (state_ == State::kClosing) close_now();  // the peer is gone; do not wait for the write
      }
      break;
    case State::kClosing:
      if (now - connected_at_ > kClosingTimeout) close_now();
      break;
    case State::kClosed:
      break;
  }
}

boost::asio::steady_timer& Connection::resume_timer() {
  auto& x = extras();
  if (!x.resume_timer) x.resume_timer = std::make_unique<boost::asio::steady_timer>(transport_->executor());
  return *x.resume_timer;
}

void Connection::pause_for(std::chrono::milliseconds d) {
  if (paused_ || state_ != State::kConnected) return;
  paused_ = true;
  auto& timer = resume_timer();
  timer.expires_after(d);
  timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->state_ == State::kConnected) self->resume_reading();
  });
}

void Connection::wait_for_drain(SessionPtr s) {
  if (paused_ || state_ != State::kConnected) return;
  paused_ = true;
  auto& timer = resume_timer();
  timer.expires_after(std::chrono::milliseconds(2));
  timer.async_wait([self = shared_from_this(), s = std::move(s)](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::kConnected) return;
    bool still_full;
    {
      auto o = self->broker_.options();
      std::lock_guard lock(s->mu);
      still_full = s->conn && !s->discarded &&
                   (s->queue.size() >= o->max_queued_messages || s->queued_bytes >= o->max_queued_bytes);
    }
    if (still_full) {
      self->paused_ = false;
      self->wait_for_drain(s);
    } else {
      self->resume_reading();
    }
  });
}

void Connection::resume_reading() {
  paused_ = false;
  if (inbuf_ && state_ == State::kConnected) {
    // Packets read before the pause come first.
    process_inbuf();
    if (state_ == State::kClosed) return;
    start_write();
  }
  read_more();
}

}  // namespace urbis::mqtt
