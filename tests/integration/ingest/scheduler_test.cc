// The scheduler against a local HTTP server that serves the real SpotCrime
// sample and RapidAPI-shaped answers, and misbehaves (500, 429 with
// Retry-After, a hang past the timeout, a body cut short, truncated JSON,
// HTML instead of JSON, bad records), with the real Kafka producer and the
// real PostgreSQL: good records are published once, bad ones counted with
// their reason, and polling goes on.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "core/kafka.h"
#include "core/report_id.h"
#include "ingest/area_context_store.h"
#include "ingest/checkpoint_store.h"
#include "ingest/http_client.h"
#include "ingest/ingest_metrics.h"
#include "ingest/publisher.h"
#include "ingest/scheduler.h"
#include "ingest/sources_config.h"
#include "tests/integration/ingest/fake_source_server.h"
#include "tests/integration/ingest/topic_probe.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json spotcrimeSample() {
  std::ifstream in(testing::sourcePath("data/spotcrime_austin_2015_sample.json"));
  return json::parse(in);
}

// Three records no parser may accept, mixed into a good answer.
json badRecords() {
  return json::parse(R"([
    {"type":"Theft","date":"10/19/15 09:07 PM","lat":30.2,"lon":-97.8,"address":"no id"},
    {"cdid":990000001,"type":"Theft","date":"10/19/15 09:07 PM","lat":123.5,"lon":-97.8},
    {"cdid":990000002,"type":"Theft","date":"13/45/15 99:99 ZM","lat":30.2,"lon":-97.8}
  ])");
}

struct Fixture {
  std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  std::filesystem::path stateDir = std::filesystem::temp_directory_path() / ("ingest-sched-" + core::randomUuid());
  prometheus::Registry registry;
  ingest::IngestMetrics metrics{registry};
  core::KafkaProducer producer{core::KafkaSettings{bootstrap, {}}, core::ProducerOptions{}};
  ingest::Publisher publisher{producer, "reports.raw", &metrics};
  ingest::CheckpointStore checkpoints{stateDir.string()};
  ingest::CurlHttpClient http;
  core::SystemClock clock;
  std::atomic<bool> stop{false};
  ~Fixture() { std::filesystem::remove_all(stateDir); }

  std::unique_ptr<ingest::Scheduler> scheduler(const std::string& configText, ingest::AreaContextStore* store = nullptr) {
    auto cfg = ingest::parseSourcesConfig(configText, "test-config.json");
    return std::make_unique<ingest::Scheduler>(
        std::move(cfg), ingest::Scheduler::Deps{http, publisher, checkpoints, store, metrics, clock},
        [this](std::chrono::milliseconds d) {
          std::this_thread::sleep_for(std::min(d, std::chrono::milliseconds(5000)));  // stands in for ShutdownSignal::waitFor
          return stop.load();
        });
  }
};

