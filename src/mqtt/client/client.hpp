// An asynchronous MQTT 3.1.1 / 5.0 client over TCP or TLS, on one io_context.
//
// Used by `urbis bench mqtt`, the NGSI-LD notifier (mqtt:// and mqtts://
// endpoints) and the upstream bridge ([[devices.upstream]]). It is
// deliberately small: one connection, no automatic reconnect, no persistence of
// the in-flight window across connections (a bridge that needs that keeps its
// own outbox and republishes).
//
// Design notes
// - Writes are coalesced: every packet is encoded and appended to an output
//   buffer; at most one async_write is in flight, and the next one takes
//   everything appended meanwhile. Under load this turns thousands of small
//   packets into a few large writes, which is what makes the bench generator
//   cheap compared to the broker it measures.
// - Reads go into one growable buffer; codec frame() finds packet boundaries,
//   decode() turns one complete packet into a value.
// - Flow control: outgoing QoS 1/2 publishes are limited by the send quota
//   (the server's Receive Maximum from CONNACK, capped by
//   ClientOptions::max_inflight). Publishes beyond the window wait in a local
//   FIFO and are sent as acknowledgements free slots, so the order of
//   publication is kept.
// - Received QoS 1/2 messages are acknowledged automatically after the
//   on_message callback returns. QoS 2 uses "method A" delivery (deliver on
//   PUBLISH, remember the packet id until PUBREL) so a duplicate PUBLISH with
//   the same id is not delivered twice.
// - Manual acknowledgement (on_message_deferred): the handler gets an `ack`
//   to call once the message is safe (e.g. committed). MQTT 5 §4.6 wants
//   PUBACK/PUBREC in the order the PUBLISHes arrived, while commits may finish
//   in any order, so received QoS 1/2 messages wait in an arrival-ordered
//   queue; an ack marks its entry done and every done entry at the head is
//   acknowledged on the wire. A message that is never acked holds back the
//   acks behind it (and, through the server's Receive Maximum, new
//   deliveries): that is the back-pressure. When the connection ends, the
//   queue is dropped unacknowledged, so a server holding a persistent session
//   (clean_start = false, session_expiry > 0) delivers those messages again
//   on the next connection; acks called after that are ignored.
//
// - TLS (ClientOptions::tls): the same code over an OpenSSL stream layered on
//   the TCP socket; the plain path pays one branch per read and write. The
//   handshake runs between TCP connect and CONNECT, under connect_timeout.
//   What is verified is the context's choice (net::make_client_tls_context:
//   chain to a trusted CA and the host name), set up per connection by
//   net::prepare_client_handshake, so a failure reads the same as for https.
//   The connection ends without a TLS close_notify: DISCONNECT already says
//   the session is over, and waiting for the server's reply could hold us.
//
// Threading: not thread-safe. Create, use and destroy a Client on the thread
// that runs its executor (or post to it). Every completion handler runs on that
// executor, never inline from the call that started the operation.
//
// Lifetime: a Client is owned by a std::shared_ptr (use Client::create); its
// pending operations keep it alive until they complete. close() completes every
// pending operation with an error, so dropping the last user reference after
// close() frees it once the io_context has run the cancellations.
// A Client makes one connection: to reconnect, create a new Client (a bridge
// keeps its own outbox and republishes what was not acknowledged).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.hpp"
#include "mqtt/codec/packet.hpp"

namespace boost::asio::ssl {
class context;
}

