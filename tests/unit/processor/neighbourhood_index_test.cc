#include "processor/neighbourhood_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

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
  EXPECT_NEAR(distanceMetres(p, q), 135, 10);
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
    if (distanceMetres(a, b) > 150) continue;
    const auto cells = cellsNear(a, kCellLevelMid, 150);
    ASSERT_NE(std::find(cells.begin(), cells.end(), cellIdsFor(b).l13), cells.end()) << i;
    total += cells.size();
  }
  EXPECT_LT(total, 20000u * 2) << "on average fewer than 2 of the 9 cells";
}

const NeighbourhoodIndex& shippedIndex() {
  static const NeighbourhoodIndex idx(parseBoundarySpec(
      testing::sourcePath("data/chicago_community_areas.geojson") + ":community," +
      testing::sourcePath("data/austin_neighborhoods.geojson") + ":neighname"));
  return idx;
}

TEST(NeighbourhoodIndex, FindsChicagoCommunityAreasAndAustinNeighbourhoods) {
  EXPECT_EQ(shippedIndex().polygonCount() >= 77u + 103u, true);
  EXPECT_EQ(shippedIndex().lookup({41.8789, -87.6359}), "LOOP");
  EXPECT_EQ(shippedIndex().lookup({41.7943, -87.5907}), "HYDE PARK");
  EXPECT_EQ(shippedIndex().lookup({41.9484, -87.6553}), "LAKE VIEW");
  // 2014 sample row: 030XX W DIVERSEY AVE, community area 22 (LOGAN SQUARE).
  EXPECT_EQ(shippedIndex().lookup({41.93193179666549, -87.70464452726821}), "LOGAN SQUARE");
  // Downtown Austin.
  auto austin = shippedIndex().lookup({30.2672, -97.7431});
  ASSERT_TRUE(austin.has_value());
  EXPECT_EQ(*austin, "DOWNTOWN");
}

TEST(NeighbourhoodIndex, PointsOutsideEveryPolygonHaveNone) {
  EXPECT_FALSE(shippedIndex().lookup({41.85, -87.30}).has_value());  // on Lake Michigan
  EXPECT_FALSE(shippedIndex().lookup({51.5, -0.12}).has_value());    // London
  EXPECT_FALSE(shippedIndex().lookup({0, 0}).has_value());
}

TEST(NeighbourhoodIndex, EitherWindingAndHolesWork) {
  auto dir = std::filesystem::temp_directory_path() / ("nbh_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // A square 0..1 with a hole 0.4..0.6, written clockwise (against RFC 7946),
  // and a second square 2..3 counter-clockwise.
  std::ofstream(dir / "b.geojson") << R"({"type":"FeatureCollection","features":[
    {"type":"Feature","properties":{"n":"A"},"geometry":{"type":"Polygon","coordinates":[
      [[0,0],[0,1],[1,1],[1,0],[0,0]],
      [[0.4,0.4],[0.6,0.4],[0.6,0.6],[0.4,0.6],[0.4,0.4]]]}},
    {"type":"Feature","properties":{"n":"B"},"geometry":{"type":"MultiPolygon","coordinates":[
      [[[2,2],[3,2],[3,3],[2,3],[2,2]]]]}}]})";
  NeighbourhoodIndex idx({{(dir / "b.geojson").string(), "n"}});
  EXPECT_EQ(idx.lookup({0.2, 0.2}), "A");
  EXPECT_FALSE(idx.lookup({0.5, 0.5}).has_value()) << "inside the hole";
  EXPECT_EQ(idx.lookup({2.5, 2.5}), "B");
  EXPECT_FALSE(idx.lookup({1.5, 1.5}).has_value());
  // Bad files are start-up errors naming the file.
  std::ofstream(dir / "bad.geojson") << R"({"type":"FeatureCollection","features":[{"properties":{},"geometry":null}]})";
  EXPECT_THROW(NeighbourhoodIndex({{(dir / "bad.geojson").string(), "n"}}), core::ConfigError);
  EXPECT_THROW(NeighbourhoodIndex({{(dir / "missing.geojson").string(), "n"}}), core::ConfigError);
  std::filesystem::remove_all(dir);
}

TEST(NeighbourhoodIndex, BoundarySpecParses) {
  auto s = parseBoundarySpec("a.geojson:community,/x/b.geojson");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].path, "a.geojson");
  EXPECT_EQ(s[0].nameProperty, "community");
  EXPECT_EQ(s[1].path, "/x/b.geojson");
  EXPECT_EQ(s[1].nameProperty, "name");
  EXPECT_THROW(parseBoundarySpec("a.geojson,,b"), core::ConfigError);
}

}  // namespace
}  // namespace safestream::processor
