// Sources config: every error names the file, the line and the key.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/result.h"
#include "ingest/column_mapping.h"
#include "ingest/rate_limiter.h"
#include "ingest/retrying_fetcher.h"
#include "ingest/sources_config.h"
#include "tests/support/stack_env.h"

namespace safestream::ingest {
namespace {

using namespace std::chrono_literals;

std::string errorOf(const std::string& text) {
  try {
    parseSourcesConfig(text, "cfg.json");
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

const char* kGood = R"({
  "sources": [
    {
      "name": "austin",
      "type": "spotcrime",
      "base_url": "https://api.spotcrime.example/",
      "key_env": "SAFESTREAM_UNIT_KEY",
      "poll_interval_s": 60,
      "rate_limit": {"per_second": 1, "per_day": 500},
      "areas": [
        {"name": "downtown", "lat": 30.27, "lon": -97.74, "radius": 0.5, "time_zone": "America/Chicago"},
        {"name": "box", "bbox": [30.2, -97.8, 30.3, -97.7], "tile_km": 5, "time_zone": "America/Chicago"}
      ]
    }
  ]
})";

TEST(SourcesConfig, GoodFileLoadsKeysFromTheEnvironmentAndTilesBoxes) {
  ::setenv("SAFESTREAM_UNIT_KEY", "secret", 1);
  auto c = parseSourcesConfig(kGood, "cfg.json");
  ASSERT_EQ(c.sources.size(), 1u);
  const auto& s = c.sources[0];
  EXPECT_EQ(s.reportSource, "spotcrime");
  EXPECT_EQ(s.key, "secret");
  EXPECT_EQ(s.baseUrl, "https://api.spotcrime.example");
  EXPECT_EQ(s.pollInterval, 60000ms);
  EXPECT_EQ(s.perDay, 500);
  // 0.1 degrees of latitude (~11 km) by 0.1 of longitude (~9.6 km) in 5 km tiles: 3 x 2.
  ASSERT_EQ(s.areas.size(), 1u + 6u);
  EXPECT_EQ(s.areas[1].name, "box.0.0");
  for (std::size_t i = 1; i < s.areas.size(); ++i) {
    EXPECT_GE(s.areas[i].lat, 30.2);
    EXPECT_LE(s.areas[i].lat, 30.3 + 0.05);
  }
}

TEST(SourcesConfig, ErrorsNameFileLineAndKey) {
  ::setenv("SAFESTREAM_UNIT_KEY", "secret", 1);
  std::string bad = kGood;
  bad.replace(bad.find("\"lat\": 30.27"), 12, "\"lat\": 300.0");
  EXPECT_NE(errorOf(bad).find("cfg.json:11: key 'sources[0].areas[0].lat': must be between -90 and 90"), std::string::npos)
      << errorOf(bad);

  // A NUL byte would end nlohmann's input and hide the rest of the file.
  std::string nul = kGood;
  nul.insert(nul.find("\"sources\""), std::string(1, '\0'));
  EXPECT_NE(errorOf(nul).find("cfg.json:"), std::string::npos) << errorOf(nul);
  EXPECT_NE(errorOf(nul).find("NUL"), std::string::npos) << errorOf(nul);

  std::string typo = kGood;
  typo.replace(typo.find("\"poll_interval_s\""), 17, "\"poll_intervall_s\"");
  EXPECT_NE(errorOf(typo).find("cfg.json:8: key 'sources[0].poll_intervall_s': is not a known key"), std::string::npos)
      << errorOf(typo);

  std::string zone = kGood;
  zone.replace(zone.find("\"America/Chicago\""), 17, "\"America/Austin\"");
  EXPECT_NE(errorOf(zone).find("cfg.json:11: key 'sources[0].areas[0].time_zone'"), std::string::npos) << errorOf(zone);

  ::unsetenv("SAFESTREAM_UNIT_KEY");
  EXPECT_NE(errorOf(kGood).find("cfg.json:7: key 'sources[0].key_env': names the environment variable SAFESTREAM_UNIT_KEY"),
            std::string::npos) << errorOf(kGood);

  EXPECT_NE(errorOf("{\n\"sources\": [\n{\"name\": 1,}\n]}").find("cfg.json:3: not valid JSON"), std::string::npos)
      << errorOf("{\n\"sources\": [\n{\"name\": 1,}\n]}");
  EXPECT_NE(errorOf(R"({"sources": [{"name": "a", "type": "ftp"}]})").find("key 'sources[0].type'"), std::string::npos);
  // A number beyond a double ended the process (an uncaught nlohmann
  // out_of_range; found by fuzzing): now an error naming the file.
  const std::string huge = R"({"sources": [{"name": "a", "poll_interval_s": 55E555555555555555555}]})";
  EXPECT_NE(errorOf(huge).find("cfg.json: not valid JSON: [json.exception.out_of_range.406] number overflow"),
            std::string::npos) << errorOf(huge);
}

TEST(SourcesConfig, RapidApiFieldMappingAndSocrataNeedTheirKeys) {
  ::setenv("SAFESTREAM_UNIT_KEY", "secret", 1);
  auto c = parseSourcesConfig(R"({"sources": [
    {"name": "crimedata", "type": "rapidapi_incidents", "base_url": "https://x.example", "key_env": "SAFESTREAM_UNIT_KEY",
     "rapidapi_host": "crime-data.p.rapidapi.com",
     "fields": {"id": "id", "time": "date", "time_format": "%Y-%m-%d %H:%M:%S", "time_zone": "America/Los_Angeles",
                "description": "description", "lat": "lat", "lon": "long"},
     "areas": [{"name": "sf", "lat": 37.77, "lon": -122.42, "time_zone": "America/Los_Angeles"}]},
    {"name": "chicago", "type": "socrata", "base_url": "https://data.cityofchicago.org", "dataset": "ijzp-q8t2",
     "fields": {"id": "id", "time": "date", "time_zone": "America/Chicago", "type": "primary_type", "updated": "updated_on"}}]})",
                              "cfg.json");
  ASSERT_EQ(c.sources.size(), 2u);
  EXPECT_EQ(c.sources[0].reportSource, "rapidapi:crimedata");
  EXPECT_EQ(c.sources[0].mapping.lon, "long");
  EXPECT_EQ(c.sources[0].mapping.source, "rapidapi:crimedata");
  EXPECT_EQ(c.sources[1].reportSource, "socrata:chicago");
  EXPECT_TRUE(c.sources[1].key.empty());
  EXPECT_NE(errorOf(R"({"sources": [{"name": "s", "type": "socrata", "base_url": "https://x", "dataset": "d",
    "fields": {"id": "id", "time": "date", "time_zone": "America/Chicago", "type": "t"}}]})").find("'sources[0].fields'"),
            std::string::npos);
}