TEST(IngestScheduler, SpotCrimeMisbehavingSourcePublishesGoodRecordsOnce) {
  Fixture f;
  ::setenv("SAFESTREAM_TEST_SPOTCRIME_KEY", "test-key-123", 1);
  const std::string source = "spotcrime.test" + core::randomUuid().substr(0, 8);
  const json sample = spotcrimeSample();
  const auto& crimes = sample["crimes"];
  const std::size_t half = 800;
  auto answer = [&](std::size_t n, bool withBad) {
    json out = {{"crimes", json::array()}};
    for (std::size_t i = 0; i < n; ++i) out["crimes"].push_back(crimes[i]);
    if (withBad) {
      for (const auto& b : badRecords()) out["crimes"].push_back(b);
    }
    return out.dump();
  };
  testing::FakeSourceServer server([&](const testing::FakeRequest& req, int i) -> testing::FakeReply {
    if (req.path != "/crimes.json" || req.query.count("key") == 0 || req.query.at("key") != "test-key-123") {
      return {404, "{\"error\":\"bad request\"}"};
    }
    switch (i) {
      // Poll 1: 500, 429 + Retry-After, a hang past the timeout, a body cut short, then the first part.
      case 0: return {500, "oops"};
      case 1: return {429, "{\"message\":\"slow down\"}", "application/json", {{"Retry-After", "1"}}};
      case 2: return {200, answer(half, true), "application/json", {}, 3000ms};
      case 3: return {200, answer(half, true), "application/json", {}, 0ms, /*truncate=*/true};
      case 4: return {200, answer(half, true)};
      // Poll 2: truncated JSON with a correct length. Poll 3: an HTML error page.
      case 5: return {200, answer(half, false).substr(0, 5000)};
      case 6: return {200, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"};
      // Poll 4: everything (the first part again, plus the rest, plus the bad records again).
      default: return {200, answer(crimes.size(), true)};
    }
  });
  const std::string config = R"({"sources": [{
      "name": "austin", "type": "spotcrime", "source": ")" + source + R"(",
      "base_url": ")" + server.url() + R"(", "key_env": "SAFESTREAM_TEST_SPOTCRIME_KEY",
      "poll_interval_s": 0.1, "timeout_ms": 700,
      "retry": {"max_attempts": 6, "base_delay_ms": 50, "max_delay_ms": 2000},
      "areas": [{"name": "south", "lat": 30.2111, "lon": -97.8365, "radius": 2, "time_zone": "America/Chicago"}]}]})";
  testing::TopicCollector collector(f.bootstrap, "reports.raw", {source});
  auto sched = f.scheduler(config);

  auto p1 = sched->pollOnce(0, 0);
  ASSERT_TRUE(p1.ok) << p1.error;
  EXPECT_EQ(server.requestCount(), 5);
  EXPECT_EQ(p1.published, half);
  EXPECT_EQ(p1.rejected, 3u);
  // Retry-After: 1 was honoured: the third request came at least 1 s after the second.
  auto times = server.requestTimes();
  ASSERT_GE(times.size(), 3u);
  EXPECT_GE(times[2] - times[1], 1000ms);

  auto p2 = sched->pollOnce(0, 0);
  EXPECT_FALSE(p2.ok);
  EXPECT_NE(p2.error.find("truncated"), std::string::npos) << p2.error;
  auto p3 = sched->pollOnce(0, 0);
  EXPECT_FALSE(p3.ok);
  EXPECT_NE(p3.error.find("HTML"), std::string::npos) << p3.error;

  auto p4 = sched->pollOnce(0, 0);
  ASSERT_TRUE(p4.ok) << p4.error;
  EXPECT_EQ(p4.published, crimes.size() - half);
  EXPECT_EQ(p4.skipped, half + 3);  // already published, and bad records already reported
  EXPECT_EQ(p4.rejected, 0u);

  EXPECT_EQ(f.metrics.requestsValue(source, "500"), 1);
  EXPECT_EQ(f.metrics.requestsValue(source, "429"), 1);
  EXPECT_EQ(f.metrics.requestsValue(source, "timeout"), 1);
  EXPECT_EQ(f.metrics.requestsValue(source, "transport"), 1);
  EXPECT_EQ(f.metrics.rejectedValue(source, "missing_id"), 1);
  EXPECT_EQ(f.metrics.rejectedValue(source, "bad_coordinates"), 1);
  EXPECT_EQ(f.metrics.rejectedValue(source, "bad_time"), 1);
  EXPECT_EQ(f.metrics.recordsValue(source, "published"), static_cast<double>(crimes.size()));

  std::set<std::string> expected;
  for (const auto& c : crimes) expected.insert(core::reportIdFor(source, std::to_string(c["cdid"].get<long long>())).value);
  ASSERT_TRUE(testing::waitUntil([&] { return collector.ids().size() >= expected.size(); }, 120s))
      << collector.ids().size() << " of " << expected.size();
  const auto ends = testing::endOffsets(f.bootstrap, "reports.raw");
  ASSERT_TRUE(testing::waitUntil([&] { return collector.caughtUp(ends); }, 120s));
  EXPECT_EQ(collector.ids(), expected);
  EXPECT_EQ(collector.total(), expected.size()) << "a record was published twice";
}

