#include "core/cities.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/result.h"
#include "tests/support/stack_env.h"

namespace safestream::core {
namespace {

const CityCatalog& shipped() {
  static const CityCatalog catalog = CityCatalog::load(testing::sourcePath("deploy/cities.json"));
  return catalog;
}

std::string cityOf(const Place& p) { return p.city ? p.city->id : std::string("(none)"); }

TEST(CityCatalog, ShippedFileHasTheFiveCities) {
  const auto& c = shipped();
  ASSERT_EQ(c.cities().size(), 5u);
  for (const char* id : {"chicago", "austin", "los-angeles", "philadelphia", "new-york"}) {
    ASSERT_NE(c.find(id), nullptr) << id;
  }
  EXPECT_EQ(c.find("chicago")->neighbourhoods.size(), 77u);
  EXPECT_EQ(c.find("austin")->neighbourhoods.size(), 103u);
  EXPECT_EQ(c.find("los-angeles")->neighbourhoods.size(), 21u);
  EXPECT_TRUE(c.find("new-york")->neighbourhoods.empty());
  EXPECT_FALSE(c.find("new-york")->boundaries.has_value());
  EXPECT_EQ(c.find("los-angeles")->zone, "America/Los_Angeles");
  EXPECT_EQ(c.find("nowhere"), nullptr);
}

TEST(CityCatalog, HydeParkInChicagoAndInAustinResolveToTheirOwnCity) {
  const auto& c = shipped();
  const Place chicago = c.locate({41.7940, -87.5845});
  EXPECT_EQ(cityOf(chicago), "chicago");
  EXPECT_EQ(chicago.neighbourhood, "HYDE PARK");
  const Place austin = c.locate({30.3099, -97.7260});
  EXPECT_EQ(cityOf(austin), "austin");
  EXPECT_EQ(austin.neighbourhood, "HYDE PARK");
  EXPECT_EQ(c.citiesWithNeighbourhood("hyde park"), (std::vector<std::string>{"chicago", "austin"}));
  const MultiPolygon* a = c.boundary("austin", "Hyde Park");
  const MultiPolygon* b = c.boundary("chicago", "HYDE PARK");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_LT(a->front().front().front().lon, -97) << "Austin's polygon, not Chicago's";
  EXPECT_EQ(c.boundary("los-angeles", "HYDE PARK"), nullptr);
}

TEST(CityCatalog, LocatesEachCity) {
  const auto& c = shipped();
  EXPECT_EQ(cityOf(c.locate({41.8789, -87.6359})), "chicago");
  EXPECT_EQ(c.locate({41.8789, -87.6359}).neighbourhood, "LOOP");
  EXPECT_EQ(c.locate({30.2672, -97.7431}).neighbourhood, "DOWNTOWN");
  const Place hollywood = c.locate({34.1168, -118.3604});
  EXPECT_EQ(cityOf(hollywood), "los-angeles");
  EXPECT_EQ(hollywood.neighbourhood, "HOLLYWOOD");
  EXPECT_EQ(c.locate({33.9756, -118.3075}).neighbourhood, "77TH STREET");
  // No boundary file: the city by its bbox, no neighbourhood.
  const Place queens = c.locate({40.7321, -73.8139});
  EXPECT_EQ(cityOf(queens), "new-york");
  EXPECT_FALSE(queens.neighbourhood.has_value());
  EXPECT_EQ(cityOf(c.locate({39.9526, -75.1652})), "philadelphia");
  // Outside every city.
  EXPECT_EQ(c.locate({41.85, -87.30}).city, nullptr);  // Lake Michigan, east of Chicago's bbox
  EXPECT_EQ(c.locate({51.5, -0.12}).city, nullptr);
  EXPECT_EQ(c.locate({0, 0}).city, nullptr);
  EXPECT_EQ(c.locate({200, 0}).city, nullptr);
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("cities_" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path / "conf"); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

constexpr const char* kSquares = R"({"type":"FeatureCollection","features":[
    {"type":"Feature","properties":{"n":"A"},"geometry":{"type":"Polygon","coordinates":[
      [[0,0],[0,1],[1,1],[1,0],[0,0]],
      [[0.4,0.4],[0.6,0.4],[0.6,0.6],[0.4,0.6],[0.4,0.4]]]}},
    {"type":"Feature","properties":{"n":"B"},"geometry":{"type":"MultiPolygon","coordinates":[
      [[[2,2],[3,2],[3,3],[2,3],[2,2]]]]}},
    {"type":"Feature","properties":{"n":"b"},"geometry":{"type":"Polygon","coordinates":[
      [[4,2],[5,2],[5,3],[4,3],[4,2]]]}}]})";

TEST(CityCatalog, RelativeBoundaryPathsEitherWindingHolesAndGatheredNames) {
  TempDir dir;
  dir.write("squares.geojson", kSquares);
  const std::string conf = dir.write("conf/cities.json", R"({"cities":[
    {"id":"squares","name":"Squares","zone":"UTC","boundaries":"../squares.geojson","name_property":"n",
     "bbox":[-1,-1,6,4]}]})");
  const CityCatalog c = CityCatalog::load(conf);
  const City& city = c.cities().front();
  EXPECT_EQ(city.boundaries, (dir.path / "squares.geojson").lexically_normal().string());
  ASSERT_EQ(city.neighbourhoods.size(), 2u) << "B and b are one neighbourhood";
  EXPECT_EQ(city.neighbourhoods[1].shape.size(), 2u);
  EXPECT_EQ(c.locate({0.2, 0.2}).neighbourhood, "A");  // clockwise ring (against RFC 7946)
  EXPECT_FALSE(c.locate({0.5, 0.5}).neighbourhood.has_value()) << "inside the hole";
  EXPECT_EQ(cityOf(c.locate({0.5, 0.5})), "squares") << "still in the bbox";
  EXPECT_EQ(c.locate({2.5, 2.5}).neighbourhood, "B");
  EXPECT_EQ(c.locate({2.5, 4.5}).neighbourhood, "B");
  EXPECT_FALSE(c.locate({1.5, 1.5}).neighbourhood.has_value());
  EXPECT_EQ(c.locate({10, 10}).city, nullptr);
}

