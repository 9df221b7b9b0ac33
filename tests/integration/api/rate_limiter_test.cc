// The rate limiter against the real Redis (api/redis_state.h): checks of one
// client that wait for the same batch are one script call, and the answers
// are those of the calls made one after the other: exactly `burst` pass,
// each with one token fewer left, the rest wait; other clients are not
// affected, and the blocking path agrees with the state left behind.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "api/redis_state.h"
#include "core/report_id.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

TEST(RedisRateLimiter, ConcurrentChecksOfOneClientAreOneCallAndAnswerAsInTurn) {
  const core::RedisSettings settings{testing::requireStackEnv("SAFESTREAM_REDIS_URL")};
  api::RedisPool pool(settings);
  api::RedisBatcher batcher(settings);
  // 1 token a minute, 5 at once: within the test only the burst passes.
  api::RedisRateLimiter limiter(pool, 1, 5, &batcher);
  const std::string flood = "test-flood-" + core::randomUuid(), other = "test-other-" + core::randomUuid();

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::vector<api::RateDecision>> answers;
  int pending = 0;
  auto check = [&](const std::string& client) {
    {
      std::lock_guard lock(mu);
      ++pending;
    }
    limiter.takeAsync(client, [&, client](core::Result<api::RateDecision> d) {
      std::lock_guard lock(mu);
      ASSERT_TRUE(d.ok()) << d.error().message;
      answers[client].push_back(*d);
      --pending;
      cv.notify_all();
    });
  };
  // 4 threads × 50 checks of one client, and 3 of another in between.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        check(flood);
        if (t == 0 && i % 20 == 0) check(other);
      }
    });
  }
  for (auto& t : threads) t.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return pending == 0; })) << pending << " unanswered";
  }
  const auto calls = limiter.scriptCalls();

  auto summarize = [](const std::vector<api::RateDecision>& ds) {
    std::multiset<long long> remaining;
    int refused = 0;
    for (const auto& d : ds) {
      if (d.allowed) {
        remaining.insert(d.remaining);
      } else {
        ++refused;
        EXPECT_GE(d.retryAfterSeconds, 1);
        EXPECT_EQ(d.remaining, 0);
      }
    }
    return std::pair{remaining, refused};
  };
  const auto [floodLeft, floodRefused] = summarize(answers[flood]);
  EXPECT_EQ(answers[flood].size(), 200u);
  EXPECT_EQ(floodLeft, (std::multiset<long long>{0, 1, 2, 3, 4})) << "each passing check leaves one token fewer";
  EXPECT_EQ(floodRefused, 195);
  const auto [otherLeft, otherRefused] = summarize(answers[other]);
  EXPECT_EQ(otherLeft, (std::multiset<long long>{2, 3, 4})) << "another client has a bucket of its own";
  EXPECT_EQ(otherRefused, 0);
  // 203 checks; one call per client per batch, so far fewer calls (how many
  // depends on how the threads met the batcher, but never one per check).
  EXPECT_GT(calls, 0u);
  EXPECT_LT(calls, 203u) << "the checks of one client were not coalesced";
  std::cout << "203 checks took " << calls << " script calls\n";

  // The blocking path sees the same bucket: empty for the flood, 2 left for the other.
  auto d = limiter.take(flood);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_FALSE(d->allowed);
  d = limiter.take(other);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 1);
}

// Shutdown (ApiApp::stop): every check gets exactly one answer, those
// still queued and those submitted after stop() an error, and none after
// stop() has returned.
TEST(RedisBatcher, StopAnswersEveryQueuedCheckOnceAndRefusesLaterOnes) {
  const core::RedisSettings settings{testing::requireStackEnv("SAFESTREAM_REDIS_URL")};
  api::RedisPool pool(settings);
  api::RedisBatcher batcher(settings);
  api::RedisRateLimiter limiter(pool, 60, 1000, &batcher);
  std::atomic<int> answered{0}, failed{0};
  auto count = [&](core::Result<api::RateDecision> d) {
    ++answered;
    if (!d.ok()) ++failed;
  };
  for (int i = 0; i < 500; ++i) limiter.takeAsync("test-stop-" + std::to_string(i % 7), count);
  batcher.stop();
  const int atStop = answered.load();
  EXPECT_EQ(atStop, 500) << "checks left unanswered by stop()";
  limiter.takeAsync("test-stop-late", count);
  EXPECT_EQ(answered.load(), 501);
  EXPECT_GE(failed.load(), 1) << "a check after stop() must fail";
  batcher.stop();  // idempotent
  EXPECT_EQ(answered.load(), 501);
}

}  // namespace
}  // namespace safestream