class ManualClock final : public core::Clock {
 public:
  core::Timestamp t = core::fromEpochMillis(1'700'000'000'000);
  core::Timestamp now() const override { return t; }
};

TEST(RateLimiter, PerSecondAndDailyQuota) {
  ManualClock clock;
  RateLimiter l(2, 3, clock);
  EXPECT_TRUE(l.tryAcquire().allowed);
  EXPECT_TRUE(l.tryAcquire().allowed);
  auto d = l.tryAcquire();
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.quotaExhausted);
  EXPECT_GT(d.wait, 0ms);
  EXPECT_LE(d.wait, 500ms);
  clock.t += 500ms;
  EXPECT_TRUE(l.tryAcquire().allowed);
  EXPECT_EQ(l.remainingToday(), 0);
  clock.t += 10s;
  auto q = l.tryAcquire();
  EXPECT_TRUE(q.quotaExhausted);
  EXPECT_GT(q.wait, 0ms);
  clock.t += q.wait;  // next UTC day
  EXPECT_TRUE(l.tryAcquire().allowed);
  EXPECT_EQ(l.remainingToday(), 2);
}

class ScriptedHttp final : public HttpClient {
 public:
  std::vector<core::Result<HttpResponse>> script;
  std::size_t calls = 0;
  core::Result<HttpResponse> get(const HttpRequest&) override { return script.at(calls++); }
};

