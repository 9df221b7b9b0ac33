#include "ingest/retrying_fetcher.h"

#include <algorithm>

#include "core/log.h"

namespace safestream::ingest {

RetryingFetcher::RetryingFetcher(HttpClient& client, RetryPolicy policy, Sleeper sleep, std::uint64_t seed)
    : client_(client), policy_(policy), sleep_(std::move(sleep)), rng_(seed) {}

std::chrono::milliseconds RetryingFetcher::backoff(int attempt) {
  const long long base = std::max<long long>(1, policy_.baseDelay.count());
  const int shift = std::min(attempt - 1, 30);
  const long long d = std::min<long long>(policy_.maxDelay.count(), base << shift);
  std::uniform_int_distribution<long long> jitter(d / 2, d);
  return std::chrono::milliseconds(jitter(rng_));
}

FetchOutcome RetryingFetcher::get(const HttpRequest& request, const AttemptObserver& observe) {
  FetchOutcome out;
  const std::string what = request.what.empty() ? "request" : request.what;
  for (int attempt = 1;; ++attempt) {
    out.attempts = attempt;
    const auto started = std::chrono::steady_clock::now();
    auto r = client_.get(request);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::optional<std::chrono::milliseconds> retryAfter;
    bool retriable = false;
    if (!r) {
      if (observe) observe(r.error().code, secs);
      retriable = r.error().retriable;
      out.response = r.error();
    } else {
      if (observe) observe(std::to_string(r->status), secs);
      const int s = r->status;
      if (s >= 200 && s < 300) {
        out.response = std::move(r);
        return out;
      }
      retriable = s == 429 || s == 408 || s >= 500;
      if (r->retryAfter) retryAfter = std::chrono::duration_cast<std::chrono::milliseconds>(*r->retryAfter);
      std::string snippet = r->body.substr(0, 120);
      for (auto& c : snippet) if (c == '\n' || c == '\r') c = ' ';
      out.response = core::makeError(s == 429 ? "rate_limited" : "http_" + std::to_string(s),
                                     what + ": HTTP " + std::to_string(s) + (snippet.empty() ? "" : ": " + snippet), "",
                                     retriable);
    }
    if (!retriable || attempt >= policy_.maxAttempts) {
      if (retryAfter) out.notBefore = retryAfter;
      return out;
    }
    std::chrono::milliseconds wait = backoff(attempt);
    if (retryAfter) {
      if (*retryAfter > policy_.maxDelay) {
        // Too long to hold this poll open: come back when the source says.
        out.notBefore = retryAfter;
        return out;
      }
      wait = std::max(wait, *retryAfter);
    }
    core::log::info("request_retry", {{"what", what},
                                      {"attempt", attempt},
                                      {"error", out.response.error().message},
                                      {"wait_ms", static_cast<long long>(wait.count())}});
    if (!sleep_(wait)) return out;  // shutting down
  }
}

}  // namespace safestream::ingest
