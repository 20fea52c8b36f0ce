// Helpers shared by the EntityStore tests: a settable clock, JSON literals to
// entities, and blocking wrappers around the asynchronous writes.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>

#include "common/clock.hpp"
#include "model/entity_json.hpp"
#include "model/entity_store.hpp"

namespace urbis::testutil {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t ms) : ms_(ms) {}
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  int64_t unix_ms() const override { return ms_.load(); }
  void set(int64_t ms) { ms_ = ms; }
  void advance(int64_t ms) { ms_ += ms; }

 private:
  std::atomic<int64_t> ms_;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "urbis-entity-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline model::Entity entity(std::string_view json, bool fragment = false) {
  model::EntityParseOptions o;
  o.require_id_and_type = !fragment;
  Result<model::Entity> e = model::entity_from_text(json, o);
  EXPECT_TRUE(e.ok()) << e.status().message() << " in " << json;
  return e.ok() ? std::move(e).value() : model::Entity{};
}

// Runs one asynchronous write and waits for its completion.
template <typename Call>
Result<model::WriteOutcome> wait_write(Call&& call) {
  std::promise<Result<model::WriteOutcome>> p;
  auto f = p.get_future();
  call([&p](Result<model::WriteOutcome> r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace urbis::testutil