namespace urbis::mqtt {

struct ClientOptions {
  // Client identifier. Empty asks the server to assign one (MQTT 5 reports it in
  // CONNACK's assigned_client_identifier; 3.1.1 requires clean_start then).
  std::string client_id;
  // Protocol version spoken on this connection.
  Version version = Version::v5;
  // Start a new session (3.1.1 "clean session").
  bool clean_start = true;
  // Keep-alive in seconds; 0 disables PINGREQ. The server may override it in
  // MQTT 5 (server_keep_alive), which the client then follows.
  uint16_t keep_alive = 60;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<Will> will;
  // MQTT 5 Session Expiry Interval in seconds; 0 ends the session on disconnect.
  uint32_t session_expiry = 0;
  // How many QoS 1/2 publishes we accept from the server at once (MQTT 5
  // Receive Maximum sent in CONNECT). 65535 means "no limit" and is not sent.
  uint16_t receive_maximum = 65535;
  // Our own cap on outgoing QoS 1/2 publishes in flight; the effective window
  // is min(this, server Receive Maximum). For MQTT 3.1.1, which has no Receive
  // Maximum, this is the window.
  uint16_t max_inflight = 65535;
  // Largest packet we accept (MQTT 5 Maximum Packet Size, also enforced for
  // 3.1.1). 0 means the protocol limit (268,435,460 bytes).
  uint32_t maximum_packet_size = 0;
  // Extra CONNECT properties (MQTT 5), e.g. user properties or authentication.
  Properties connect_props;
  // Time allowed for TCP connect + TLS handshake + CONNACK.
  std::chrono::milliseconds connect_timeout{10000};
  // With a context, the connection speaks TLS (mqtts://), verified as the
  // context says; make it with net::make_client_tls_context (or
  // LazyClientTlsContext) so trust is the same as for every TLS client of
  // Urbis. The host passed to connect() is the name checked against the
  // certificate and sent as SNI. Null: plain TCP.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// Outcome of CONNECT. A refused connection (reason >= 0x80) is reported as a
// non-ok Status whose message names the reason code; the Connack is then only
// reachable through the message.
using ConnectHandler = std::function<void(Result<Connack>)>;
// QoS 0: completes once the packet is handed to the socket buffer.
// QoS 1: on PUBACK. QoS 2: on PUBCOMP. `reason` is the server's reason code
// (0x00 or 0x10 "no matching subscribers" are successes); a reason >= 0x80 or
// a lost connection give a non-ok Status.
using PublishHandler = std::function<void(const Status&, uint8_t reason)>;
// SUBACK/UNSUBACK with one reason per filter; per-filter failures (>= 0x80)
// are not a Status error: the caller decides what a refused filter means.
using SubscribeHandler = std::function<void(Result<Suback>)>;
using UnsubscribeHandler = std::function<void(Result<Unsuback>)>;
// A message from the server. Runs before the acknowledgement is sent.
using MessageHandler = std::function<void(const Publish&)>;
// Acknowledges one received message (see on_message_deferred). Callable from
// any thread, any number of times (only the first counts), also after the
// connection ended or the Client is gone (then it does nothing).
// REQUIRES: the Client's io_context still exists (the call posts to it).
using AckFunction = std::function<void()>;
// A message from the server whose acknowledgement waits for `ack`. For QoS 0
// `ack` does nothing.
using DeferredMessageHandler = std::function<void(const Publish&, AckFunction ack)>;
// An established connection (CONNACK received) ended: ok Status after our own
// disconnect()/close(), an error otherwise (network error, server DISCONNECT,
// protocol violation, keep-alive). A failed connect is reported only to the
// connect handler.
using CloseHandler = std::function<void(const Status&)>;

class Client : public std::enable_shared_from_this<Client> {
 public:
  static std::shared_ptr<Client> create(boost::asio::any_io_executor executor);
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Set these before connect(). They are called on the executor.
  void on_message(MessageHandler h) { on_message_ = std::move(h); }
  // Manual acknowledgement instead of on_message (set one of the two): the
  // PUBACK (QoS 1) or PUBREC (QoS 2) of each message is sent only once its
  // `ack` has been called and every message received before it is acked too.
  void on_message_deferred(DeferredMessageHandler h) { on_message_deferred_ = std::move(h); }
  void on_close(CloseHandler h) { on_close_ = std::move(h); }

  // Resolves host, opens TCP (TCP_NODELAY), runs the TLS handshake when
  // options.tls is set, sends CONNECT and completes with the CONNACK. A server
  // certificate that does not verify fails with kUnavailable and a message
  // starting "TLS handshake with host:port: " and naming the problem
  // ("certificate verify failed: ..."). REQUIRES: connect() not called before
  // on this Client.
  void connect(const std::string& host, uint16_t port, ClientOptions options, ConnectHandler done);

  // Publishes a message. REQUIRES: qos <= 2, topic valid (or empty with an
  // MQTT 5 topic alias). Allowed before CONNACK only in the sense that it fails:
  // publishing while not connected completes with kUnavailable.
  // The `done` handler may be empty.
  void publish(std::string topic, std::string payload, uint8_t qos, bool retain = false,
               Properties props = {}, PublishHandler done = {});

  // REQUIRES: topics non-empty.
  void subscribe(std::vector<SubscribeTopic> topics, SubscribeHandler done, Properties props = {});
  // Convenience for one filter.
  void subscribe(std::string filter, uint8_t qos, SubscribeHandler done);
  // REQUIRES: filters non-empty.
  void unsubscribe(std::vector<std::string> filters, UnsubscribeHandler done, Properties props = {});

  // Sends DISCONNECT with `reason`, flushes what is buffered, closes the socket
  // and then calls `done` (may be empty). Pending operations fail with kUnavailable.
  void disconnect(uint8_t reason = rc::kSuccess, std::function<void()> done = {});
  // Closes the socket at once without DISCONNECT (the server publishes the Will).
  void close();

