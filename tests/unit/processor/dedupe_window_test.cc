#include "processor/dedupe_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/geo.h"
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
  // Just inside both limits (south of a: c, as early as a and 67 m from a
  // point north of it, would win a tie by its smaller id).
  auto close = w.check(id("f"), "theft", core::GeoPoint{kTahoeA.lat - 0.0012, kTahoeA.lon}, t + 29min);  // ~133 m
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(*close, id("a"));
}

// Two roots of the same event time within reach: the smaller id wins,
// whichever was decided first (processors of a group decide in different
// orders).
TEST(DedupeWindow, ATieOfEventTimeGoesToTheSmallerIdInEitherOrder) {
  const auto t = at("2015-10-18T05:00:00Z");
  const core::GeoPoint north{kTahoeA.lat + 0.0012, kTahoeA.lon}, south{kTahoeA.lat - 0.0012, kTahoeA.lon};  // 267 m apart
  const auto smaller = std::min(id("n").value, id("s").value);
  for (bool northFirst : {true, false}) {
    DedupeWindow w;
    if (northFirst) {
      ASSERT_FALSE(w.check(id("n"), "theft", north, t).has_value());
      ASSERT_FALSE(w.check(id("s"), "theft", south, t).has_value());
    } else {
      ASSERT_FALSE(w.check(id("s"), "theft", south, t).has_value());
      ASSERT_FALSE(w.check(id("n"), "theft", north, t).has_value());
    }
    auto between = w.check(id("m"), "theft", kTahoeA, t + 1min);  // 133 m from each
    ASSERT_TRUE(between.has_value());
    EXPECT_EQ(between->value, smaller) << (northFirst ? "north first" : "south first");
  }
}

TEST(DedupeWindow, NoLocationIsNeverADuplicate) {
  DedupeWindow w;
  const auto t = at("2014-03-01T10:00:00Z");
  EXPECT_FALSE(w.check(id("a"), "theft", std::nullopt, t).has_value());
  EXPECT_FALSE(w.check(id("b"), "theft", std::nullopt, t).has_value());
  EXPECT_EQ(w.size(), 0u);
}

// Only roots are candidates: c is 25 min after the duplicate b but 45 min
// after the root a, so it starts a group of its own (it is not chained
// through b), and d, near both, joins the earliest root within 30 min.
TEST(DedupeWindow, LinksGoToRootsOnlyAndReplaysAnswerTheSame) {
  DedupeWindow w;
  const auto t = at("2015-10-18T05:00:00Z");
  ASSERT_FALSE(w.check(id("a"), "theft", kTahoeA, t).has_value());
  ASSERT_EQ(w.check(id("b"), "theft", kTahoeB, t + 20min), id("a"));
  EXPECT_FALSE(w.check(id("c"), "theft", kTahoeB, t + 45min).has_value()) << "b is a duplicate, not a candidate";
  EXPECT_EQ(w.check(id("d"), "theft", kTahoeA, t + 28min), id("a")) << "a and c both in reach: the earlier root";
  EXPECT_EQ(w.check(id("e"), "theft", kTahoeA, t + 50min), id("c"));
  // Replaying a (a root) and b (a duplicate) gives the same answers.
  EXPECT_FALSE(w.check(id("a"), "theft", kTahoeA, t).has_value());
  EXPECT_EQ(w.check(id("b"), "theft", kTahoeB, t + 20min), id("a"));
  EXPECT_FALSE(w.check(id("c"), "theft", kTahoeB, t + 45min).has_value());
  EXPECT_EQ(w.size(), 5u);
}

