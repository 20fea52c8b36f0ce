// Private to the notifier: HTTP(S) POST of notifications over a keep-alive
// connection pool, one pool per (scheme, host, port).
//
// A send takes an idle connection of its host, or opens one while the host has
// fewer than max_connections_per_host, or waits (FIFO) for one to be released.
// A connection goes back to the idle list when the response allowed keep-alive
// (at most max_idle_per_host are kept). A reused connection that the server
// had closed meanwhile (EOF/reset before any response byte) is replaced by a
// fresh one once within the same attempt, so an idle timeout on the receiver's
// side is not reported as a failure.
//
// Threading: every method runs on the strand given to the constructor.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.hpp"
#include "net/tls_context.hpp"
#include "ngsild/notify/notifier.hpp"
#include "ngsild/notify/target.hpp"

namespace urbis::ngsild::notify {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

class HttpSender {
 public:
  // `tls` (used for https:// only) must outlive the sender; it is used on the strand.
  HttpSender(Strand strand, const NotifierOptions& options, net::LazyClientTlsContext& tls);
  ~HttpSender();
  // REQUIRES: t is http or https. `done` is called exactly once, on the strand.
  void send(const Target& t, const Delivery& d, SendDone done);
  // Closes every connection; sends in progress and waiting fail.
  void close();
  uint64_t connections_opened() const { return opened_; }

  struct Conn;
  struct Host;
  struct Job;

 private:
  Host& host_for(const Target& t);
  void run(Host& h, std::shared_ptr<Conn> c, std::shared_ptr<Job> job);
  void release(Host& h, std::shared_ptr<Conn> c, bool reusable);
  std::shared_ptr<Conn> make_conn(const Host& h);

  Strand strand_;
  const NotifierOptions& options_;
  net::LazyClientTlsContext& tls_;
  std::unordered_map<std::string, std::unique_ptr<Host>> hosts_;
  std::unordered_set<std::shared_ptr<Conn>> all_;
  bool closed_ = false;
  uint64_t opened_ = 0;
};

}  // namespace urbis::ngsild::notify
