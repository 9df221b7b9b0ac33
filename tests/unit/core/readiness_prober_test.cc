#include "core/readiness_prober.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace safestream::core {
namespace {

using namespace std::chrono_literals;

// A long interval: the rounds these tests look at are the first one (run by
// the constructor) and the ones they ask for with probeNow().
constexpr auto kNoBackgroundRound = std::chrono::hours(1);

TEST(ReadinessProber, EveryProbeIsRunAndEachFailureIsNamed) {
  std::atomic<int> kafkaCalls = 0;
  ReadinessProber p({{"kafka", [&] { ++kafkaCalls; return okStatus(); }},
                     {"s3", [] { return Status(makeError("s3", "HEAD bucket: connection refused")); }},
                     {"postgres", [] { return Status(makeError("pg", "connection refused")); }}},
                    kNoBackgroundRound);
  EXPECT_EQ(kafkaCalls, 1) << "the constructor runs a round: the state is never a guess";
  const Readiness r = p.state();
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.problems, (std::vector<std::string>{"s3: HEAD bucket: connection refused", "postgres: connection refused"}));
}

TEST(ReadinessProber, ARecoveredDependencyIsReadyAfterTheNextRound) {
  std::atomic<bool> up = false;
  ReadinessProber p({{"redis", [&] { return up ? okStatus() : Status(makeError("redis", "down")); }}},
                    kNoBackgroundRound);
  EXPECT_FALSE(p.state().ready);
  up = true;
  EXPECT_FALSE(p.state().ready) << "state is the last round's, not probed on read";
  p.probeNow();
  EXPECT_TRUE(p.state().ready);
  EXPECT_TRUE(p.state().problems.empty());
}

TEST(ReadinessProber, AProbeThatThrowsIsAFailedProbe) {
  ReadinessProber p({{"s3", []() -> Status { throw std::runtime_error("curl handle"); }}}, kNoBackgroundRound);
  EXPECT_EQ(p.state().problems, (std::vector<std::string>{"s3: curl handle"}));
}

TEST(ReadinessProber, RoundsRunOnItsOwnThreadEveryInterval) {
  std::atomic<int> calls = 0;
  ReadinessProber p({{"kafka", [&] { ++calls; return okStatus(); }}}, 5ms);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (calls < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_GE(calls, 3);
}

TEST(ReadinessProber, CombineNeedsBothAndKeepsEveryProblem) {
  Readiness probes{false, {"s3: down"}};
  Readiness lanes{false, {"lane postgres failing"}};
  const Readiness both = combine(probes, lanes);
  EXPECT_FALSE(both.ready);
  EXPECT_EQ(both.problems, (std::vector<std::string>{"s3: down", "lane postgres failing"}));
  EXPECT_TRUE(combine(Readiness{}, Readiness{}).ready);
  EXPECT_FALSE(combine(Readiness{}, Readiness{false, {"x"}}).ready);
}

}  // namespace
}  // namespace safestream::core
