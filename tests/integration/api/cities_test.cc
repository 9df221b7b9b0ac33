// GET /v1/cities and /v1/cities/{id}/boundaries through the real server,
// from a cities file naming the shipped boundary files of data/.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/report_id.h"
#include "core/time.h"
#include "tests/integration/api/api_client.h"
#include "tests/support/stack_env.h"
#include "tests/support/gunzip.h"

namespace safestream {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::httpRequest;

using safestream::testing::gunzip;

json fileFeatures(const std::string& rel) {
  std::ifstream in(testing::sourcePath(rel));
  return json::parse(in)["features"];
}

// A cities file naming the shipped Chicago and Austin boundary files.
std::string writeCitiesFile(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string file = (dir / "cities.json").string();
  std::ofstream(file) << json{{"cities",
                               {{{"id", "chicago"}, {"name", "Chicago"}, {"zone", "America/Chicago"},
                                 {"boundaries", testing::sourcePath("data/chicago_community_areas.geojson")},
                                 {"name_property", "community"}, {"bbox", {-87.94, 41.64, -87.52, 42.03}}},
                                {{"id", "austin"}, {"name", "Austin"}, {"zone", "America/Chicago"},
                                 {"boundaries", testing::sourcePath("data/austin_neighborhoods.geojson")},
                                 {"name_property", "neighname"}, {"bbox", {-97.94, 30.07, -97.52, 30.52}}}}}}
                             .dump();
  return file;
}

TEST(CitiesApi, ListAndBoundariesOfTheShippedFiles) {
  testing::requireStackEnv("SAFESTREAM_PG_URL");
  const auto dir = fs::temp_directory_path() / ("safestream-cities-it-" + std::to_string(::getpid()));
  const std::string file = writeCitiesFile(dir);
  testing::ApiDaemon api({"--cities", file, "--stats-cache-seconds", "0"});

  auto list = httpRequest(api.port(), "GET", "/v1/cities");
  ASSERT_EQ(list.status, 200) << list.body;
  auto cities = json::parse(list.body)["cities"];
  ASSERT_EQ(cities.size(), 2u);
  EXPECT_EQ(cities[0]["id"], "chicago");
  EXPECT_EQ(cities[0]["zone"], "America/Chicago");
  std::set<std::string> names;
  for (const auto& f : fileFeatures("data/chicago_community_areas.geojson")) names.insert(f["properties"]["community"]);
  EXPECT_EQ(cities[0]["neighbourhoods"].size(), names.size());
  EXPECT_TRUE(names.count(cities[0]["neighbourhoods"][0].get<std::string>()));

  auto gz = httpRequest(api.port(), "GET", "/v1/cities/austin/boundaries", "", {{"accept-encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("content-type"), "application/geo+json");
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  const std::string text = gunzip(gz.body);
  EXPECT_LT(gz.body.size(), text.size() / 2);
  auto geo = json::parse(text);
  const auto features = fileFeatures("data/austin_neighborhoods.geojson");
  ASSERT_EQ(geo["features"].size(), features.size());
  EXPECT_EQ(geo["features"][0]["properties"]["city"], "austin");
  EXPECT_EQ(geo["features"][0]["properties"]["name"], features[0]["properties"]["neighname"]);
  EXPECT_EQ(geo["features"][0]["geometry"], features[0]["geometry"]);
  auto plain = httpRequest(api.port(), "GET", "/v1/cities/austin/boundaries");
  EXPECT_EQ(plain.body, text);
  EXPECT_EQ(httpRequest(api.port(), "GET", "/v1/cities/austin/boundaries", "",
                        {{"accept-encoding", "gzip"}, {"if-none-match", gz.header("etag")}})
                .status,
            304);
  auto missing = httpRequest(api.port(), "GET", "/v1/cities/atlantis/boundaries");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "not_found");

  // The statistics check cities and neighbourhood names against the same file.
  auto bad = httpRequest(api.port(), "GET", "/v1/stats/categories?city=atlantis");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["field"], "city");
  EXPECT_EQ(httpRequest(api.port(), "GET", "/v1/stats/categories?city=chicago&neighbourhood=hyde%20park").status, 200);
  EXPECT_EQ(httpRequest(api.port(), "GET", "/v1/stats/categories?city=chicago&neighbourhood=Nowhere").status, 400);
  fs::remove_all(dir);
}

// GET /v1/reports?city= through the real server on rows of PostgreSQL: only
// the reports the processor placed in that city (reports.city), checked
// against the same cities file as the statistics.
TEST(CitiesApi, ReportsFilteredByCity) {
  pqxx::connection conn(testing::requireStackEnv("SAFESTREAM_PG_URL"));
  const auto dir = fs::temp_directory_path() / ("safestream-cities-filter-it-" + std::to_string(::getpid()));
  testing::ApiDaemon api({"--cities", writeCitiesFile(dir)});
  const std::string source = "citytest-" + core::randomUuid().substr(0, 8);
  std::map<std::string, std::set<std::string>> idsOf;  // city ("" for none) -> ids
  auto insert = [&](const std::string& city, double lat, double lon, int minutesAgo) {
    const std::string sourceId = core::randomUuid();
    const std::string id = core::reportIdFor(source, sourceId).value;
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO reports (id, source, source_id, raw_type, category, severity, description, occurred_at, "
        "reported_at, lat, lon, city) VALUES ($1, $2, $3, 'THEFT', 'theft', 2, 'city filter test', "
        "now() - make_interval(mins => $4), now() - make_interval(mins => $4), $5, $6, NULLIF($7, ''))",
        id, source, sourceId, minutesAgo, lat, lon, city);
    tx.commit();
    idsOf[city].insert(id);
  };
  insert("chicago", 41.88, -87.63, 10);
  insert("chicago", 41.79, -87.59, 20);
  insert("austin", 30.27, -97.74, 15);
  insert("", 35.0, -90.0, 5);  // in no configured city
  auto ids = [&](const std::string& query) {
    auto r = httpRequest(api.port(), "GET", "/v1/reports?source=" + source + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::set<std::string> out;
    const json doc = json::parse(r.body);  // kept: the loop below reads into it
    for (const auto& rep : doc["reports"]) out.insert(rep["id"].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids("&city=chicago"), idsOf["chicago"]);
  EXPECT_EQ(ids("&city=austin"), idsOf["austin"]);
  EXPECT_EQ(ids("").size(), 4u) << "without city= every city and none";
  // With an area too: the filters combine.
  EXPECT_EQ(ids("&city=chicago&near=41.88,-87.63&radius=1000").size(), 1u);
  for (const std::string bad : {"atlantis", "Chicago", "new%20york", ""}) {
    auto r = httpRequest(api.port(), "GET", "/v1/reports?source=" + source + "&city=" + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["field"], "city") << bad;
  }
  pqxx::work tx(conn);
  tx.exec_params("DELETE FROM reports WHERE source = $1", source);
  tx.commit();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace safestream
