#pragma once
// Poll-until-deadline helpers: tests never sleep a fixed time.
#include <chrono>
#include <functional>

namespace safestream::testing {

// Calls `condition` every `interval` until it returns true (-> true) or
// `timeout` passes (-> false).
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));

}  // namespace safestream::testing
