// The scheduler on in-memory fakes (HTTP, Kafka, clock): restart behaviour
// through the checkpoint directory, the gap while down, overlapping areas.
#include "ingest/scheduler.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <set>

#include "core/report_id.h"

namespace safestream::ingest {
namespace {

using namespace std::chrono_literals;

class FakeHttp final : public HttpClient {
 public:
  std::function<HttpResponse(const HttpRequest&)> answer;
  std::vector<HttpRequest> seen;
  core::Result<HttpResponse> get(const HttpRequest& r) override {
    seen.push_back(r);
    return answer(r);
  }
};

class MemorySink final : public core::MessageSink {
 public:
  std::vector<core::OutMessage> sent;
  bool down = false;
  std::vector<core::DeliveryResult> sendAndWait(const std::vector<core::OutMessage>& batch, std::chrono::milliseconds) override {
    std::vector<core::DeliveryResult> out;
    for (const auto& m : batch) {
      if (!down) sent.push_back(m);
      out.push_back({!down, down ? "broker down" : "", down, 0, 0});
    }
    return out;
  }
};

class ManualClock final : public core::Clock {
 public:
  core::Timestamp t;
  core::Timestamp now() const override { return t; }
};

struct World {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ingest-unit-sched-" + core::randomUuid());
  FakeHttp http;
  MemorySink sink;
  ManualClock clock;
  prometheus::Registry registry;
  IngestMetrics metrics{registry};
  Publisher publisher{sink, "reports.raw", &metrics};
  ~World() { std::filesystem::remove_all(dir); }

  // A new Scheduler on the same state directory is a restarted daemon.
  std::unique_ptr<Scheduler> start(const std::string& config) {
    checkpoints = std::make_unique<CheckpointStore>(dir.string());
    return std::make_unique<Scheduler>(parseSourcesConfig(config, "t.json"),
                                       Scheduler::Deps{http, publisher, *checkpoints, nullptr, metrics, clock},
                                       [](std::chrono::milliseconds) { return false; });
  }
  std::unique_ptr<CheckpointStore> checkpoints;
};

HttpResponse ok(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

std::string incidents(int from, int to, const std::string& day) {
  std::string out = "[";
  for (int i = from; i < to; ++i) {
    out += std::string(i > from ? "," : "") + R"({"id":)" + std::to_string(i) + R"(,"description":"THEFT","lat":37.7,"long":-122.4,"time":")" +
           day + R"( 10:00:00"})";
  }
  return out + "]";
}

const char* kFeed = R"({"sources": [{"name": "feed", "type": "rapidapi_incidents", "base_url": "http://feed.invalid",
  "rapidapi_host": "h", "key_env": "SAFESTREAM_UNIT_FEED_KEY", "lookback_hours": 24,
  "fields": {"id": "id", "time": "time", "time_format": "%Y-%m-%d %H:%M:%S", "time_zone": "America/Los_Angeles",
             "description": "description", "lat": "lat", "lon": "long"},
  "areas": [{"name": "a", "lat": 37.7, "lon": -122.4, "time_zone": "America/Los_Angeles"},
            {"name": "b", "lat": 37.8, "lon": -122.4, "time_zone": "America/Los_Angeles"}]}]})";

