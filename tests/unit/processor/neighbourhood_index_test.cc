#include "processor/neighbourhood_index.h"

#include <gtest/gtest.h>

#include <s2/s2latlng.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/geo.h"
#include "core/report_codec.h"
#include "core/result.h"
#include "tests/support/stack_env.h"

namespace safestream::processor {
namespace {

TEST(S2Cells, LevelsNestAndMatchKnownTokens) {
  const core::GeoPoint loop{41.8789, -87.6359};  // Willis Tower, Chicago
  const CellIds c = cellIdsFor(loop);
  ASSERT_NE(c.l10, 0u);
  // Level of an S2 cell id: the lowest set bit sits at 2 * (30 - level).
  auto level = [](std::uint64_t id) { return 30 - __builtin_ctzll(id) / 2; };
  EXPECT_EQ(level(c.l10), 10);
  EXPECT_EQ(level(c.l13), 13);
  EXPECT_EQ(level(c.l16), 16);
  // Each finer cell lies inside the coarser one: same leading bits.
  auto parentOf = [&](std::uint64_t id, int lvl) {
    const std::uint64_t lsb = 1ull << (2 * (30 - lvl));
    return (id & ~(lsb * 2 - 1)) | lsb;
  };
  EXPECT_EQ(parentOf(c.l16, 13), c.l13);
  EXPECT_EQ(parentOf(c.l13, 10), c.l10);
  // Chicago is on S2 face 4 (tokens start with 88..8f); Austin lies elsewhere.
  EXPECT_EQ(core::cellToken(c.l10).substr(0, 2), "88");
  const CellIds austin = cellIdsFor({30.2672, -97.7431});
  EXPECT_NE(austin.l10, c.l10);
  // Two points 50 m apart share the level-13 cell far more often than not;
  // points 20 km apart never share a level-10 cell.
  EXPECT_NE(cellIdsFor({41.70, -87.6359}).l10, c.l10);
}

TEST(S2Cells, CellsNearCoverEveryPointWithinTheRadius) {
  const core::GeoPoint p{30.2111386727, -97.8365453262};
  const core::GeoPoint q{30.211453, -97.835189};  // ~135 m away (the KANDY DR pair)
  EXPECT_NEAR(core::distanceMetres(p, q), 135, 10);
  auto near = cellsNear(p, kCellLevelMid, 150);
  EXPECT_EQ(near.front(), cellIdsFor(p).l13);
  EXPECT_NE(std::find(near.begin(), near.end(), cellIdsFor(q).l13), near.end());
  // Random points and points 0-150 m around them in every direction: the
  // cell of the second is always listed, and far from cell edges only the
  // home cell is (the point of the radius).
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(41.65, 42.02), lon(-87.84, -87.53), unit(0, 1);
  std::size_t total = 0;
  for (int i = 0; i < 20000; ++i) {
    const core::GeoPoint a{lat(rng), lon(rng)};
    const double d = 150 * std::sqrt(unit(rng)), bearing = 2 * M_PI * unit(rng);
    const core::GeoPoint b{a.lat + d * std::cos(bearing) / 111195.0,
                           a.lon + d * std::sin(bearing) / (111195.0 * std::cos(a.lat * M_PI / 180))};
    if (core::distanceMetres(a, b) > 150) continue;
    const auto cells = cellsNear(a, kCellLevelMid, 150);
    ASSERT_NE(std::find(cells.begin(), cells.end(), cellIdsFor(b).l13), cells.end()) << i;
    total += cells.size();
  }
  EXPECT_LT(total, 20000u * 2) << "on average fewer than 2 of the 9 cells";
}

// core::distanceMetres is S2's great-circle distance to the last bit (the
// Redis index's Lua copy follows the same order of operations), from a
// metre to across the globe, on both sides of the equator and the
// antimeridian.
TEST(Geo, DistanceIsS2sToTheBit) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-85, 85), lon(-180, 180), step(-0.5, 0.5), unit(0, 1);
  for (int i = 0; i < 100000; ++i) {
    const core::GeoPoint a{lat(rng), lon(rng)};
    const double scale = std::pow(10.0, -5 + 7 * unit(rng));  // ~1 m .. far away
    const core::GeoPoint b = i % 2 ? core::GeoPoint{lat(rng), lon(rng)}
                                   : core::GeoPoint{std::clamp(a.lat + step(rng) * scale, -90.0, 90.0),
                                                    a.lon + step(rng) * scale};
    const double s2 = S2LatLng::FromDegrees(a.lat, a.lon).GetDistance(S2LatLng::FromDegrees(b.lat, b.lon)).radians() *
                      core::kEarthRadiusMetres;
    ASSERT_EQ(core::distanceMetres(a, b), s2) << a.lat << "," << a.lon << " " << b.lat << "," << b.lon;
  }
  EXPECT_NEAR(core::distanceMetres({0, 0}, {0, 180}), M_PI * core::kEarthRadiusMetres, 1e-6);
}

// Point -> city and neighbourhood: tests/unit/core/cities_test.cc.

}  // namespace
}  // namespace safestream::processor
