#include "devices/decoders/frame_counter.hpp"

namespace urbis::devices {

namespace {
FrameCounterTracker::Options normalized(FrameCounterTracker::Options o) {
  if (o.capacity == 0) o.capacity = 1;
  return o;
}
}  // namespace

FrameCounterTracker::FrameCounterTracker(Options o) : options_(normalized(o)) {}

FrameCounterTracker::Verdict FrameCounterTracker::check(std::string_view dev_eui, uint32_t f_cnt) {
  std::lock_guard lock(mu_);
  auto it = last_.find(std::string(dev_eui));
  if (it == last_.end()) {
    if (last_.size() >= options_.capacity) {
      last_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.emplace_front(dev_eui);
    last_.emplace(lru_.front(), Entry{f_cnt, lru_.begin()});
    return Verdict::kNew;
  }
  Entry& e = it->second;
  lru_.splice(lru_.begin(), lru_, e.pos);
  if (f_cnt > e.last) {
    e.last = f_cnt;
    return Verdict::kNew;
  }
  if (f_cnt == e.last) return Verdict::kDuplicate;
  if (f_cnt < options_.reset_below && e.last >= options_.reset_below) {
    e.last = f_cnt;
    return Verdict::kReset;
  }
  return Verdict::kReplay;
}

void FrameCounterTracker::forget(std::string_view dev_eui) {
  std::lock_guard lock(mu_);
  auto it = last_.find(std::string(dev_eui));
  if (it == last_.end()) return;
  lru_.erase(it->second.pos);
  last_.erase(it);
}

size_t FrameCounterTracker::size() const {
  std::lock_guard lock(mu_);
  return last_.size();
}

std::string_view verdict_name(FrameCounterTracker::Verdict v) {
  switch (v) {
    case FrameCounterTracker::Verdict::kNew: return "new";
    case FrameCounterTracker::Verdict::kDuplicate: return "duplicate";
    case FrameCounterTracker::Verdict::kReset: return "reset";
    case FrameCounterTracker::Verdict::kReplay: return "replay";
  }
  return "?";
}

}  // namespace urbis::devices
