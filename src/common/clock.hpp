// Time behind an interface so tests can drive it.
#pragma once

#include <chrono>
#include <cstdint>

namespace urbis {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for timeouts and intervals.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall-clock time in milliseconds since the Unix epoch, for stored timestamps.
  virtual int64_t unix_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  int64_t unix_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace urbis