HttpResponse status(int s, std::optional<std::chrono::seconds> retryAfter = {}) {
  HttpResponse r;
  r.status = s;
  r.body = "{}";
  r.retryAfter = retryAfter;
  return r;
}

TEST(RetryingFetcher, BacksOffWithJitterHonoursRetryAfterAndStopsOn4xx) {
  ScriptedHttp http;
  http.script = {core::makeError("timeout", "t", "", true), status(503), status(429, std::chrono::seconds(2)), status(200)};
  std::vector<std::chrono::milliseconds> waits;
  RetryingFetcher f(http, {5, 100ms, 3000ms}, [&](std::chrono::milliseconds d) { waits.push_back(d); return true; }, 42);
  std::vector<std::string> seen;
  auto out = f.get({}, [&](const std::string& s, double) { seen.push_back(s); });
  ASSERT_TRUE(out.response.ok());
  EXPECT_EQ(out.attempts, 4);
  EXPECT_EQ(seen, (std::vector<std::string>{"timeout", "503", "429", "200"}));
  ASSERT_EQ(waits.size(), 3u);
  EXPECT_GE(waits[0], 50ms);  // jittered exponential backoff
  EXPECT_LE(waits[0], 100ms);
  EXPECT_GE(waits[1], 100ms);
  EXPECT_LE(waits[1], 200ms);
  EXPECT_EQ(waits[2], 2000ms);  // Retry-After: 2 wins over the shorter backoff

  ScriptedHttp http2;
  http2.script = {status(429, std::chrono::seconds(5))};
  RetryingFetcher g(http2, {5, 100ms, 1000ms}, [&](std::chrono::milliseconds) { return true; }, 1);
  auto later = g.get({});
  EXPECT_FALSE(later.response.ok());
  ASSERT_TRUE(later.notBefore.has_value());
  EXPECT_EQ(*later.notBefore, 5000ms);
  EXPECT_EQ(http2.calls, 1u);

  ScriptedHttp http3;
  http3.script = {status(404), status(200)};
  RetryingFetcher h(http3, {5, 1ms, 10ms}, [&](std::chrono::milliseconds) { return true; }, 1);
  auto notFound = h.get({});
  EXPECT_FALSE(notFound.response.ok());
  EXPECT_EQ(notFound.response.error().code, "http_404");
  EXPECT_EQ(http3.calls, 1u);

  for (int attempt = 1; attempt < 12; ++attempt) {
    auto d = f.backoff(attempt);
    EXPECT_LE(d, 3000ms);
    EXPECT_GE(d, std::min<std::chrono::milliseconds>(100ms * (1 << (attempt - 1)), 3000ms) / 2);
  }
}

}  // namespace
}  // namespace safestream::ingest

namespace safestream::ingest {
namespace {

TEST(SourcesConfig, ShippedConfigsLoad) {
  ::setenv("SAFESTREAM_SPOTCRIME_KEY", "x", 1);
  ::setenv("SAFESTREAM_RAPIDAPI_KEY", "y", 1);
  auto example = loadSourcesConfig(testing::sourcePath("ingest/config/example.json"));
  EXPECT_EQ(example.sources.size(), 4u);
  EXPECT_TRUE(loadSourcesConfig(testing::sourcePath("ingest/config/local.json")).sources.empty());
  auto m = loadColumnMapping(testing::sourcePath("ingest/config/austin_mapping.json"));
  EXPECT_EQ(m.source, "csv:austin");
}

}  // namespace
}  // namespace safestream::ingest
