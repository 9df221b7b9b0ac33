#pragma once
// Helpers shared by the libFuzzer targets in bench/fuzz/. A target feeds
// the bytes to one parser of outside input; the sanitizers (ASan, UBSan)
// catch memory and undefined-behaviour bugs, an exception that escapes a
// parser documented as returning a result is a crash, and `require` checks a
// property of the output (e.g. "what we encode decodes again").
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace safestream::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz property violated: %s\n%.*s\n", what, static_cast<int>(std::min<std::size_t>(detail.size(), 2000)),
               detail.data());
  std::abort();
}

inline void require(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

// What goes back to a client or onto Kafka must be valid UTF-8 JSON.
inline void requireJson(std::string_view s, const char* what) {
  require(core::isValidUtf8(s), what, s);
  require(nlohmann::json::accept(s), what, s);
}

// A JSON text cannot hold a raw NUL byte (not whitespace, and control
// characters in strings must be escaped): a parser that accepts one has
// ignored what followed it.
inline void requireNoNul(std::string_view accepted, const char* what) {
  require(accepted.find('\0') == std::string_view::npos, what, accepted);
}

// Splits the input at the first occurrence of `sep` (for targets that take
// two inputs, e.g. a mapping and a record).
inline std::pair<std::string_view, std::string_view> split(std::string_view in, std::string_view sep) {
  const auto at = in.find(sep);
  if (at == std::string_view::npos) return {in, {}};
  return {in.substr(0, at), in.substr(at + sep.size())};
}

}  // namespace safestream::fuzz
