// /v1/cities and /v1/cities/{id}/boundaries: the directory built from the
// core::CityCatalog of a cities file (the one loader), the handlers (gzip,
// ETag/304, 404s) through ApiService, and GET /v1/reports?city=.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/api_service.h"
#include "api/city_catalog_view.h"
#include "api/report_query.h"
#include "core/result.h"
#include "tests/unit/api/fakes.h"

namespace safestream::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kBoundaries = R"({"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"community":"HYDE PARK","area":"41"},"geometry":{"type":"Polygon","coordinates":[[[-87.6,41.79],[-87.58,41.79],[-87.58,41.81],[-87.6,41.79]]]}},
  {"type":"Feature","properties":{"community":"LOOP"},"geometry":{"type":"Polygon","coordinates":[[[-87.64,41.87],[-87.62,41.87],[-87.62,41.89],[-87.64,41.87]]]}},
  {"type":"Feature","properties":{"community":"LOOP"},"geometry":{"type":"Polygon","coordinates":[[[-87.63,41.88],[-87.62,41.88],[-87.62,41.885],[-87.63,41.88]]]}}]})";

class CitiesTest : public ::testing::Test {
 protected:
  CitiesTest() {
    dir_ = fs::temp_directory_path() / ("safestream-cities-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "data" / "areas.geojson") << kBoundaries;
  }
  ~CitiesTest() override { fs::remove_all(dir_); }
  std::string cities() const {
    return R"({"cities":[{"id":"chicago","name":"Chicago","zone":"America/Chicago","boundaries":"data/areas.geojson",
      "name_property":"community","bbox":[-87.94,41.64,-87.52,42.03]},
      {"id":"springfield","name":"Springfield","zone":"America/Chicago","bbox":[-89.8,39.6,-89.5,39.9]}]})";
  }
  HttpResponse call(ApiService& s, const std::string& path, std::map<std::string, std::string> headers = {},
                    const std::string& query = "") {
    return testing::handleGet(s, path, std::move(headers), query);
  }
  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }
  std::shared_ptr<const core::CityCatalog> catalog() const {
    return std::make_shared<const core::CityCatalog>(core::CityCatalog::parse(cities(), dir_.string(), "cities.json"));
  }
  fs::path dir_;
};

TEST_F(CitiesTest, DirectoryFromTheCatalog) {
  CatalogCityDirectory d(catalog());
  ASSERT_EQ(d.cities().size(), 2u);
  EXPECT_EQ(d.cities()[0].id, "chicago");
  EXPECT_EQ(d.cities()[0].name, "Chicago");
  EXPECT_EQ(d.cities()[0].zone, "America/Chicago");
  EXPECT_EQ(d.cities()[0].neighbourhoods, (std::vector<std::string>{"HYDE PARK", "LOOP"}));
  EXPECT_DOUBLE_EQ(d.cities()[0].bbox.minLon, -87.94);
  EXPECT_DOUBLE_EQ(d.cities()[0].bbox.maxLat, 42.03);
  EXPECT_TRUE(d.cities()[1].neighbourhoods.empty());
  EXPECT_EQ(d.boundaries("springfield"), nullptr);
  EXPECT_EQ(d.boundaries("atlantis"), nullptr);
  const auto* b = d.boundaries("chicago");
  ASSERT_NE(b, nullptr);
  auto geo = json::parse(b->geojson);
  EXPECT_EQ(geo["type"], "FeatureCollection");
  // One feature per neighbourhood, in file order; LOOP's two features are
  // one MultiPolygon of both polygons, positions as the file writes them.
  ASSERT_EQ(geo["features"].size(), 2u);
  EXPECT_EQ(geo["features"][0]["properties"], json::parse(R"({"city":"chicago","name":"HYDE PARK"})"));
  EXPECT_EQ(geo["features"][0]["geometry"], json::parse(R"({"type":"MultiPolygon","coordinates":
    [[[[-87.6,41.79],[-87.58,41.79],[-87.58,41.81],[-87.6,41.79]]]]})"));
  EXPECT_EQ(geo["features"][1]["properties"]["name"], "LOOP");
  EXPECT_EQ(geo["features"][1]["geometry"]["coordinates"].size(), 2u);
  EXPECT_EQ(geo["features"][1]["geometry"]["coordinates"][1][0][2], json::parse("[-87.62,41.885]"));
  EXPECT_FALSE(b->gzip.empty());
  EXPECT_EQ(b->etag.front(), '"');
}

TEST_F(CitiesTest, BadFilesStopTheStartNamingTheProblem) {
  // The catalog's own checks (tests/unit/core) apply to the API too.
  EXPECT_THROW(core::CityCatalog::parse("{", dir_.string(), "x.json"), core::ConfigError);
  EXPECT_THROW(core::CityCatalog::parse(R"({"cities":[{"id":"a","name":"A","zone":"UTC","bbox":[1,2,3,4],"boundaries":"nope.geojson","name_property":"n"}]})",
                                        dir_.string(), "x.json"),
               core::ConfigError);
  const std::string file = (dir_ / "bad.json").string();
  std::ofstream(file) << R"({"cities":[{"id":"a","name":"A","zone":"UTC","bbox":[1,2,3,4],"boundaries":"data/areas.geojson","name_property":"zip"}]})";
  try {
    loadApiCities(file);
    FAIL() << "a boundary file without the name property was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'zip'"), std::string::npos) << e.what();
  }
  // A missing file is no error: no cities.
  auto none = loadApiCities((dir_ / "missing.json").string());
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(CatalogCityDirectory(none).cities().empty());
}

