#include "api/rate_limit.h"

#include <algorithm>

namespace safestream::api {

std::vector<RateDecision> shareRateAnswer(long long allowed, long long retryMs, long long remaining, std::size_t n) {
  const auto passed = static_cast<std::size_t>(std::clamp<long long>(allowed, 0, static_cast<long long>(n)));
  const int retrySeconds = static_cast<int>(std::max<long long>(1, (retryMs + 999) / 1000));
  std::vector<RateDecision> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (i < passed) {
      // Request i left the tokens of the ones after it that still passed.
      out[i] = {true, 0, remaining + static_cast<long long>(passed - 1 - i)};
    } else {
      out[i] = {false, retrySeconds, remaining};
    }
  }
  return out;
}

}  // namespace safestream::api
