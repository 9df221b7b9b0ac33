#include "api/geo_simplify.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "api/api_service.h"
#include "api/compression.h"
#include "api/static_files.h"
#include "tests/support/stack_env.h"
#include "tests/unit/api/fakes.h"

namespace safestream::api {
namespace {

using json = nlohmann::json;
constexpr double kMetresPerDegree = 111195.08;  // 6371008.8 m * pi / 180

// `m` metres north / east of a point (small offsets).
core::GeoPoint moved(core::GeoPoint p, double northM, double eastM) {
  return {p.lat + northM / kMetresPerDegree, p.lon + eastM / (kMetresPerDegree * std::cos(p.lat * M_PI / 180))};
}

// Distance in metres from p to the polyline, in the same local projection.
double toPolyline(core::GeoPoint p, const std::vector<core::GeoPoint>& line) {
  const double kx = kMetresPerDegree * std::cos(line.front().lat * M_PI / 180), ky = kMetresPerDegree;
  double best = 1e18;
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    const double ax = line[i].lon * kx, ay = line[i].lat * ky, bx = line[i + 1].lon * kx, by = line[i + 1].lat * ky;
    const double px = p.lon * kx, py = p.lat * ky, dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
    t = std::clamp(t, 0.0, 1.0);
    best = std::min(best, std::hypot(ax + t * dx - px, ay + t * dy - py));
  }
  return best;
}

TEST(DouglasPeucker, KeepsWhatLeavesTheToleranceAndTheEnds) {
  const core::GeoPoint a{41.88, -87.63};
  const auto b = moved(a, 0, 1000);
  const auto bump = moved(a, 10, 500);  // 10 m off the line a-b
  const std::vector<core::GeoPoint> line{a, moved(a, 0.5, 250), bump, moved(a, -0.5, 750), b};
  // At 6 m: the bump (10 m) stays; the others are 4.5 m and 5.5 m from the kept lines.
  EXPECT_EQ(douglasPeucker(line, 6), (std::vector<core::GeoPoint>{a, bump, b}));
  EXPECT_EQ(douglasPeucker(line, 5).size(), 4u) << "5.5 m from bump-b: kept at 5 m";
  EXPECT_EQ(douglasPeucker(line, 15), (std::vector<core::GeoPoint>{a, b}));
  EXPECT_EQ(douglasPeucker(line, 0), line) << "no tolerance, no change";
  EXPECT_EQ(douglasPeucker({a, b}, 100), (std::vector<core::GeoPoint>{a, b}));
}

TEST(DouglasPeucker, ARingStaysClosedAndEveryDroppedPointIsWithinTolerance) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> jitter(-8, 8);
  for (int round = 0; round < 20; ++round) {
    const core::GeoPoint c{41.8 + round * 0.01, -87.7};
    std::vector<core::GeoPoint> ring;
    for (int k = 0; k < 500; ++k) {  // a 1 km circle with 8 m of noise
      const double t = k * 2 * M_PI / 500;
      ring.push_back(moved(c, 1000 * std::sin(t) + jitter(rng), 1000 * std::cos(t) + jitter(rng)));
    }
    ring.push_back(ring.front());
    for (double tol : {2.0, 10.0, 50.0}) {
      const auto kept = douglasPeucker(ring, tol);
      ASSERT_GE(kept.size(), 4u);
      EXPECT_EQ(kept.front(), kept.back()) << "closed";
      EXPECT_LT(kept.size(), ring.size());
      for (const auto& p : ring) ASSERT_LE(toPolyline(p, kept), tol + 1e-6) << "tolerance " << tol;
    }
  }
  // 100,000 points in one ring: no recursion to that depth.
  std::vector<core::GeoPoint> long_;
  for (int k = 0; k < 100000; ++k) long_.push_back(moved({41.9, -87.6}, std::sin(k * 0.001) * 500, k * 0.05));
  EXPECT_GE(douglasPeucker(long_, 1).size(), 2u);
}

TEST(SimplifyFeatureCollection, RingsShrinkPropertiesStayTinyRingsSurvive) {
  auto ring = [](core::GeoPoint c, double r, int n) {
    json out = json::array();
    for (int k = 0; k < n; ++k) {
      auto p = moved(c, r * std::sin(k * 2 * M_PI / n), r * std::cos(k * 2 * M_PI / n));
      out.push_back({p.lon, p.lat});
    }
    out.push_back(out.front());
    return out;
  };
  json fc = {{"type", "FeatureCollection"},
             {"features",
              {{{"type", "Feature"}, {"properties", {{"city", "chicago"}, {"name", "LOOP"}}},
                {"geometry", {{"type", "Polygon"}, {"coordinates", {ring({41.88, -87.63}, 800, 400), ring({41.88, -87.63}, 100, 60)}}}}},
               {{"type", "Feature"}, {"properties", {{"city", "chicago"}, {"name", "ISLANDS"}}},
                {"geometry", {{"type", "MultiPolygon"},
                              {"coordinates", {{ring({41.9, -87.6}, 500, 300)}, {ring({41.95, -87.6}, 3, 5)}}}}}},
               {{"type", "Feature"}, {"properties", {{"name", "A POINT"}}},
                {"geometry", {{"type", "Point"}, {"coordinates", {-87.6, 41.9}}}}}}}};
  const std::string in = fc.dump();
  auto out = simplifyFeatureCollection(in, 10);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_LT(out->size(), in.size() / 3) << out->size() << " of " << in.size();
  const json doc = json::parse(*out);
  ASSERT_EQ(doc["features"].size(), 3u);
  EXPECT_EQ(doc["features"][0]["properties"], fc["features"][0]["properties"]);
  EXPECT_EQ(doc["features"][0]["type"], "Feature");
  const auto& loop = doc["features"][0]["geometry"]["coordinates"];
  ASSERT_EQ(loop.size(), 2u) << "the hole is kept";
  EXPECT_LT(loop[0].size(), 60u);
  EXPECT_GE(loop[0].size(), 4u);
  EXPECT_EQ(loop[0].front(), loop[0].back());
  const auto& islands = doc["features"][1]["geometry"]["coordinates"];
  ASSERT_EQ(islands.size(), 2u);
  EXPECT_EQ(islands[1][0].size(), 6u) << "a 3 m island would vanish: kept whole";
  EXPECT_EQ(doc["features"][2]["geometry"], fc["features"][2]["geometry"]);
  EXPECT_NE(out->find("-87.63"), std::string::npos);

  for (const char* bad : {"", "[]", "{\"type\":\"Feature\"}", "{\"type\":\"FeatureCollection\",\"features\":[1]}",
                          R"({"type":"FeatureCollection","features":[{"geometry":{"type":"Polygon","coordinates":[[["a",1]]]}}]})"}) {
    auto r = simplifyFeatureCollection(bad, 10);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_geojson") << bad;
  }
}