TEST(IngestScheduler, RunLoopKeepsPollingThroughFailuresAndStops) {
  Fixture f;
  ::setenv("SAFESTREAM_TEST_SPOTCRIME_KEY", "k", 1);
  const std::string source = "spotcrime.test" + core::randomUuid().substr(0, 8);
  const json sample = spotcrimeSample();
  testing::FakeSourceServer bad([&](const testing::FakeRequest&, int) -> testing::FakeReply { return {503, "down"}; });
  testing::FakeSourceServer good([&](const testing::FakeRequest&, int) -> testing::FakeReply {
    json out = {{"crimes", json::array()}};
    for (std::size_t i = 0; i < 50; ++i) out["crimes"].push_back(sample["crimes"][i]);
    return {200, out.dump()};
  });
  // Two sources: the failing one must not stop the other.
  const std::string config = R"({"sources": [
    {"name": "broken", "type": "spotcrime", "source": ")" + source + R"(x", "base_url": ")" + bad.url() + R"(",
     "key_env": "SAFESTREAM_TEST_SPOTCRIME_KEY", "poll_interval_s": 0.1, "retry": {"max_attempts": 2, "base_delay_ms": 10},
     "areas": [{"name": "a", "lat": 30.2, "lon": -97.8, "time_zone": "America/Chicago"}]},
    {"name": "working", "type": "spotcrime", "source": ")" + source + R"(", "base_url": ")" + good.url() + R"(",
     "key_env": "SAFESTREAM_TEST_SPOTCRIME_KEY", "poll_interval_s": 0.1, "rate_limit": {"per_second": 20, "per_day": 1000},
     "areas": [{"name": "a", "lat": 30.2, "lon": -97.8, "time_zone": "America/Chicago"},
               {"name": "b", "bbox": [30.1, -97.9, 30.3, -97.7], "tile_km": 10, "time_zone": "America/Chicago"}]}]})";
  auto sched = f.scheduler(config);
  ASSERT_GE(sched->targetCount(1), 2u);
  std::thread runner([&] { sched->run(); });
  const bool polled = testing::waitUntil([&] { return bad.requestCount() >= 6 && good.requestCount() >= 6; }, 60s);
  f.stop = true;
  runner.join();
  ASSERT_TRUE(polled) << "bad " << bad.requestCount() << " good " << good.requestCount();
  EXPECT_GE(f.metrics.requestsValue(source + "x", "503"), 6);
  EXPECT_EQ(f.metrics.recordsValue(source, "published"), 50);  // every area sees the same 50: published once
  EXPECT_GE(f.metrics.recordsValue(source, "skipped_seen"), 50);
}

