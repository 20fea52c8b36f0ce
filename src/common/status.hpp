// Status and Result<T>: expected failures are values, never exceptions.
//
// A Status is either ok or carries an error code and a human-readable message
// that names what was wrong (a field, a key, a clause). Result<T> holds either a
// T or a non-ok Status. Both are [[nodiscard]]: ignoring a failure is a bug.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace urbis {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the caller's input is malformed or out of range
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,  // a limit was hit (queue, quota, disk)
  kUnavailable,        // a dependency is down; retrying later may succeed
  kIoError,
  kCorruption,  // stored data failed a check
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  // The failure; an ok Status when the Result holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace urbis
