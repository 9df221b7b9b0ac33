#include "processor/dedupe_window.h"

#include <gtest/gtest.h>

#include <random>

#include "core/report_id.h"
#include "processor/neighbourhood_index.h"

namespace safestream::processor {
namespace {

using namespace std::chrono_literals;

core::Timestamp at(const char* text) { return *core::parseTimestamp(text); }
core::ReportId id(const std::string& s) { return core::reportIdFor("test", s); }

// The SpotCrime sample's 5200 BLOCK TAHOE TRL / 5200 BLOCK OF TAHOE TRL pair:
// two cdids, ~44 m apart, same minute.
const core::GeoPoint kTahoeA{30.2241217, -97.8026378};
const core::GeoPoint kTahoeB{30.2239306481, -97.802238734};

TEST(DedupeWindow, LinksSameCategoryNearbyWithinWindow) {
  DedupeWindow w;
  EXPECT_FALSE(w.check(id("a"), "other", kTahoeA, at("2015-10-18T05:01:00Z")).has_value());
  auto dup = w.check(id("b"), "other", kTahoeB, at("2015-10-18T05:01:00Z"));
  ASSERT_TRUE(dup.has_value());
  EXPECT_EQ(*dup, id("a"));
}

TEST(DedupeWindow, DifferentCategoryFarAwayOrLateAreNotDuplicates) {
  DedupeWindow w;
  const auto t = at("2015-10-18T05:00:00Z");
  ASSERT_FALSE(w.check(id("a"), "theft", kTahoeA, t).has_value());
  EXPECT_FALSE(w.check(id("b"), "assault", kTahoeB, t).has_value()) << "other category";
  // ~200 m north: beyond 150 m.
  EXPECT_FALSE(w.check(id("c"), "theft", core::GeoPoint{kTahoeA.lat + 0.0018, kTahoeA.lon}, t).has_value()) << "too far";
  EXPECT_FALSE(w.check(id("d"), "theft", kTahoeB, t + 31min).has_value()) << "too late";
  EXPECT_FALSE(w.check(id("e"), "theft", kTahoeB, t - 31min).has_value()) << "too early";
  // Just inside both limits.
  auto close = w.check(id("f"), "theft", core::GeoPoint{kTahoeA.lat + 0.0012, kTahoeA.lon}, t + 29min);  // ~133 m
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(*close, id("a"));
}

TEST(DedupeWindow, NoLocationIsNeverADuplicate) {
  DedupeWindow w;
  const auto t = at("2014-03-01T10:00:00Z");
  EXPECT_FALSE(w.check(id("a"), "theft", std::nullopt, t).has_value());
  EXPECT_FALSE(w.check(id("b"), "theft", std::nullopt, t).has_value());
  EXPECT_EQ(w.size(), 0u);
}

TEST(DedupeWindow, ChainsPointAtTheFirstReportAndReplaysAnswerTheSame) {
  DedupeWindow w;
  const auto t = at("2015-10-18T05:00:00Z");
  ASSERT_FALSE(w.check(id("a"), "theft", kTahoeA, t).has_value());
  ASSERT_EQ(w.check(id("b"), "theft", kTahoeB, t + 20min), id("a"));
  // c is 25 min after b but 45 min after a: still linked to the root a.
  auto c = w.check(id("c"), "theft", kTahoeB, t + 45min);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, id("a"));
  // Replaying a (an original) and b (a duplicate) gives the same answers.
  EXPECT_FALSE(w.check(id("a"), "theft", kTahoeA, t).has_value());
  EXPECT_EQ(w.check(id("b"), "theft", kTahoeB, t + 20min), id("a"));
  EXPECT_EQ(w.size(), 3u);
}

TEST(DedupeWindow, MemoryIsBounded) {
  DedupeWindow w({.radiusMetres = 150, .window = 30min, .maxEntries = 100});
  const auto t = at("2015-10-18T05:00:00Z");
  for (int i = 0; i < 1000; ++i) {
    w.check(id("n" + std::to_string(i)), "theft", core::GeoPoint{30.0 + i * 0.01, -97.8}, t);
  }
  EXPECT_LE(w.size(), 100u);
  // The newest are remembered, the oldest forgotten.
  EXPECT_TRUE(w.check(id("x1"), "theft", core::GeoPoint{30.0 + 999 * 0.01, -97.8}, t).has_value());
  EXPECT_FALSE(w.check(id("x2"), "theft", core::GeoPoint{30.0, -97.8}, t).has_value());
}

// The window looks only in 27 (cell, time-slot) buckets; a brute-force scan
// of everything remembered must give the same answers, also for reports in
// neighbouring cells and slots and before 1970.
TEST(DedupeWindow, AgreesWithBruteForceScan) {
  struct Seen {
    std::string id, category;
    core::GeoPoint point;
    core::Timestamp t;
    std::optional<std::string> dup;
  };
  for (const char* start : {"2015-10-18T05:00:00Z", "1969-12-31T22:00:00Z"}) {
    DedupeWindow w;
    std::vector<Seen> all;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> lat(41.880, 41.895), lon(-87.640, -87.620);  // ~1.7 x 1.7 km
    std::uniform_int_distribution<int> minute(0, 6 * 60), cat(0, 2);
    const char* cats[] = {"theft", "assault", "vandalism"};
    int linked = 0;
    for (int i = 0; i < 3000; ++i) {
      const std::string rid = id("p" + std::to_string(i)).value;
      const std::string c = cats[cat(rng)];
      const core::GeoPoint p{lat(rng), lon(rng)};
      const core::Timestamp t = at(start) + std::chrono::minutes(minute(rng));
      const Seen* best = nullptr;
      for (const auto& e : all) {
        const auto dt = e.t > t ? e.t - t : t - e.t;
        if (e.category != c || dt > 30min || distanceMetres(e.point, p) > 150) continue;
        // In order seen, so on a tie the first seen stays best.
        if (!best || (best->dup && !e.dup) || (!best->dup == !e.dup && e.t < best->t)) best = &e;
      }
      std::optional<std::string> want;
      if (best) want = best->dup ? best->dup : best->id;
      const auto got = w.check(core::ReportId{rid}, c, p, t);
      ASSERT_EQ(got.has_value(), want.has_value()) << "report " << i;
      if (want) {
        ASSERT_EQ(got->value, *want) << "report " << i;
        ++linked;
      }
      all.push_back({rid, c, p, t, want});
    }
    EXPECT_GT(linked, 300) << "the workload must exercise links";
  }
}

}  // namespace
}  // namespace safestream::processor