TEST(IngestScheduler, RapidApiFeedAndZipGradesSendKeysAndLandWhereTheyBelong) {
  Fixture f;
  const std::string pgUrl = testing::requireStackEnv("SAFESTREAM_PG_URL");
  ::setenv("SAFESTREAM_TEST_RAPIDAPI_KEY", "rapid-secret", 1);
  const std::string name = "crimedata" + core::randomUuid().substr(0, 6);
  const std::string zipSource = "grades" + core::randomUuid().substr(0, 6);
  testing::FakeSourceServer server([&](const testing::FakeRequest& req, int) -> testing::FakeReply {
    if (req.headers.count("x-rapidapi-key") == 0 || req.headers.at("x-rapidapi-key") != "rapid-secret" ||
        req.headers.count("x-rapidapi-host") == 0) {
      return {403, "{\"message\":\"You are not subscribed to this API.\"}"};
    }
    if (req.path == "/crime") {
      return {200, R"([
        {"id": 501, "description": "BURGLARY", "lat": 37.7749, "long": -122.4194, "time": "2023-07-01 22:15:00"},
        {"id": 502, "description": "ROBBERY", "lat": "37.78", "long": "-122.40", "time": "2023-07-02 01:00:00"},
        {"id": 503, "description": "ASSAULT", "lat": 37.78, "long": -122.40, "time": "yesterday"}])"};
    }
    if (req.path == "/crime_data") {
      return {200, R"({"Overall":{"Zipcode":")" + req.query.at("zip") + R"(","Overall Crime Grade":"C+",
        "Violent Crime Grade":"B","Property Crime Grade":"C","Other Crime Grade":"A-"},
        "Crime BreakDown":[{"Violent Crime Rates":{"Assault":"1.234","Robbery":"0.5"}}]})"};
    }
    return {404, "{}"};
  });
  const std::string config = R"({"sources": [
    {"name": ")" + name + R"(", "type": "rapidapi_incidents", "base_url": ")" + server.url() + R"(",
     "rapidapi_host": "crime-data.p.rapidapi.com", "key_env": "SAFESTREAM_TEST_RAPIDAPI_KEY",
     "fields": {"id": "id", "time": "time", "time_format": "%Y-%m-%d %H:%M:%S", "time_zone": "America/Los_Angeles",
                "description": "description", "lat": "lat", "lon": "long"},
     "areas": [{"name": "sf", "lat": 37.7749, "lon": -122.4194, "time_zone": "America/Los_Angeles"}]},
    {"name": ")" + zipSource + R"(", "type": "rapidapi_zip_grades", "base_url": ")" + server.url() + R"(",
     "rapidapi_host": "crime-data-by-zipcode-api.p.rapidapi.com", "key_env": "SAFESTREAM_TEST_RAPIDAPI_KEY",
     "rate_limit": {"per_day": 1}, "zips": ["94103", "94110"]}]})";
  ingest::PostgresAreaContextStore store(pgUrl);
  const std::string source = "rapidapi:" + name;
  testing::TopicCollector collector(f.bootstrap, "reports.raw", {source});
  auto sched = f.scheduler(config, &store);

  auto feed = sched->pollOnce(0, 0);
  ASSERT_TRUE(feed.ok) << feed.error;
  EXPECT_EQ(feed.published, 2u);
  EXPECT_EQ(feed.rejected, 1u);
  EXPECT_EQ(f.metrics.rejectedValue(source, "bad_time"), 1);
  const auto req = server.requests().front();
  EXPECT_EQ(req.path, "/crime");
  EXPECT_TRUE(std::regex_match(req.query.at("startdate"), std::regex("[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"))) << req.query.at("startdate");
  EXPECT_EQ(req.query.at("lat"), "37.774900");
  EXPECT_EQ(req.query.at("long"), "-122.419400");
  EXPECT_EQ(req.headers.at("x-rapidapi-host"), "crime-data.p.rapidapi.com");

  auto g1 = sched->pollOnce(1, 0);
  ASSERT_TRUE(g1.ok) << g1.error;
  // The plan allows one request a day: the second ZIP waits for tomorrow.
  auto g2 = sched->pollOnce(1, 1);
  EXPECT_FALSE(g2.ok);
  EXPECT_NE(g2.error.find("quota"), std::string::npos) << g2.error;
  ASSERT_TRUE(g2.notBefore.has_value());
  EXPECT_GT(*g2.notBefore, 0ms);

  pqxx::connection c(pgUrl);
  pqxx::work tx(c);
  auto rows = tx.exec_params("SELECT zip, overall_grade, violent_grade, breakdown->0->'Violent Crime Rates'->>'Assault' "
                             "FROM area_crime_grades WHERE source = $1 ORDER BY zip", "rapidapi:" + zipSource);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "94103");
  EXPECT_EQ(rows[0][1].as<std::string>(), "C+");
  EXPECT_EQ(rows[0][2].as<std::string>(), "B");
  EXPECT_EQ(rows[0][3].as<std::string>(), "1.234");

  ASSERT_TRUE(testing::waitUntil([&] { return collector.ids().size() >= 2; }, 60s));
  auto reports = collector.reports();
  std::map<std::string, core::Report> byId;
  for (auto& r : reports) byId[r.sourceId] = r;
  ASSERT_TRUE(byId.count("501"));
  EXPECT_EQ(core::formatTimestamp(byId["501"].occurredAt), "2023-07-02T05:15:00Z");
  EXPECT_EQ(byId["501"].rawType, "BURGLARY");
}