TEST_F(CitiesTest, Endpoints) {
  CatalogCityDirectory d(catalog());
  testing::FakePublisher publisher;
  testing::FakeReportStore reports;
  testing::FakeSubscriptionStore subscriptions;
  testing::FakeAlertHistory alerts;
  ServiceDeps deps;
  deps.publisher = &publisher;
  deps.reports = &reports;
  deps.subscriptions = &subscriptions;
  deps.alerts = &alerts;
  deps.cities = &d;
  ApiService s(deps);
  auto list = call(s, "/v1/cities");
  ASSERT_EQ(list.status, 200);
  auto doc = json::parse(list.body);
  ASSERT_EQ(doc["cities"].size(), 2u);
  EXPECT_EQ(doc["cities"][0], json::parse(R"({"id":"chicago","name":"Chicago","zone":"America/Chicago",
    "bbox":[-87.94,41.64,-87.52,42.03],"neighbourhoods":["HYDE PARK","LOOP"]})"));
  auto plain = call(s, "/v1/cities/chicago/boundaries");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.contentType, "application/geo+json");
  EXPECT_EQ(plain.body, d.boundaries("chicago")->geojson);
  auto gz = call(s, "/v1/cities/chicago/boundaries", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(gz.body, d.boundaries("chicago")->gzip);
  EXPECT_NE(header(gz, "ETag"), header(plain, "ETag"));
  auto again = call(s, "/v1/cities/chicago/boundaries", {{"accept-encoding", "gzip"}, {"if-none-match", header(gz, "ETag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  auto unknown = call(s, "/v1/cities/atlantis/boundaries");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "not_found");
  auto none = call(s, "/v1/cities/springfield/boundaries");
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("no neighbourhood boundaries"), std::string::npos);
  // The statistics check cities and names against the same directory.
  deps.stats = nullptr;
  EXPECT_EQ(call(s, "/v1/stats/categories", {}, "city=atlantis").status, 400);
  auto hood = call(s, "/v1/stats/categories", {}, "city=chicago&neighbourhood=SOHO");
  EXPECT_EQ(hood.status, 400);
  EXPECT_EQ(json::parse(hood.body)["error"]["field"], "neighbourhood");
  EXPECT_EQ(call(s, "/v1/stats/categories", {}, "city=chicago&neighbourhood=loop").status, 503);  // valid; no store here
  // No cities file at all: no list to check against, so any city id passes.
  CatalogCityDirectory empty(loadApiCities((dir_ / "missing.json").string()));
  deps.cities = &empty;
  ApiService bare(deps);
  EXPECT_EQ(json::parse(call(bare, "/v1/cities").body)["cities"].size(), 0u);
  EXPECT_EQ(call(bare, "/v1/stats/categories", {}, "city=chicago").status, 503);
}

TEST(ReportCityFilter, ParsedAsACityIdAndAddedAsOneClause) {
  auto q = parseReportQuery({{"city", "los-angeles"}, {"bbox", "-118.7,33.7,-118.1,34.3"}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->city, "los-angeles");
  auto sql = reportSearchSql(*q);
  // A placeholder, never the text: " AND city = $<n>" with params[n - 1] the id.
  const auto at = sql.text.find(" AND city = $");
  ASSERT_NE(at, std::string::npos) << sql.text;
  const std::size_t n = std::stoul(sql.text.substr(at + 13));
  ASSERT_GE(n, 1u);
  ASSERT_LE(n, sql.params.size());
  EXPECT_EQ(sql.params[n - 1], "los-angeles");
  EXPECT_EQ(sql.text.find("los-angeles"), std::string::npos);
  auto none = parseReportQuery({{"bbox", "-118.7,33.7,-118.1,34.3"}});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->city);
  EXPECT_EQ(reportSearchSql(*none).text.find("city ="), std::string::npos);
  for (const std::string& bad : std::vector<std::string>{"", "Chicago", "new york", "-la", "a'; DROP TABLE reports; --", std::string(65, 'a')}) {
    auto r = parseReportQuery({{"city", bad}});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field, "city") << bad;
  }
}

TEST_F(CitiesTest, ReportsByCityAreCheckedAgainstTheCities) {
  CatalogCityDirectory d(catalog());
  testing::FakePublisher publisher;
  testing::FakeReportStore reports;
  testing::FakeSubscriptionStore subscriptions;
  testing::FakeAlertHistory alerts;
  ServiceDeps deps;
  deps.publisher = &publisher;
  deps.reports = &reports;
  deps.subscriptions = &subscriptions;
  deps.alerts = &alerts;
  deps.cities = &d;
  ApiService s(deps);
  auto ok = call(s, "/v1/reports", {}, "city=springfield&limit=5");
  ASSERT_EQ(ok.status, 200) << ok.body;
  ASSERT_TRUE(reports.lastQuery);
  EXPECT_EQ(reports.lastQuery->city, "springfield");
  reports.lastQuery.reset();
  auto unknown = call(s, "/v1/reports", {}, "city=atlantis");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json::parse(unknown.body)["error"]["field"], "city");
  EXPECT_FALSE(reports.lastQuery) << "an unknown city reached the store";
  // Without a cities file there is nothing to check against: any id passes.
  deps.cities = nullptr;
  ApiService bare(deps);
  EXPECT_EQ(call(bare, "/v1/reports", {}, "city=atlantis").status, 200);
}

}  // namespace
}  // namespace safestream::api
