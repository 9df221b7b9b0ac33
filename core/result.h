#pragma once
// Result types for steady-state paths: errors come back as data, never as
// exceptions. Start-up and configuration errors throw ConfigError instead.
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace safestream::core {

struct Error {
  std::string code;     // stable machine-readable reason, e.g. "invalid_field"
  std::string message;  // one human line naming the input and what is wrong
  std::string field;    // offending field ("" when not field-specific)
  bool retriable = false;
};

// Thrown only at start-up: bad flags, unreadable files, unreachable servers.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(implicit)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(implicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const Error& error() const { return std::get<Error>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() { return Ok{}; }

inline Error makeError(std::string code, std::string message, std::string field = {},
                       bool retriable = false) {
  return Error{std::move(code), std::move(message), std::move(field), retriable};
}

}  // namespace safestream::core
