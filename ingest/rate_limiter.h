#pragma once
// Per-source request budget: a token bucket for requests per second and a
// quota of requests per UTC day (RapidAPI plans). Pure logic on an injected
// clock. Not thread-safe: each source's worker owns its limiter.
#include <chrono>
#include <cstdint>

#include "core/time.h"

namespace safestream::ingest {

class RateLimiter {
 public:
  // 0 means no limit.
  RateLimiter(double perSecond, std::int64_t perDay, const core::Clock& clock);

  struct Decision {
    bool allowed = false;
    std::chrono::milliseconds wait{0};  // when not allowed: try again after this
    bool quotaExhausted = false;        // the daily quota is used up
  };
  // Takes one request slot when allowed.
  Decision tryAcquire();
  // Requests left today; -1 when there is no daily quota.
  std::int64_t remainingToday();
  // Restores the day's usage after a restart (so a restart cannot overspend).
  void restore(std::int64_t dayIndex, std::int64_t used);
  std::int64_t dayIndex() const { return day_; }
  std::int64_t usedToday() const { return used_; }

 private:
  void roll();
  double perSecond_;
  std::int64_t perDay_;
  const core::Clock& clock_;
  double tokens_;
  core::Timestamp last_;
  std::int64_t day_ = -1;
  std::int64_t used_ = 0;
};

}  // namespace safestream::ingest
