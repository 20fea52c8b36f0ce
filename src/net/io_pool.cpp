#include "net/io_pool.hpp"

#include "common/log.hpp"
#include "common/thread_name.hpp"

namespace urbis::net {

namespace {
thread_local int tls_index = -1;
}

IoPool::IoPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, which lets
    // Asio skip internal locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoPool::~IoPool() { stop_and_join(); }

boost::asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      tls_index = static_cast<int>(i);
      set_thread_name("urbis-io-" + std::to_string(i));
      for (;;) {
        try {
          contexts_[i]->run();
          break;
        } catch (const std::exception& e) {
          // A handler threw: a bug, but one connection's bug must not stop the node.
          ULOG_ERROR("io thread {}: unhandled exception: {}", i, e.what());
        }
      }
    });
  }
}

void IoPool::stop_and_join() {
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

int IoPool::thread_index() { return tls_index; }

}  // namespace urbis::net
