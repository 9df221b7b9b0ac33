// The alert sink's configuration surface and its behaviour when Redis is
// unreachable (no server needed: port 1 refuses at once).
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <cstdlib>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/report_id.h"
#include "processor/alerting/alert_format.h"
#include "tests/support/stack_env.h"
#include "processor/alerting/alert_options.h"
#include "processor/alerting/redis_alert_sink.h"
#include "processor/alerting/redis_surge_counter.h"

namespace safestream {
namespace {

using namespace processor::alerting;

// Every alert the sink builds has the schema's required fields and no field
// the schema does not declare, with the declared JSON types.
TEST(AlertFormat, AlertsFollowTheAlertSchema) {
  using nlohmann::json;
  std::ifstream in(testing::sourcePath("schemas/alert.v1.json"));
  const json schema = json::parse(in);
  const auto& props = schema["properties"];
  auto typeOk = [](const json& value, const json& type) {
    auto one = [&](const std::string& t) {
      return (t == "string" && value.is_string()) || (t == "number" && value.is_number()) ||
             (t == "integer" && value.is_number_integer()) || (t == "null" && value.is_null());
    };
    if (type.is_string()) return one(type.get<std::string>());
    for (const auto& t : type) {
      if (one(t.get<std::string>())) return true;
    }
    return false;
  };
  auto check = [&](const std::string& text) {
    const json alert = json::parse(text);
    for (const auto& r : schema["required"]) {
      EXPECT_TRUE(alert.contains(r.get<std::string>())) << r << " in " << text;
    }
    for (const auto& [key, value] : alert.items()) {
      ASSERT_TRUE(props.contains(key)) << key << " is not in alert.v1.json";
      if (props[key].contains("type")) {
        EXPECT_TRUE(typeOk(value, props[key]["type"])) << key << " in " << text;
      }
      if (props[key].contains("enum")) {
        EXPECT_NE(std::find(props[key]["enum"].begin(), props[key]["enum"].end(), value), props[key]["enum"].end());
      }
    }
  };
  core::Report r;
  r.id = core::reportIdFor("t", "1");
  r.rawType = "THEFT";
  r.occurredAt = core::parseTimestamp("2014-03-14T23:52:00Z").value();
  r.location = core::GeoPoint{41.88, -87.63};
  r.enrichment = core::Enrichment{};
  r.enrichment->category = "theft";
  r.enrichment->severity = 2;
  const auto now = core::nowUtc();
  check(reportAlertJson("sub-1", r, 123.456, now));
  check(reportAlertJson("sub-1", r, std::nullopt, now));
  check(digestAlertJsonOpen("sub-1", now, now) + R"(,"held_back":3,"cursor":"1-0"})");
  SurgeEvent e;
  e.cellL13 = 0x880e2cb000000000ULL;
  e.category = "arson";
  e.count = 7;
  check(surgeAlertJson("*", e, now));
  // Near-duplicates share the root id, hence the alert id.
  auto dup = r;
  dup.id = core::reportIdFor("t", "2");
  dup.enrichment->duplicateOf = r.id;
  EXPECT_EQ(json::parse(reportAlertJson("s", dup, std::nullopt, now))["alert_id"],
            json::parse(reportAlertJson("s", r, std::nullopt, now))["alert_id"]);
}

TEST(AlertOptions, FlagsAndEnvironmentVariablesFillTheConfig) {
  CLI::App app("test");
  AlertSinkConfig config;
  addAlertOptions(app, config);
  ::setenv("SAFESTREAM_SURGE_Z", "4.5", 1);
  std::vector<std::string> args{"--alert-stream-maxlen", "250", "--surge-window-minutes", "30",
                                "--surge-key-prefix", "test:surge:"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  ::unsetenv("SAFESTREAM_SURGE_Z");
  EXPECT_EQ(config.streamMaxLen, 250);
  EXPECT_EQ(config.surge.window, std::chrono::minutes(30));
  EXPECT_DOUBLE_EQ(config.surge.zThreshold, 4.5);
  EXPECT_EQ(config.surgeKeyPrefix, "test:surge:");
  EXPECT_EQ(AlertSinkConfig{}.surgeKeyPrefix, "safestream:surge:");

  CLI::App bad("test");
  AlertSinkConfig c2;
  addAlertOptions(bad, c2);
  std::vector<std::string> badArgs{"--alert-stream-maxlen", "3"};
  std::reverse(badArgs.begin(), badArgs.end());
  EXPECT_THROW(bad.parse(badArgs), CLI::ValidationError);
}

TEST(AlertSinkFactory, MissingSettingsAreConfigErrorsNamingTheFlag) {
  prometheus::Registry prom;
  AlertSinkConfig config;
  config.pgUrl = "postgresql://localhost/x";
  try {
    (void)makeAlertSinks(config, prom);
    FAIL() << "no error without --redis-url";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--redis-url"), std::string::npos) << e.what();
  }
}

TEST(RedisAlertSink, UnreachableRedisIsARetriableErrorNotACrash) {
  prometheus::Registry prom;
  AlertMetrics metrics(prom);
  auto registry = std::make_shared<SubscriptionRegistry>(nullptr, &metrics);
  core::Subscription s;
  s.id = core::randomUuid();
  s.center = {41.88, -87.63};
  s.radiusM = 500;
  ASSERT_TRUE(registry->upsert(s).ok());
  core::SystemClock clock;
  RedisAlertSink sink({}, registry,
                      std::make_unique<core::RedisClient>(core::RedisSettings{"redis://127.0.0.1:1", std::chrono::milliseconds(300)}),
                      metrics, clock);
  processor::SinkBatch batch;
  core::Report r;
  r.id = core::reportIdFor("t", core::randomUuid());
  r.location = core::GeoPoint{41.88, -87.63};
  r.enrichment = core::Enrichment{};
  r.enrichment->category = "theft";
  r.enrichment->severity = 3;
  batch.reports.push_back({r, {"reports.raw", 0}, 0});
  auto st = sink.write(batch);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().retriable);
  EXPECT_EQ(metrics.matched.Value(), 1);
  EXPECT_GE(metrics.redisErrors.Value(), 1);
  EXPECT_FALSE(sink.flush(std::chrono::milliseconds(500)).ok());
}

// A surge waiting in the outbox (redis_surge_counter.h) reads back as it
// was written, neighbourhood names with spaces and quotes included; what is
// not one of ours reads as nothing.
TEST(SurgeOutbox, PendingSurgeRoundTripsAndGarbageIsRejected) {
  PendingSurge p;
  p.event.cellL13 = 0x880e2c0000000000ULL;
  p.event.category = "burglary";
  p.event.count = 12;
  p.event.baselineMean = 1.4999999999999998;
  p.event.baselineStddev = 0.70710678118654746;
  p.event.zScore = 14.849242404917497;
  p.event.windowStart = core::fromEpochMillis(1393718700000);
  p.event.windowEnd = core::fromEpochMillis(1393722300000);
  p.channels = {"city:chicago", "neighbourhood:chicago:HYDE \"PARK\""};
  auto back = decodePendingSurge(encodePendingSurge(p));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, p);
  EXPECT_EQ(back->event.key(), p.event.key());
  for (const char* bad : {"", "{}", "[1]", "not json", R"({"v":2})", R"({"v":1,"cell":"x"})"}) {
    EXPECT_FALSE(decodePendingSurge(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace safestream