TEST(Scheduler, RestartSkipsWhatWasPublishedAndAsksFromTheHighWaterMark) {
  ::setenv("SAFESTREAM_UNIT_FEED_KEY", "k", 1);
  World w;
  w.clock.t = *core::parseTimestamp("2023-07-03T12:00:00Z");
  w.http.answer = [](const HttpRequest&) { return ok(incidents(1, 11, "2023-07-02")); };
  {
    auto s = w.start(kFeed);
    auto a = s->pollOnce(0, 0);
    ASSERT_TRUE(a.ok) << a.error;
    EXPECT_EQ(a.published, 10u);
    auto b = s->pollOnce(0, 1);  // the other area sees the same incidents: not published twice
    ASSERT_TRUE(b.ok);
    EXPECT_EQ(b.published, 0u);
    EXPECT_EQ(b.skipped, 10u);
    // First poll without a checkpoint: from now - lookback (local date of the area).
    EXPECT_NE(w.http.seen[0].url.find("startdate=7%2F2%2F2023"), std::string::npos) << w.http.seen[0].url;
    EXPECT_EQ(w.http.seen[0].headers.at(0), (std::pair<std::string, std::string>{"X-RapidAPI-Key", "k"}));
  }
  // Down for two days; the source now also has days 3 and 4.
  w.clock.t = *core::parseTimestamp("2023-07-05T12:00:00Z");
  w.http.answer = [](const HttpRequest&) {
    std::string body = incidents(1, 11, "2023-07-02");
    body.pop_back();
    return ok(body + "," + incidents(11, 21, "2023-07-04").substr(1));
  };
  auto s = w.start(kFeed);
  auto c = s->pollOnce(0, 0);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.published, 10u);
  EXPECT_EQ(c.skipped, 10u);
  // The gap is asked for: from the high-water mark (07-02 10:00 local) minus 24 h, not from "now".
  EXPECT_NE(w.http.seen.back().url.find("startdate=7%2F1%2F2023"), std::string::npos) << w.http.seen.back().url;
  EXPECT_NE(w.http.seen.back().url.find("enddate=7%2F5%2F2023"), std::string::npos) << w.http.seen.back().url;

  std::set<std::string> keys;
  for (const auto& m : w.sink.sent) keys.insert(m.key);
  EXPECT_EQ(w.sink.sent.size(), 20u);
  EXPECT_EQ(keys.size(), 20u);
  EXPECT_EQ(w.metrics.recordsValue("rapidapi:feed", "published"), 20);
}

TEST(Scheduler, UnacknowledgedMessagesAreNotCheckpointedAndGoOutNextPoll) {
  ::setenv("SAFESTREAM_UNIT_FEED_KEY", "k", 1);
  World w;
  w.clock.t = *core::parseTimestamp("2023-07-03T12:00:00Z");
  w.http.answer = [](const HttpRequest&) { return ok(incidents(1, 6, "2023-07-02")); };
  auto s = w.start(kFeed);
  w.sink.down = true;
  auto a = s->pollOnce(0, 0);
  EXPECT_FALSE(a.ok);
  EXPECT_NE(a.error.find("delivery_failed"), std::string::npos) << a.error;
  EXPECT_EQ(w.metrics.recordsValue("rapidapi:feed", "published"), 0);
  w.sink.down = false;
  auto b = s->pollOnce(0, 0);
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(b.published, 5u);
  EXPECT_EQ(w.sink.sent.size(), 5u);
}

TEST(Scheduler, DailyQuotaSurvivesARestart) {
  ::setenv("SAFESTREAM_UNIT_FEED_KEY", "k", 1);
  World w;
  w.clock.t = *core::parseTimestamp("2023-07-03T12:00:00Z");
  w.http.answer = [](const HttpRequest&) { return ok("[]"); };
  std::string cfg = kFeed;
  cfg.replace(cfg.find("\"lookback_hours\": 24"), 20, "\"lookback_hours\": 24, \"rate_limit\": {\"per_day\": 2}");
  {
    auto s = w.start(cfg);
    EXPECT_TRUE(s->pollOnce(0, 0).ok);
    EXPECT_TRUE(s->pollOnce(0, 1).ok);
  }
  auto s = w.start(cfg);  // restarted the same day: the plan's 2 requests are spent
  auto third = s->pollOnce(0, 0);
  EXPECT_FALSE(third.ok);
  EXPECT_NE(third.error.find("quota_exhausted"), std::string::npos) << third.error;
  EXPECT_EQ(w.http.seen.size(), 2u);
  w.clock.t += 24h;
  EXPECT_TRUE(s->pollOnce(0, 0).ok);
}

TEST(Scheduler, ABadAnswerFailsThePollAndChangesNothing) {
  ::setenv("SAFESTREAM_UNIT_FEED_KEY", "k", 1);
  World w;
  w.clock.t = *core::parseTimestamp("2023-07-03T12:00:00Z");
  w.http.answer = [](const HttpRequest&) { return ok("<html>maintenance</html>"); };
  auto s = w.start(kFeed);
  auto a = s->pollOnce(0, 0);
  EXPECT_FALSE(a.ok);
  EXPECT_NE(a.error.find("HTML"), std::string::npos) << a.error;
  EXPECT_TRUE(w.sink.sent.empty());
  EXPECT_FALSE(std::filesystem::exists(w.checkpoints->pathFor("feed.a")));
}

}  // namespace
}  // namespace safestream::ingest
