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
  const ClientIdentity& identity() const { return identity_; }
  Version version() const { return version_; }

  // Intrusive links for the per-thread connection list (owned by Broker).
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  enum class State { kWaitConnect, kConnected, kClosing, kClosed };

  void read_more();
  void on_read(const std::error_code& ec, std::span<const uint8_t> data);
  // Processes every complete packet in `data`; returns bytes consumed.
  size_t process(std::span<const uint8_t> data);
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

  Broker& broker_;
  std::unique_ptr<net::Transport> transport_;
  const int thread_;
  State state_ = State::kWaitConnect;
  Version version_ = Version::v311;
  ClientIdentity identity_;
  std::string principal_;
  SessionPtr session_;
  std::unique_ptr<Will> will_;  // most clients have none: keep it off the connection
  bool send_will_ = true;  // cleared by a normal DISCONNECT
  bool taken_over_ = false;

  // Reading.
  std::string inbuf_;  // a partial packet carried between reads; empty when idle
  bool reading_ = false;
  bool paused_ = false;
  std::chrono::steady_clock::time_point last_rx_;
  std::chrono::steady_clock::time_point connected_at_;
  uint16_t keep_alive_ = 0;  // effective, seconds

  // Writing.
  std::string outbuf_;
  bool writing_ = false;

  // What the client told us about itself (MQTT 5 CONNECT properties).
  uint32_t client_max_packet_ = 0;   // 0 = no limit beyond the protocol's
  uint16_t client_receive_max_ = 65535;
  uint16_t client_alias_max_ = 0;
  bool request_problem_info_ = true;
  // Topic aliases the client set (index = alias).
  std::vector<std::string> in_aliases_;
  // Aliases we assigned toward the client.
  std::unordered_map<std::string, uint16_t> out_aliases_;
  // Acks waiting for the store, in arrival order; allocated on first use.
  struct PendingAck {
    Ack ack;
    int waits = 0;  // completions still outstanding; 0 = ready to send
    uint64_t id = 0;
  };
  std::unique_ptr<std::deque<PendingAck>> pending_acks_;
  uint64_t ack_counter_ = 0;

  // Refused at admission (connection limits): CONNECT gets an error CONNACK.
  bool refused_ = false;
  bool counted_connected_ = false;
  // Back-pressure / rate limit: reading resumes when this fires. Allocated on
  // first use so idle connections do not pay for it.
  std::unique_ptr<boost::asio::steady_timer> resume_timer_;
  void pause_for(std::chrono::milliseconds d);
  // Back-pressure: stop reading until `s` is below its queue limit again
  // (checked every few milliseconds), or went offline.
  void wait_for_drain(SessionPtr s);

  // Publish rate limit: token bucket refilled per second.
  double tokens_ = 0;
  std::chrono::steady_clock::time_point tokens_at_;

  friend class Broker;
};

}  // namespace urbis::mqtt