  // True between a successful CONNACK and the end of the connection.
  bool connected() const { return state_ == State::kConnected; }
  // Outgoing QoS 1/2 window: min(server Receive Maximum, options.max_inflight).
  uint16_t send_quota() const { return send_quota_; }
  // QoS 1/2 publishes sent and not yet acknowledged, and publishes waiting for a slot.
  size_t inflight() const { return inflight_.size(); }
  size_t queued() const { return queue_.size(); }
  // Received QoS 1/2 messages not yet acknowledged to the server (manual mode).
  size_t unacked() const { return pending_acks_.size(); }
  // Bytes encoded but not yet written to the socket (the one in-flight write included).
  size_t buffered_bytes() const { return out_.size() + writing_.size(); }
  // Calls `h` once, on the executor, when buffered_bytes() <= threshold (at once,
  // via post, if that already holds). Lets a QoS 0 producer apply back-pressure.
  // Only one waiter at a time; a new call replaces the previous waiter.
  void when_buffer_below(size_t threshold, std::function<void()> h);
  // The CONNACK of the current connection. REQUIRES: connected().
  const Connack& connack() const { return connack_; }
  Version version() const { return options_.version; }
  boost::asio::any_io_executor executor() const { return executor_; }

 private:
  enum class State { kIdle, kConnecting, kConnected, kClosing, kClosed };

  struct OutgoingPublish {
    Publish msg;
    PublishHandler done;
    bool released = false;  // QoS 2: PUBREC received, PUBREL sent
  };

  explicit Client(boost::asio::any_io_executor executor);

  void on_resolved(const boost::asio::ip::tcp::resolver::results_type& endpoints);
  void on_tcp_connected();
  void on_transport_ready();
  void start_read();
  void on_read(size_t n);
  void handle_packet(Packet& p);
  void handle_connack(Connack& c);
  void handle_publish(Publish& p);
  // Manual mode: delivers `p` with an ack that completes its queue entry.
  void deliver_deferred(const Publish& p);
  void complete_ack(uint64_t seq);
  void handle_ack(const Ack& a);
  void handle_suback(Suback& s);
  void handle_unsuback(Unsuback& u);

  void send(const Packet& p);
  void flush();
  void check_buffer_waiter();
  void send_queued_publishes();
  void send_publish(OutgoingPublish& op, bool dup);
  uint16_t next_packet_id();

  void arm_keep_alive();
  void on_keep_alive_tick();

  // Ends the connection: cancels I/O, fails every pending operation and reports
  // `why` through on_close (once; ok after our own disconnect/close).
  void fail(Status why);

  boost::asio::any_io_executor executor_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  // The TLS layer over socket_ (ClientOptions::tls); null for plain TCP.
  struct Tls;
  std::unique_ptr<Tls> tls_;
  std::string host_;  // as given to connect(), for TLS and messages
  uint16_t port_ = 0;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer keep_alive_timer_;

  State state_ = State::kIdle;
  ClientOptions options_;
  Connack connack_;
  size_t max_in_packet_ = 0;
  std::optional<uint32_t> server_max_packet_;
  uint16_t send_quota_ = 65535;
  uint16_t keep_alive_s_ = 0;

  MessageHandler on_message_;
  DeferredMessageHandler on_message_deferred_;
  CloseHandler on_close_;
  ConnectHandler connect_done_;
  std::function<void()> disconnect_done_;

  // Input: bytes [0, in_len_) of in_ are received and not yet parsed.
  std::vector<uint8_t> in_;
  size_t in_len_ = 0;
  // Output: out_ collects encoded packets; writing_ is the write in flight.
  std::string out_;
  std::string writing_;
  bool write_in_flight_ = false;
  size_t buffer_threshold_ = 0;
  std::function<void()> buffer_waiter_;

  uint16_t last_packet_id_ = 0;
  std::unordered_map<uint16_t, OutgoingPublish> inflight_;  // by packet id
  std::deque<OutgoingPublish> queue_;                       // waiting for a slot
  std::unordered_map<uint16_t, SubscribeHandler> pending_sub_;
  std::unordered_map<uint16_t, UnsubscribeHandler> pending_unsub_;
  std::unordered_set<uint16_t> inbound_qos2_;  // PUBREC sent or pending, PUBREL not yet seen

  // Manual mode: received QoS 1/2 messages in arrival order, each numbered by
  // seq (consecutive), waiting to be acknowledged on the wire.
  struct PendingAck {
    uint64_t seq;
    uint16_t packet_id;
    uint8_t qos;
    bool done = false;
  };
  std::deque<PendingAck> pending_acks_;
  uint64_t next_ack_seq_ = 1;

  std::chrono::steady_clock::time_point last_sent_{};
  std::chrono::steady_clock::time_point ping_sent_{};
  bool ping_outstanding_ = false;
};

// A readable name for a reason code, e.g. "0x87 Not authorized", for messages.
std::string reason_name(uint8_t reason);

}  // namespace urbis::mqtt
