// One client connection: the packet dispatcher and the write path.
//
// A Connection lives on a single io_context thread and is never touched from
// another thread except through posted work (deliveries, takeover). It reads
// bytes from its Transport, frames and decodes packets, and hands each to one
// handler (handle_connect.cpp, handle_publish.cpp, handle_subscribe.cpp,
// handle_ack.cpp, handle_misc.cpp). Outgoing packets are encoded into one
// buffer that is written with a single write in flight; everything appended
// meanwhile goes out in the next write (write coalescing).
//
// Protocol errors are reported through one function, fail(), which maps a
// reason code to the right packet for the protocol version (CONNACK before
// CONNECT completed, DISCONNECT for MQTT 5 afterwards, a bare close for 3.1.1)
// and closes.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "mqtt/broker/auth.hpp"
#include "mqtt/broker/session.hpp"
#include "mqtt/codec/codec.hpp"
#include "net/transport.hpp"

namespace urbis::mqtt {

class Broker;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Broker& broker, std::unique_ptr<net::Transport> transport, int thread);
  ~Connection();

  void start();

  // Moves deliverable messages from the session queue to the wire. Runs on
  // this connection's thread (posted by deliveries from other threads).
  void flush_session();

  // Another connection took over the session (posted to this thread).
  void taken_over();

  // Server shutdown: MQTT 5 clients get DISCONNECT 0x8B. Runs on this thread.
  void shutdown();

  // Keep-alive / CONNECT timeout check, called by the per-thread sweep.
  void check_timeouts(std::chrono::steady_clock::time_point now);

  // Drops the session's subscriptions that the authorizer no longer allows
  // (after an ACL reload, or when a stored session is resumed). Runs on this
  // connection's thread.
  void recheck_subscriptions();

  // Resumes reading after back-pressure paused it.
  void resume_reading();

  bool closed() const { return state_ == State::kClosed; }
  int thread() const { return thread_; }
  net::Transport& transport() { return *transport_; }
  // Who the client is, for the authorizer and the ingest sink. Assembled from
  // the connection's parts into a per-thread object (no allocation once warm):
  // valid until the next call on this thread. REQUIRES: CONNECT accepted.
  const ClientIdentity& identity() const;
  Version version() const { return version_; }

  // Intrusive links for the per-thread connection list (owned by Broker).
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  enum class State : uint8_t { kWaitConnect, kConnected, kClosing, kClosed };

  void read_more();
  void on_read(const std::error_code& ec, std::span<const uint8_t> data);
  // Processes every complete packet in `data`; returns bytes consumed.
  size_t process(std::span<const uint8_t> data);
  // process() on the buffered partial packet plus what was appended to it.
  // REQUIRES: inbuf_.
  void process_inbuf();
  void dispatch(Packet& p);

  // Handlers (one per packet kind, each in its own file).
  void handle_connect(Connect& c);
  void handle_publish(Publish& p);
  void handle_puback(const Ack& a);
  void handle_pubrec(const Ack& a);
  void handle_pubrel(const Ack& a);
  void handle_pubcomp(const Ack& a);
  void handle_subscribe(Subscribe& s);
  void handle_unsubscribe(Unsubscribe& u);
  void handle_pingreq();
  void handle_disconnect(const Disconnect& d);
  void handle_auth(const Auth& a);

  void send(const Packet& p);
  // PUBACK / PUBREC for a received PUBLISH. Acknowledgements leave in the order
  // the PUBLISH packets arrived (MQTT-4.6.0-2). An ack may wait for
  // `waits` completions (the broker state commit, the ingest commit), reported
  // through the returned id with ack_done(); every later ack waits behind it.
  uint64_t send_ack(Ack a, int waits);
  void ack_done(uint64_t id, const Status& st);
  // A completion callback for ack `id` that may run on any thread.
  std::function<void(const Status&)> ack_completion(uint64_t id);
  // Encodes one PUBLISH; false if it exceeds the client's maximum packet size.
  bool send_publish(const Pending& p, uint16_t packet_id, bool dup);
  void start_write();
  // Sends the reason (if the protocol can carry it) and closes.
  void fail(uint8_t reason, std::string why);
  void close_now();
  void finish();  // after the transport is closed: session and will handling

  // Memory: an idle connected client costs this object, its session, its
  // transport and nothing else (see docs/PERFORMANCE.md). What only some
  // clients use lives in Extras and Credentials, allocated on first use.

  // What a client may never use: MQTT 5 limits and topic aliases, acks
  // waiting for the store, a will, the rate limiter and its timer.
  struct PendingAck {
    Ack ack;
    int waits = 0;  // completions still outstanding; 0 = ready to send
    uint64_t id = 0;
  };
  struct Extras {
    uint32_t client_max_packet = 0;  // 0 = no limit beyond the protocol's
    uint16_t client_alias_max = 0;
    std::vector<std::string> in_aliases;                   // aliases the client set (index = alias)
    std::unordered_map<std::string, uint16_t> out_aliases;  // aliases we assigned toward the client
    // Acks waiting for the store, in arrival order; allocated on first use
    // (an empty std::deque already holds a 512-byte block).
    std::unique_ptr<std::deque<PendingAck>> pending_acks;
    uint64_t ack_counter = 0;
    std::unique_ptr<Will> will;
    // Back-pressure / rate limit: reading resumes when this fires.
    std::unique_ptr<boost::asio::steady_timer> resume_timer;
    // Publish rate limit: token bucket refilled per second; starts full.
    double tokens = 0;
    std::chrono::steady_clock::time_point tokens_at{};  // epoch = not started
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  // What an anonymous client without a certificate does not have.
  struct Credentials {
    std::optional<std::string> username;
    std::string cert_cn;
    std::string principal;  // as the authorizer named it
  };
  std::string_view client_id() const;
  std::string_view principal() const { return creds_ ? std::string_view(creds_->principal) : std::string_view(); }
  uint32_t client_max_packet() const { return extras_ ? extras_->client_max_packet : 0; }
  bool has_pending_acks() const { return extras_ && extras_->pending_acks; }

  Broker& broker_;
  std::unique_ptr<net::Transport> transport_;
  SessionPtr session_;
  std::unique_ptr<Extras> extras_;
  std::unique_ptr<Credentials> creds_;

  // Reading: a partial packet carried between reads; null when idle.
  std::unique_ptr<std::string> inbuf_;
  // Writing: packets waiting for the write in flight to finish.
  std::string outbuf_;
  std::chrono::steady_clock::time_point last_rx_;
  std::chrono::steady_clock::time_point connected_at_;

  const int thread_;
  State state_ = State::kWaitConnect;
  Version version_ = Version::v311;
  uint16_t keep_alive_ = 0;             // effective, seconds
  uint16_t client_receive_max_ = 65535;  // MQTT 5 CONNECT property
  bool send_will_ = true;                // cleared by a normal DISCONNECT
  bool taken_over_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool writing_ = false;
  bool request_problem_info_ = true;
  // Refused at admission (connection limits): CONNECT gets an error CONNACK.
  bool refused_ = false;
  bool counted_connected_ = false;

  boost::asio::steady_timer& resume_timer();
  void pause_for(std::chrono::milliseconds d);
  // Back-pressure: stop reading until `s` is below its queue limit again
  // (checked every few milliseconds), or went offline.
  void wait_for_drain(SessionPtr s);

  friend class Broker;
};

}  // namespace urbis::mqtt