TEST(SimplifyFeatureCollection, ChicagoCommunityAreas) {
  std::ifstream f(safestream::testing::sourcePath("data/chicago_community_areas.geojson"));
  std::stringstream ss;
  ss << f.rdbuf();
  // The file as the city directory serves it: a FeatureCollection.
  const std::string in = ss.str();
  const json original = json::parse(in);
  for (int tol : {2, 10}) {
    auto out = simplifyFeatureCollection(in, tol);
    ASSERT_TRUE(out.ok()) << out.error().message;
    const json doc = json::parse(*out);
    ASSERT_EQ(doc["features"].size(), original["features"].size());
    std::cout << "[ measure  ] Chicago boundaries at " << tol << " m: " << out->size() << " bytes of " << in.size()
              << "\n";
    EXPECT_LT(out->size(), in.size() / 2);
  }
}

// The directory as api/city_directory.cc builds it, from the shipped file.
class OneCity final : public CityDirectory {
 public:
  OneCity() {
    std::ifstream f(safestream::testing::sourcePath("data/chicago_community_areas.geojson"));
    std::stringstream ss;
    ss << f.rdbuf();
    b_.geojson = ss.str();
    b_.gzip = gzipCompress(b_.geojson);
    b_.etag = entityTag(b_.geojson, false);
    cities_.push_back(CityView{"chicago", "Chicago", "America/Chicago", {-87.94, 41.64, -87.52, 42.03}, {}});
  }
  const std::vector<CityView>& cities() const override { return cities_; }
  const CityBoundaries* boundaries(const std::string& id) const override { return id == "chicago" ? &b_ : nullptr; }

 private:
  std::vector<CityView> cities_;
  CityBoundaries b_;
};

TEST(SimplifiedBoundaries, ServedGzippedWithTheirOwnTagAndOnlyForTheListedTolerances) {
  OneCity cities;
  ServiceDeps deps;
  deps.cities = &cities;
  api::testing::FixedClock clock;
  deps.clock = &clock;
  ApiService service(deps);
  auto call = [&](const std::string& query, std::map<std::string, std::string> headers = {}) {
    HttpRequest req;
    req.method = "GET";
    req.path = "/v1/cities/chicago/boundaries";
    req.query = query;
    req.headers = std::move(headers);
    HttpResponse out;
    service.handle(req, [&](HttpResponse r) { out = std::move(r); });
    return out;
  };
  auto header = [](const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  auto full = call("", {{"accept-encoding", "gzip"}});
  ASSERT_EQ(full.status, 200);
  auto five = call("simplify=5", {{"accept-encoding", "gzip"}});
  ASSERT_EQ(five.status, 200) << five.body;
  EXPECT_EQ(header(five, "Content-Encoding"), "gzip");
  EXPECT_EQ(five.contentType, "application/geo+json");
  EXPECT_LT(five.body.size() * 10, full.body.size()) << five.body.size() << " of " << full.body.size();
  std::cout << "[ measure  ] Chicago boundaries gzipped: " << full.body.size() << " bytes, simplify=5: "
            << five.body.size() << "\n";
  const std::string tag = header(five, "ETag");
  EXPECT_NE(tag, header(full, "ETag"));
  EXPECT_NE(tag.find("-s5"), std::string::npos) << tag;
  EXPECT_EQ(call("simplify=5", {{"accept-encoding", "gzip"}, {"if-none-match", tag}}).status, 304);
  auto plain = call("simplify=5");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(header(plain, "Content-Encoding"), "");
  const auto doc = nlohmann::json::parse(plain.body);
  EXPECT_EQ(doc["type"], "FeatureCollection");
  EXPECT_EQ(doc["features"].size(), nlohmann::json::parse(call("").body)["features"].size());
  EXPECT_EQ(call("simplify=5").body, plain.body) << "the same answer from the cache";
  for (const char* bad : {"simplify=0", "simplify=3", "simplify=1000", "simplify=-5", "simplify=5.0", "simplify="}) {
    auto r = call(bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("\"field\":\"simplify\""), std::string::npos) << bad << ": " << r.body;
  }
}

}  // namespace
}  // namespace safestream::api