TEST(CityCatalog, PolygonsWinOverAnEarlierCitysBbox) {
  TempDir dir;
  dir.write("squares.geojson", kSquares);
  const std::string conf = dir.write("cities.json", R"({"cities":[
    {"id":"wide","name":"Wide","zone":"UTC","bbox":[-10,-10,10,10]},
    {"id":"squares","name":"Squares","zone":"UTC","boundaries":"squares.geojson","name_property":"n",
     "bbox":[-1,-1,6,4]}]})");
  const CityCatalog c = CityCatalog::load(conf);
  EXPECT_EQ(cityOf(c.locate({0.2, 0.2})), "squares");
  EXPECT_EQ(cityOf(c.locate({1.5, 1.5})), "wide");
}

TEST(CityCatalog, BadFilesAreErrorsNamingTheProblem) {
  TempDir dir;
  dir.write("squares.geojson", kSquares);
  auto fails = [&](const std::string& text, const std::string& needle) {
    try {
      CityCatalog::parse(text, dir.path.string(), "test.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string ok = R"("name":"X","zone":"UTC","bbox":[0,0,1,1])";
  fails("[]", "not a JSON object");
  fails(R"({"cities":[]})", "non-empty array");
  fails(R"({"cities":[{"id":"Los Angeles",)" + ok + "}]}", "slug");
  fails(R"({"cities":[{"id":"a",)" + ok + R"(},{"id":"a",)" + ok + "}]}", "used twice");
  fails(R"({"cities":[{"id":"a","name":"X","zone":"Mars/Olympus","bbox":[0,0,1,1]}]})", "time zone");
  fails(R"({"cities":[{"id":"a","name":"X","zone":"UTC","bbox":[1,0,0,1]}]})", "west < east");
  fails(R"({"cities":[{"id":"a","name":"X","zone":"UTC","bbox":[0,0,1]}]})", "bbox");
  fails(R"({"cities":[{"id":"a",)" + ok + R"(,"colour":"red"}]})", "unknown field \"colour\"");
  fails(R"({"cities":[{"id":"a",)" + ok + R"(,"boundaries":"squares.geojson"}]})", "name_property");
  fails(R"({"cities":[{"id":"a",)" + ok + R"(,"boundaries":"missing.geojson","name_property":"n"}]})",
        "cannot read boundary file");
  fails(R"({"cities":[{"id":"a",)" + ok + R"(,"boundaries":"squares.geojson","name_property":"zz"}]})",
        "has no property 'zz'");
  EXPECT_THROW(CityCatalog::load((dir.path / "absent.json").string()), ConfigError);
}

TEST(CityCatalog, BoundaryParserRejectsMalformedGeoJson) {
  auto fails = [](const std::string& text, const std::string& needle) {
    try {
      CityCatalog::parseBoundaries(text, "n", "b.geojson");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  fails("{", "not a GeoJSON FeatureCollection");
  fails(R"({"features":[]})", "no features");
  fails(R"({"features":[{"properties":{"n":"A"},"geometry":null}]})", "feature 0 has no geometry");
  fails(R"({"features":[{"properties":{"n":"A"},"geometry":{"type":"Point","coordinates":[0,0]}}]})",
        "expected Polygon or MultiPolygon");
  fails(R"({"features":[{"properties":{"n":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}}]})",
        "at least 4 positions");
  fails(R"({"features":[{"properties":{"n":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0,1],[1,"x"],[0,0]]]}}]})",
        "[lon, lat]");
  fails(R"({"features":[{"properties":{"n":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0,100],[1,1],[0,0]]]}}]})",
        "outside");
  fails(R"({"features":[{"properties":{"n":[1]},"geometry":{"type":"Polygon","coordinates":[]}}]})", "string or a number");
  // A numeric name becomes its text; degenerate rings are kept but index nothing.
  auto n = CityCatalog::parseBoundaries(
      R"({"features":[{"properties":{"n":7},"geometry":{"type":"Polygon","coordinates":[[[0,0],[0,0],[0,0],[0,0]]]}}]})",
      "n", "b");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].name, "7");
  const CityCatalog c = CityCatalog::fromCities({City{"z", "Z", "UTC", {-1, -1, 1, 1}, "b", "n", n}});
  EXPECT_EQ(c.polygonCount(), 0u);
  EXPECT_EQ(cityOf(c.locate({0, 0})), "z");
}

TEST(CitySlug, AcceptsLowerCaseSlugsOnly) {
  EXPECT_TRUE(isCitySlug("los-angeles"));
  EXPECT_TRUE(isCitySlug("chicago"));
  EXPECT_FALSE(isCitySlug(""));
  EXPECT_FALSE(isCitySlug("Los Angeles"));
  EXPECT_FALSE(isCitySlug("-x"));
  EXPECT_FALSE(isCitySlug("x-"));
  EXPECT_FALSE(isCitySlug("a_b"));
}

}  // namespace
}  // namespace safestream::core
