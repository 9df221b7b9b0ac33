#include "processor/alerting/surge_detector.h"

#include <gtest/gtest.h>

namespace safestream {
namespace {

using namespace std::chrono_literals;
using processor::alerting::Lateness;
using processor::alerting::SurgeConfig;
using processor::alerting::SurgeEvent;
using processor::alerting::SurgeState;

constexpr std::uint64_t kCell = 0x880e2cb000000000ULL;  // a level-13 cell id over Chicago

core::Timestamp at(int hour, int minute = 0) {
  // 2014-03-01T00:00:00Z plus the offset.
  return core::fromEpochMillis(1393632000000LL) + std::chrono::hours(hour) + std::chrono::minutes(minute);
}

// Feeds events in event-time order with the watermark a stream would have.
struct Stream {
  SurgeConfig config;
  SurgeState state;
  std::vector<SurgeEvent> surges;
  Lateness last = Lateness::onTime;

  void add(core::Timestamp t, long long n = 1) {
    for (long long i = 0; i < n; ++i) {
      auto obs = processor::alerting::observeSurge(state, kCell, "theft", t, config);
      last = obs.lateness;
      if (obs.surge) surges.push_back(*obs.surge);
    }
  }
};

TEST(SurgeDetector, BurstAfterSteadyBaselineRaisesExactlyOneSurge) {
  Stream s;
  // Two days of one or two reports an hour.
  for (int h = 0; h < 48; ++h) s.add(at(h, 10), 1 + h % 2);
  EXPECT_TRUE(s.surges.empty());
  EXPECT_GE(s.state.windows, 24);
  EXPECT_NEAR(s.state.mean, 1.5, 0.3);
  // Twelve reports within 20 minutes.
  for (int i = 0; i < 12; ++i) s.add(at(48, 5 + i));
  ASSERT_EQ(s.surges.size(), 1u);
  const auto& e = s.surges.front();
  EXPECT_EQ(e.cellL13, kCell);
  EXPECT_EQ(e.category, "theft");
  EXPECT_GE(e.count, 5);
  EXPECT_GE(e.zScore, 3.0);
  EXPECT_EQ(e.windowEnd - e.windowStart, 60min);
  // More of the burst in the same hour: still one surge.
  for (int i = 0; i < 10; ++i) s.add(at(48, 30 + i));
  EXPECT_EQ(s.surges.size(), 1u);
  // Back to normal: the burst hour is folded into the baseline, no new surge.
  for (int h = 49; h < 60; ++h) s.add(at(h, 10), 1);
  EXPECT_EQ(s.surges.size(), 1u);
}

TEST(SurgeDetector, NoSurgeDuringWarmupOrBelowMinimumCount) {
  Stream s;
  for (int i = 0; i < 20; ++i) s.add(at(0, i));  // a burst with no history
  EXPECT_TRUE(s.surges.empty()) << "a cell needs warmupWindows hours of baseline first";

  Stream quiet;
  quiet.config.minCount = 5;
  quiet.add(at(0, 1));
  for (int i = 0; i < 4; ++i) quiet.add(at(40, i));
  EXPECT_TRUE(quiet.surges.empty()) << "4 reports are below minCount";
  quiet.add(at(40, 10));
  EXPECT_EQ(quiet.surges.size(), 1u) << "the fifth report reaches minCount";
}

TEST(SurgeDetector, ANewCategoryInAWatchedCellHasAnEmptyHistoryNotNone) {
  SurgeConfig config;
  SurgeState arson;
  std::vector<SurgeEvent> surges;
  const auto since = at(0);  // the cell has been watched for two days
  for (int i = 0; i < 6; ++i) {
    auto obs = processor::alerting::observeSurge(arson, kCell, "arson", at(48, i), config, since);
    if (obs.surge) surges.push_back(*obs.surge);
  }
  EXPECT_GE(arson.windows, 24);
  ASSERT_EQ(surges.size(), 1u);
  EXPECT_EQ(surges[0].count, 5);
  EXPECT_EQ(surges[0].category, "arson");
}

TEST(SurgeDetector, SteadyHighTrafficIsNotASurge) {
  Stream s;
  for (int h = 0; h < 72; ++h) s.add(at(h, 30), 20);
  EXPECT_TRUE(s.surges.empty());
}

TEST(SurgeDetector, LateEventsAreCountedNotLost) {
  Stream s;
  for (int h = 0; h < 30; ++h) s.add(at(h, 0));
  // Watermark is now at(29) - 10 min = 28:50. An event at 28:45 is behind
  // it, but its hour is not folded yet: late, and counted into its bucket.
  const long long bucket = core::toEpochMillis(at(28, 45));
  EXPECT_EQ(s.state.buckets.count(bucket), 0u);
  s.add(at(28, 45));
  EXPECT_EQ(s.last, Lateness::lateCounted);
  EXPECT_EQ(s.state.buckets[bucket], 1);
  // An event whose hour is already in the baseline can no longer change it.
  s.add(at(3, 0));
  EXPECT_EQ(s.last, Lateness::lateTooOld);
}

TEST(SurgeDetector, LateBurstWithinLatenessStillSurges) {
  Stream s;
  for (int h = 0; h < 30; ++h) s.add(at(h, 0));
  s.add(at(30, 9));  // watermark: 29:59
  // Reports that occurred at 29:50..29:58 arrive now, behind the watermark
  // but in an hour that is not folded: they still make the surge.
  for (int i = 0; i < 9; ++i) s.add(at(29, 50 + i));
  ASSERT_EQ(s.surges.size(), 1u);
  EXPECT_EQ(s.surges.front().windowEnd, at(29, 55));
}

TEST(SurgeDetector, StateRoundTripsAndRejectsGarbage) {
  Stream s;
  for (int h = 0; h < 30; ++h) s.add(at(h, 7), 3);
  auto text = processor::alerting::encodeSurgeState(s.state);
  auto back = processor::alerting::decodeSurgeState(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, s.state);
  EXPECT_FALSE(processor::alerting::decodeSurgeState("").has_value());
  EXPECT_FALSE(processor::alerting::decodeSurgeState("v1 1 2").has_value());
  EXPECT_FALSE(processor::alerting::decodeSurgeState("v1 1 2 3 4 5 0 7 x:y").has_value());
  EXPECT_FALSE(processor::alerting::decodeSurgeState("v2 1 2 3 4 5 0 7").has_value());
}

}  // namespace
}  // namespace safestream
