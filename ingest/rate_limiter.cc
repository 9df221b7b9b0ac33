#include "ingest/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace safestream::ingest {
namespace {
constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
}

RateLimiter::RateLimiter(double perSecond, std::int64_t perDay, const core::Clock& clock)
    : perSecond_(perSecond), perDay_(perDay), clock_(clock), tokens_(std::max(1.0, perSecond)), last_(clock.now()) {
  day_ = core::toEpochMillis(last_) / kDayMs;
}

void RateLimiter::roll() {
  const core::Timestamp now = clock_.now();
  const std::int64_t today = core::toEpochMillis(now) / kDayMs;
  if (today != day_) {
    day_ = today;
    used_ = 0;
  }
  if (perSecond_ > 0) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    // Burst of at most one second's worth.
    tokens_ = std::min(std::max(1.0, perSecond_), tokens_ + std::max(0.0, elapsed) * perSecond_);
  }
  last_ = now;
}

RateLimiter::Decision RateLimiter::tryAcquire() {
  roll();
  Decision d;
  if (perDay_ > 0 && used_ >= perDay_) {
    d.quotaExhausted = true;
    const std::int64_t nowMs = core::toEpochMillis(clock_.now());
    d.wait = std::chrono::milliseconds((day_ + 1) * kDayMs - nowMs);
    return d;
  }
  if (perSecond_ > 0 && tokens_ < 1.0) {
    d.wait = std::chrono::milliseconds(static_cast<long long>(std::ceil((1.0 - tokens_) / perSecond_ * 1000.0)));
    return d;
  }
  if (perSecond_ > 0) tokens_ -= 1.0;
  ++used_;
  d.allowed = true;
  return d;
}

std::int64_t RateLimiter::remainingToday() {
  roll();
  return perDay_ > 0 ? std::max<std::int64_t>(0, perDay_ - used_) : -1;
}

void RateLimiter::restore(std::int64_t dayIndex, std::int64_t used) {
  roll();
  if (dayIndex == day_) used_ = std::max(used_, used);
}

}  // namespace safestream::ingest