TEST(IngestScheduler, SocrataPullsIncrementallyFromTheHighWaterMarkAndPages) {
  Fixture f;
  const std::string name = "chi" + core::randomUuid().substr(0, 6);
  const std::string source = "socrata:" + name;
  // Five records; the server honours $where/$order/$limit like Socrata.
  std::vector<json> rows;
  for (int i = 0; i < 5; ++i) {
    rows.push_back({{"id", std::to_string(9000 + i)}, {"date", "2014-03-1" + std::to_string(i) + "T10:00:00.000"},
                    {"primary_type", "THEFT"}, {"iucr", "0820"}, {"latitude", "41.9"}, {"longitude", "-87.7"},
                    {"updated_on", "2014-03-2" + std::to_string(i) + "T08:30:00.000"}});
  }
  testing::FakeSourceServer server([&](const testing::FakeRequest& req, int) -> testing::FakeReply {
    if (req.path != "/resource/ijzp-q8t2.json") return {404, "{}"};
    std::smatch m;
    const std::string where = req.query.count("$where") ? req.query.at("$where") : "";
    if (!std::regex_match(where, m, std::regex("updated_on >= '([0-9T:-]+)'"))) return {400, "{\"message\":\"bad $where\"}"};
    const std::size_t limit = std::stoul(req.query.at("$limit"));
    json page = json::array();
    for (const auto& r : rows) {
      if (r["updated_on"].get<std::string>().substr(0, 19) >= m[1].str() && page.size() < limit) page.push_back(r);
    }
    return {200, page.dump()};
  });
  const std::string config = R"({"sources": [{"name": ")" + name + R"(", "type": "socrata", "base_url": ")" +
                             server.url() + R"(", "dataset": "ijzp-q8t2", "page_limit": 3, "lookback_hours": 0,
     "since": "2014-01-01T00:00:00Z",
     "fields": {"id": "id", "time": "date", "time_zone": "America/Chicago", "type": "primary_type", "code": "iucr",
                "lat": "latitude", "lon": "longitude", "updated": "updated_on"}}]})";
  testing::TopicCollector collector(f.bootstrap, "reports.raw", {source});
  auto sched = f.scheduler(config);
  auto p1 = sched->pollOnce(0, 0);
  ASSERT_TRUE(p1.ok) << p1.error;
  EXPECT_EQ(p1.published, 3u);
  ASSERT_TRUE(p1.notBefore.has_value());  // a full page: the next page is asked for at once
  EXPECT_EQ(*p1.notBefore, 0ms);
  auto p2 = sched->pollOnce(0, 0);
  ASSERT_TRUE(p2.ok) << p2.error;
  EXPECT_EQ(p2.published, 2u);
  EXPECT_EQ(p2.skipped, 1u);  // the record at the high-water mark comes back (>=) and is skipped
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  // The second pull starts at the newest updated_on published (local floating time).
  EXPECT_EQ(reqs[1].query.at("$where"), "updated_on >= '2014-03-22T08:30:00'");
  EXPECT_EQ(reqs[1].query.at("$order"), "updated_on ASC");
  ASSERT_TRUE(testing::waitUntil([&] { return collector.ids().size() >= 5; }, 60s));
  EXPECT_EQ(collector.ids().size(), 5u);
}

}  // namespace
}  // namespace safestream
