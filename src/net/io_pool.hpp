// A pool of single-threaded io_contexts, one thread each.
//
// Every connection lives on exactly one context for its whole life, so its
// state needs no locks; work for another connection is posted to that
// connection's context. This is how Urbis uses every core without sharing a
// hot io_context between threads.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace urbis::net {

class IoPool {
 public:
  // threads == 0 means one per hardware thread.
  explicit IoPool(size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(size_t i) { return *contexts_[i]; }
  // Round-robin choice for a new connection. Thread-safe.
  boost::asio::io_context& next();

  // Starts the threads. Each thread records its index (see thread_index()).
  void start();
  // Asks every context to stop once its work guard is released and waits for the threads.
  void stop_and_join();

  // Index of the pool thread running the caller, or -1 on any other thread.
  static int thread_index();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace urbis::net
