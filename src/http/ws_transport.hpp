// MQTT over WebSocket: a net::Transport over a Beast WebSocket stream.
//
// MQTT (both 3.1.1 and 5.0, section 6) puts the packet bytes into binary frames
// with no alignment promise: a packet may span frames and a frame may hold
// several packets. So this transport ignores frame boundaries and passes bytes
// through; the broker's MQTT reader reassembles packets as it does over TCP.
// Writes go out as one binary frame each.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <string>

#include "net/transport.hpp"

namespace urbis::http {

class WsTransport final : public net::Transport {
 public:
  using Stream = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;

  // REQUIRES: the WebSocket handshake on `stream` has completed.
  explicit WsTransport(Stream stream);
  // Closes the stream. Outstanding handlers still run (with an error) and keep
  // the stream state alive until they have.
  ~WsTransport() override;

  boost::asio::any_io_executor executor() override;
  void async_read(ReadHandler handler) override;
  void async_write(std::string data, WriteHandler handler) override;
  // Sends a WebSocket close frame (after an in-flight write, if any) and closes
  // the socket when the peer answers or after a 5 s timeout.
  void close() override;
  std::string remote_endpoint() const override { return remote_endpoint_; }
  const std::string& remote_ip() const override { return remote_ip_; }
  const char* kind() const override { return "ws"; }

  struct State;  // shared with in-flight handlers; public only for the .cpp

 private:
  std::shared_ptr<State> st_;
  std::string remote_endpoint_;
  std::string remote_ip_;
};

}  // namespace urbis::http
