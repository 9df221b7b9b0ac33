#include "api/compression.h"

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "api/api_service.h"
#include "core/report_id.h"
#include "tests/unit/api/fakes.h"
#include "tests/support/gunzip.h"

namespace safestream::api {
namespace {

using safestream::testing::gunzip;

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

HttpResponse jsonOf(std::size_t bytes) {
  HttpResponse r;
  r.body = "{\"pad\":\"" + std::string(bytes > 10 ? bytes - 10 : 0, 'a') + "\"}";
  return r;
}

TEST(JsonGzip, LargeJsonIsGzippedWhenAccepted) {
  auto r = jsonOf(5000);
  const std::string body = r.body;
  EXPECT_TRUE(gzipJsonResponse("gzip, deflate, br", r));
  EXPECT_EQ(header(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  EXPECT_LT(r.body.size(), body.size() / 10);
  EXPECT_EQ(gunzip(r.body), body);

  auto geo = jsonOf(5000);
  geo.contentType = "application/geo+json; charset=utf-8";
  EXPECT_TRUE(gzipJsonResponse("gzip", geo));
}

TEST(JsonGzip, LeftAloneWhenNotAcceptedSmallNotJsonOrEncoded) {
  auto refused = jsonOf(5000);
  EXPECT_FALSE(gzipJsonResponse("gzip;q=0, identity", refused));
  EXPECT_EQ(header(refused, "Content-Encoding"), "");
  EXPECT_EQ(header(refused, "Vary"), "Accept-Encoding") << "the answer still depends on the header";
  auto none = jsonOf(5000);
  EXPECT_FALSE(gzipJsonResponse("", none));

  auto small = jsonOf(kMinJsonGzipBytes - 1);
  EXPECT_FALSE(gzipJsonResponse("gzip", small));
  EXPECT_EQ(header(small, "Vary"), "");
  auto edge = jsonOf(kMinJsonGzipBytes);
  EXPECT_TRUE(gzipJsonResponse("gzip", edge));

  auto yaml = jsonOf(5000);
  yaml.contentType = "application/yaml";
  EXPECT_FALSE(gzipJsonResponse("gzip", yaml));

  auto encoded = jsonOf(5000);
  encoded.headers.emplace_back("Content-Encoding", "gzip");
  const std::string before = encoded.body;
  EXPECT_FALSE(gzipJsonResponse("gzip", encoded));
  EXPECT_EQ(encoded.body, before) << "never compressed twice";

  auto tagged = jsonOf(5000);
  tagged.headers.emplace_back("ETag", "\"abc\"");
  EXPECT_FALSE(gzipJsonResponse("gzip", tagged)) << "an ETag names the identity form";
}

TEST(JsonGzip, AnExistingVaryIsExtended) {
  auto r = jsonOf(5000);
  r.headers.emplace_back("vary", "Origin");
  gzipJsonResponse("gzip", r);
  EXPECT_EQ(header(r, "vary"), "Origin, Accept-Encoding");
}

// Through the service: a page of reports is gzipped for a browser, not for a
// client that does not ask; errors and small answers stay plain. With the
// answer cache on, one query serves both encodings and every later browser.
TEST(JsonGzip, ServiceCompressesPagesOfReportsCachedOrNot) {
  for (const auto ttl : {std::chrono::milliseconds(0), std::chrono::milliseconds(1000)}) {
    SCOPED_TRACE("answer cache " + std::to_string(ttl.count()) + " ms");
    testing::FakeReportStore reports;
    testing::FixedClock clock;
    for (int i = 0; i < 100; ++i) {
      PublicReport p;
      p.id = core::randomUuid();
      p.source = "citizen";
      p.category = "theft";
      p.description = "bicycle taken from the rack";
      p.occurredAt = p.reportedAt = clock.t;
      p.lat = 41.88;
      p.lon = -87.63;
      reports.rows.push_back(p);
    }
    ServiceDeps deps;
    deps.reports = &reports;
    deps.clock = &clock;
    deps.reportsCacheTtl = ttl;
    ApiService service(deps);
    auto call = [&](std::map<std::string, std::string> headers, const std::string& path, const std::string& query) {
      return testing::handleGet(service, path, std::move(headers), query);
    };
    auto varies = [](const HttpResponse& r) {
      return std::count_if(r.headers.begin(), r.headers.end(), [](const auto& h) { return h.first == "Vary"; });
    };
    auto plain = call({}, "/v1/reports", "limit=100");
    ASSERT_EQ(plain.status, 200) << plain.body;
    EXPECT_EQ(header(plain, "Content-Encoding"), "");
    EXPECT_EQ(varies(plain), 1);
    auto gz = call({{"accept-encoding", "gzip"}}, "/v1/reports", "limit=100");
    ASSERT_EQ(gz.status, 200);
    EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
    EXPECT_EQ(header(gz, "Vary"), "Accept-Encoding");
    EXPECT_EQ(varies(gz), 1);
    EXPECT_EQ(gunzip(gz.body), plain.body);
    auto again = call({{"accept-encoding", "gzip, br"}}, "/v1/reports", "limit=100");
    EXPECT_EQ(gunzip(again.body), plain.body);
    EXPECT_EQ(reports.queries, ttl.count() > 0 ? 1 : 3);
    if (ttl.count() > 0) {
      EXPECT_EQ(again.body, gz.body);
    }
    auto error = call({{"accept-encoding", "gzip"}}, "/v1/reports", "limit=0");
    EXPECT_EQ(error.status, 400);
    EXPECT_EQ(header(error, "Content-Encoding"), "");
    EXPECT_TRUE(nlohmann::json::accept(error.body));
  }
}

// A kept answer and its gzip: made once, sent as the client allows.
TEST(JsonGzip, CachedJsonKeepsItsGzipAndSendsWhatTheClientTakes) {
  const auto big = cacheJson(jsonOf(5000).body);
  ASSERT_FALSE(big->gzip.empty());
  EXPECT_EQ(gunzip(big->gzip), big->body);
  auto gz = cachedJsonResponse(*big, "deflate, gzip");
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(gz, "Vary"), "Accept-Encoding");
  EXPECT_EQ(gz.body, big->gzip);
  EXPECT_FALSE(gzipJsonResponse("gzip", gz)) << "never compressed twice";
  auto refused = cachedJsonResponse(*big, "gzip;q=0");
  EXPECT_EQ(header(refused, "Content-Encoding"), "");
  EXPECT_EQ(header(refused, "Vary"), "Accept-Encoding");
  EXPECT_EQ(refused.body, big->body);

  const auto small = cacheJson(jsonOf(kMinJsonGzipBytes - 1).body);
  EXPECT_TRUE(small->gzip.empty());
  auto r = cachedJsonResponse(*small, "gzip");
  EXPECT_EQ(r.body, small->body);
  EXPECT_EQ(header(r, "Vary"), "");
  EXPECT_EQ(header(r, "Content-Encoding"), "");
}

}  // namespace
}  // namespace safestream::api
