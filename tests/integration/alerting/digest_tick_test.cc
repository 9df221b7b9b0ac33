// The digest of a throttled hour is sent by the sink's tick() (an idle lane
// calls it every second) once the hour has ended, without another report:
// after the demo's last report its digests still go out. Real Redis, an
// injected clock, the subscription put straight into the registry.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <random>

#include "core/redis_client.h"
#include "core/report_id.h"
#include "core/subscription.h"
#include "processor/alerting/alert_format.h"
#include "processor/alerting/redis_alert_sink.h"
#include "processor/alerting/subscription_registry.h"
#include "tests/integration/alerting/stream_entries.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;
using namespace processor::alerting;
using nlohmann::json;

class TickClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return core::fromEpochMillis(ms_.load()); }
  void set(core::Timestamp t) { ms_ = core::toEpochMillis(t); }

 private:
  std::atomic<long long> ms_{0};
};

std::vector<json> stream(core::RedisClient& redis, const std::string& key) { return testing::streamEntries(redis, key); }

TEST(AlertSinkTick, SendsTheDigestOfAnEndedHourWithoutAnotherReport) {
  const std::string redisUrl = testing::requireStackEnv("SAFESTREAM_REDIS_URL");
  core::RedisClient redis{{redisUrl}};
  prometheus::Registry prom;
  AlertMetrics metrics{prom};
  auto registry = std::make_shared<SubscriptionRegistry>(nullptr, &metrics);
  std::mt19937_64 rng(std::random_device{}());
  const core::GeoPoint centre{std::uniform_real_distribution<double>(-60, 60)(rng),
                              std::uniform_real_distribution<double>(-170, 170)(rng)};
  core::Subscription sub;
  sub.id = core::randomUuid();
  sub.areaType = core::AreaType::circle;
  sub.center = centre;
  sub.radiusM = 1000;
  sub.maxPerHour = 1;
  ASSERT_TRUE(registry->upsert(sub).ok());
  TickClock clock;
  const auto start = core::parseTimestamp("2026-03-10T13:20:00Z").value();
  clock.set(start);
  RedisAlertSinkOptions options;
  options.surgeEnabled = false;
  options.broadcastRecent = std::chrono::seconds(0);
  RedisAlertSink sink(options, registry, std::make_unique<core::RedisClient>(core::RedisSettings{redisUrl}), metrics,
                      clock, nullptr);

  processor::SinkBatch batch;
  for (int i = 0; i < 3; ++i) {
    core::Report r;
    r.source = "tick-test";
    r.sourceId = core::randomUuid();
    r.id = core::reportIdFor(r.source, r.sourceId);
    r.rawType = "THEFT";
    r.occurredAt = start - 1min;
    r.reportedAt = r.occurredAt;
    r.location = core::GeoPoint{centre.lat + 0.0001 * i, centre.lon};
    core::Enrichment e;
    e.category = "theft";
    e.severity = 3;
    e.cellL13 = S2CellId(S2LatLng::FromDegrees(centre.lat, centre.lon)).parent(13).id();
    r.enrichment = e;
    batch.reports.push_back({r, {"reports.raw", 0}, i});
  }
  ASSERT_TRUE(sink.write(batch).ok());
  ASSERT_EQ(stream(redis, streamKey(sub.id)).size(), 1u) << "max_per_hour 1: one alert, two held back";
  ASSERT_TRUE(sink.tick(clock.now()).ok());
  EXPECT_EQ(stream(redis, streamKey(sub.id)).size(), 1u) << "a digest before its hour ended";

  clock.set(start + 41min);  // 14:01: the 13:00 hour has ended
  ASSERT_TRUE(sink.tick(clock.now()).ok());
  auto alerts = stream(redis, streamKey(sub.id));
  ASSERT_EQ(alerts.size(), 2u) << "tick() did not send the digest";
  EXPECT_EQ(alerts.back()["type"], "digest");
  EXPECT_EQ(alerts.back()["held_back"], 2);
  EXPECT_EQ(alerts.back()["window_start"], "2026-03-10T13:00:00Z");
  ASSERT_TRUE(sink.tick(clock.now()).ok());
  EXPECT_EQ(stream(redis, streamKey(sub.id)).size(), 2u) << "digest sent twice";

  auto keys = redis.command({"KEYS", "safestream:*" + sub.id + "*"});
  if (keys.ok()) {
    for (const auto& k : keys->elements) (void)redis.command({"DEL", k.str});
  }
}

}  // namespace
}  // namespace safestream
