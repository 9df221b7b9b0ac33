#pragma once
// Nesting depth of a JSON text, measured without parsing it. nlohmann's
// parser is iterative, but dump(), merge_patch() and our own walkers recurse
// once per level: a body of 100,000 '[' overflowed a worker thread's stack
// (found by tests/integration/api/hostile_http_test.cc, PATCH of a
// subscription). Every parser of outside JSON refuses texts deeper than
// kMaxJsonDepth before parsing.
#include <cstddef>
#include <string_view>

namespace safestream::core {

// Far more than any document of ours needs (a GeoJSON MultiPolygon is 5
// levels inside a feature), far less than a stack can hold.
inline constexpr std::size_t kMaxJsonDepth = 64;

// The deepest nesting of '[' and '{' outside strings (escapes honoured).
// Stops counting once `limit` is exceeded and returns limit + 1.
std::size_t jsonNestingDepth(std::string_view text, std::size_t limit = kMaxJsonDepth);

inline bool jsonTooDeep(std::string_view text, std::size_t limit = kMaxJsonDepth) {
  return jsonNestingDepth(text, limit) > limit;
}

}  // namespace safestream::core
