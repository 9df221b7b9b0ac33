#pragma once
// GET with retries: exponential backoff with jitter on timeouts, transport
// errors, 5xx and 429; a Retry-After header is honoured (never retried
// sooner). Other 4xx are not retried. Waiting goes through an injected
// function that returns false when shutdown is requested, so a retry loop
// never delays a SIGTERM.
#include <chrono>
#include <functional>
#include <random>
#include <string>

#include "core/result.h"
#include "ingest/http_client.h"

namespace safestream::ingest {

struct RetryPolicy {
  int maxAttempts = 4;
  std::chrono::milliseconds baseDelay{500};
  std::chrono::milliseconds maxDelay{30000};
};

// Waits for `d`; returns false when the wait was cut short by shutdown.
using Sleeper = std::function<bool(std::chrono::milliseconds)>;
// Called once per attempt with the outcome label ("200", "503", "timeout").
using AttemptObserver = std::function<void(const std::string& status, double seconds)>;

struct FetchOutcome {
  core::Result<HttpResponse> response = core::makeError("not_run", "not run");
  int attempts = 0;
  // When the source asked us to come back later than we are willing to wait
  // inside one poll (Retry-After beyond maxDelay): the poll is rescheduled.
  std::optional<std::chrono::milliseconds> notBefore;
};

class RetryingFetcher {
 public:
  RetryingFetcher(HttpClient& client, RetryPolicy policy, Sleeper sleep, std::uint64_t seed = std::random_device{}());

  FetchOutcome get(const HttpRequest& request, const AttemptObserver& observe = {});
  // The delay before attempt `attempt + 1` (attempt starts at 1), with jitter:
  // uniform in [d/2, d] where d = min(maxDelay, base * 2^(attempt-1)).
  std::chrono::milliseconds backoff(int attempt);

 private:
  HttpClient& client_;
  RetryPolicy policy_;
  Sleeper sleep_;
  std::mt19937_64 rng_;
};

}  // namespace safestream::ingest
