// /v1/cities and /v1/cities/{id}/boundaries: the directory built from a
// cities file, and the handlers (gzip, ETag/304, 404s) through ApiService.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/api_service.h"
#include "api/city_directory.h"
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
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.headers = std::move(headers);
    HttpResponse out;
    s.handle(req, [&](HttpResponse r) { out = std::move(r); });
    return out;
  }
  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }
  fs::path dir_;
};

TEST_F(CitiesTest, DirectoryFromTheFile) {
  FileCityDirectory d(cities(), dir_.string(), "cities.json");
  ASSERT_EQ(d.cities().size(), 2u);
  EXPECT_EQ(d.cities()[0].id, "chicago");
  EXPECT_EQ(d.cities()[0].zone, "America/Chicago");
  EXPECT_EQ(d.cities()[0].neighbourhoods, (std::vector<std::string>{"HYDE PARK", "LOOP"}));
  EXPECT_DOUBLE_EQ(d.cities()[0].bbox.maxLat, 42.03);
  EXPECT_TRUE(d.cities()[1].neighbourhoods.empty());
  EXPECT_EQ(d.boundaries("springfield"), nullptr);
  EXPECT_EQ(d.boundaries("atlantis"), nullptr);
  const auto* b = d.boundaries("chicago");
  ASSERT_NE(b, nullptr);
  auto geo = json::parse(b->geojson);
  EXPECT_EQ(geo["type"], "FeatureCollection");
  ASSERT_EQ(geo["features"].size(), 3u);
  EXPECT_EQ(geo["features"][0]["properties"], json::parse(R"({"city":"chicago","name":"HYDE PARK"})"));
  EXPECT_EQ(geo["features"][0]["geometry"]["type"], "Polygon");
  EXPECT_FALSE(b->gzip.empty());
  EXPECT_EQ(b->etag.front(), '"');
}

TEST_F(CitiesTest, BadFilesStopTheStartNamingTheProblem) {
  EXPECT_THROW(FileCityDirectory("{", dir_.string(), "x.json"), core::ConfigError);
  EXPECT_THROW(FileCityDirectory(R"({"cities":[{"id":"a"}]})", dir_.string(), "x.json"), core::ConfigError);
  EXPECT_THROW(FileCityDirectory(R"({"cities":[{"id":"a","bbox":[1,2,3,4],"boundaries":"nope.geojson"}]})", dir_.string(),
                                 "x.json"),
               core::ConfigError);
  EXPECT_THROW(FileCityDirectory(R"({"cities":[{"id":"a","bbox":[1,2,3,4],"boundaries":"data/areas.geojson","name_property":"zip"}]})",
                                 dir_.string(), "x.json"),
               core::ConfigError);
  // A missing file is no error: no cities.
  FileCityDirectory none((dir_ / "missing.json").string());
  EXPECT_TRUE(none.cities().empty());
}

TEST_F(CitiesTest, Endpoints) {
  FileCityDirectory d(cities(), dir_.string(), "cities.json");
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
  FileCityDirectory empty((dir_ / "missing.json").string());
  deps.cities = &empty;
  ApiService bare(deps);
  EXPECT_EQ(json::parse(call(bare, "/v1/cities").body)["cities"].size(), 0u);
  EXPECT_EQ(call(bare, "/v1/stats/categories", {}, "city=chicago").status, 503);
}

}  // namespace
}  // namespace safestream::api
