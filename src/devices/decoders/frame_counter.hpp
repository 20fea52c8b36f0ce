// LoRaWAN frame-counter tracking: flags uplinks whose fCnt does not move forward.
//
// LoRaWAN devices count uplinks (fCnt). A counter that repeats is a gateway
// retransmission or a replay; a counter that falls back to a small value after
// being high is what a device that rejoined (or rebooted with ABP) sends; any
// other step backwards is a replay of an old frame. The security module decides
// what to do with the verdict; this class only remembers the last counter.
//
// Memory is bounded: at most `capacity` devices are remembered; when full, the
// least recently seen device is forgotten (its next uplink is kNew again).
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace urbis::devices {

class FrameCounterTracker {
 public:
  enum class Verdict {
    kNew,        // first uplink of the device, or fCnt moved forward
    kDuplicate,  // same fCnt as the last one: retransmission or replay
    kReset,      // fCnt fell back below reset_below after being at or above it: rejoin
    kReplay,     // fCnt went backwards otherwise
  };

  struct Options {
    size_t capacity = 100'000;  // devices remembered
    uint32_t reset_below = 16;  // a counter below this after a higher one counts as a reset
  };

  FrameCounterTracker() : FrameCounterTracker(Options{}) {}
  explicit FrameCounterTracker(Options o);

  // Judges `f_cnt` against the device's last counter and remembers it when the
  // verdict is kNew or kReset (a replay does not move the counter back).
  Verdict check(std::string_view dev_eui, uint32_t f_cnt);

  // Forgets a device (e.g. after it was deleted or re-provisioned).
  void forget(std::string_view dev_eui);

  size_t size() const;

 private:
  using Lru = std::list<std::string>;  // most recently seen first
  struct Entry {
    uint32_t last;
    Lru::iterator pos;
  };

  const Options options_;
  mutable std::mutex mu_;
  Lru lru_;                                      // guarded by mu_
  std::unordered_map<std::string, Entry> last_;  // guarded by mu_
};

std::string_view verdict_name(FrameCounterTracker::Verdict v);

}  // namespace urbis::devices