// A replayed root whose event time moved to another slot is still found
// there; one that moved away or changed category is decided afresh.
TEST(DedupeWindow, ALaterVersionMovesOrReDecides) {
  DedupeWindow w;
  const auto t = at("2015-10-18T05:00:00Z");
  ASSERT_FALSE(w.check(id("a"), "theft", kTahoeA, t).has_value());
  ASSERT_FALSE(w.check(id("a"), "theft", kTahoeA, t + 2h).has_value());  // same place, two hours later
  EXPECT_EQ(w.check(id("b"), "theft", kTahoeB, t + 2h + 5min), id("a"));
  EXPECT_FALSE(w.check(id("c"), "theft", kTahoeB, t + 5min).has_value()) << "a left this slot";
  ASSERT_FALSE(w.check(id("a"), "assault", kTahoeA, t + 2h).has_value());  // now another category
  EXPECT_FALSE(w.check(id("d"), "theft", kTahoeB, t + 2h + 6min).has_value())
      << "a is no theft root any more, and its duplicate b is no candidate";
  EXPECT_EQ(w.size(), 4u);
}

// A flood at one spot (a protest, a stadium, a bot army): every check looks
// at the same handful of roots whether it is the 10th or the 20,000th
// report there, and a report elsewhere looks at none of the flood's.
TEST(DedupeWindow, AFloodOfOneSpotKeepsEveryCheckBounded) {
  DedupeWindow w;
  const auto t0 = at("2026-07-04T18:00:00Z");
  const core::GeoPoint spot{41.8827, -87.6233};
  const char* cats[] = {"theft", "assault", "disorder"};
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> jitter(-0.0002, 0.0002);  // ~±20 m
  std::uniform_int_distribution<int> second(0, 2 * 3600 - 1);     // two hours: four or five slots
  constexpr int kFlood = 20000;
  std::uint64_t maxPerCheck = 0, firstThousandMax = 0, roots = 0;
  for (int i = 0; i < kFlood; ++i) {
    const auto before = w.candidatesExamined();
    const core::GeoPoint p{spot.lat + jitter(rng), spot.lon + jitter(rng)};
    const auto t = t0 + std::chrono::seconds(second(rng));
    if (!w.check(id("flood" + std::to_string(i)), cats[i % 3], p, t)) ++roots;
    const auto cost = w.candidatesExamined() - before;
    maxPerCheck = std::max(maxPerCheck, cost);
    if (i < 1000) firstThousandMax = std::max(firstThousandMax, cost);
  }
  EXPECT_EQ(w.size(), static_cast<std::size_t>(kFlood)) << "every report is remembered (for replays)";
  // Two roots of one category and slot are over 150 m apart, so the spot has
  // at most one per category and slot (5 slots), and a check sees 3 slots.
  EXPECT_LE(roots, 3u * 5u);
  EXPECT_LE(maxPerCheck, 3u * 3u) << "a check examined more roots than one spot can hold";
  EXPECT_EQ(maxPerCheck, firstThousandMax) << "the 20,000th check cost more than the first thousand";
  // 5 km away, at the same time: nothing of the flood is examined.
  const auto before = w.candidatesExamined();
  EXPECT_FALSE(w.check(id("elsewhere"), "theft", core::GeoPoint{spot.lat + 0.045, spot.lon}, t0 + 1h).has_value());
  EXPECT_EQ(w.candidatesExamined() - before, 0u);
  // The flood was linked, not made of roots.
  EXPECT_LT(roots, static_cast<std::uint64_t>(kFlood) / 100);
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

// The window looks only at roots in up to 27 (cell, time-slot) buckets; a
// brute-force scan of every root remembered (every report that was no
// duplicate) must give the same answers, also for reports in neighbouring
// cells and slots and before 1970. Duplicates are no candidates: a report
// near a duplicate but beyond its root's reach starts a group of its own.
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
        if (e.dup || e.category != c || dt > 30min || core::distanceMetres(e.point, p) > 150) continue;
        // On a tie of event time, the smallest id.
        if (!best || e.t < best->t || (e.t == best->t && e.id < best->id)) best = &e;
      }
      std::optional<std::string> want;
      if (best) want = best->id;
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
