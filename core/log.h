#pragma once
// JSON-lines logging on stderr (one object per line), on top of spdlog.
// Thread-safe. Never log secrets: URLs pass through redactUrl() first.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace safestream::core::log {

using Value = std::variant<std::string_view, std::string, long long, double, bool>;
struct Field {
  std::string_view key;
  Value value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::string&& v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>>
  Field(std::string_view k, I v) : key(k), value(static_cast<long long>(v)) {}
};
using Fields = std::initializer_list<Field>;

enum class Level { debug, info, warn, error };

// Sets the daemon name written in every line and the minimum level
// ("debug", "info", "warn", "error"). Call once from main.
void init(std::string_view component, std::string_view level = "info");

void write(Level level, std::string_view event, Fields fields = {});
inline void debug(std::string_view event, Fields f = {}) { write(Level::debug, event, f); }
inline void info(std::string_view event, Fields f = {}) { write(Level::info, event, f); }
inline void warn(std::string_view event, Fields f = {}) { write(Level::warn, event, f); }
inline void error(std::string_view event, Fields f = {}) { write(Level::error, event, f); }

// "postgresql://user:pw@host/db" -> "postgresql://user:***@host/db".
std::string redactUrl(std::string_view url);

}  // namespace safestream::core::log
