#pragma once
// The token bucket's answer for n requests of one client taken in one go
// (RedisRateLimiter coalesces the concurrent checks of a client into one
// script call), shared out as the n answers the same requests would have
// had one after the other: the first `allowed` pass, each with one token
// fewer left, and the rest are refused with the same wait. Pure.
#include <cstddef>
#include <vector>

#include "api/ports.h"

namespace safestream::api {

// allowed: tokens taken (0..n); retryMs: wait for one token when fewer than
// n were taken; remaining: whole tokens left after the last one taken.
std::vector<RateDecision> shareRateAnswer(long long allowed, long long retryMs, long long remaining, std::size_t n);

}  // namespace safestream::api
