// The alert path against the real local stack: subscriptions in PostgreSQL
// (as the API writes them), delivery into real Redis, surge alerts on the
// real Kafka `alerts` topic. Every test places its subscriptions at a random
// spot of the globe and uses fresh report ids, so it only sees what it made.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>

#include <atomic>
#include <cmath>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>

#include "core/kafka.h"
#include "core/live_feed.h"
#include "core/redis_client.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "core/subscription.h"
#include "processor/alerting/alert_format.h"
#include "processor/alerting/alert_sink.h"
#include "processor/alerting/redis_alert_sink.h"
#include "processor/alerting/subscription_store.h"
#include "tests/integration/alerting/stream_entries.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;
using namespace processor::alerting;
using processor::SinkBatch;
using nlohmann::json;

class TestClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return core::fromEpochMillis(ms_.load()); }
  void set(core::Timestamp t) { ms_ = core::toEpochMillis(t); }

 private:
  std::atomic<long long> ms_{core::toEpochMillis(core::nowUtc())};
};

// A random place away from every other test's places (and from the poles
// and the antimeridian, which subscriptions do not support).
core::GeoPoint randomPlace() {
  static std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> lat(-60, 60), lon(-170, 170);
  return {lat(rng), lon(rng)};
}

core::GeoPoint offset(core::GeoPoint p, double northM, double eastM) {
  constexpr double kPi = 3.14159265358979323846, kR = 6371008.8;
  return {p.lat + northM / kR * 180 / kPi, p.lon + eastM / (kR * std::cos(p.lat * kPi / 180)) * 180 / kPi};
}

std::uint64_t cellL13(core::GeoPoint p) { return S2CellId(S2LatLng::FromDegrees(p.lat, p.lon)).parent(13).id(); }

struct SubRow {
  std::string id = core::randomUuid();
  core::GeoPoint center;
  double radiusM = 1000;
  std::string categories = "{}";
  std::optional<std::pair<int, int>> quiet;
  std::string timeZone = "UTC";
  std::optional<int> maxPerHour;
};

void insertSubscription(const std::string& pgUrl, const SubRow& s) {
  pqxx::connection c(pgUrl);
  pqxx::work tx(c);
  tx.exec_params(
      "INSERT INTO subscriptions (id, token_hash, area_type, center_lat, center_lon, radius_m, categories, "
      "time_zone, quiet_start, quiet_end, max_per_hour) VALUES ($1::uuid, $2, 'circle', $3, $4, $5, $6::text[], $7, "
      "$8, $9, $10)",
      s.id, core::hashToken(core::generateToken()), s.center.lat, s.center.lon, s.radiusM, s.categories, s.timeZone,
      s.quiet ? std::optional<int>(s.quiet->first) : std::nullopt,
      s.quiet ? std::optional<int>(s.quiet->second) : std::nullopt, s.maxPerHour);
  tx.commit();
}

void deleteSubscription(const std::string& pgUrl, const std::string& id) {
  pqxx::connection c(pgUrl);
  pqxx::work tx(c);
  tx.exec_params("DELETE FROM subscriptions WHERE id = $1::uuid", id);
  tx.commit();
}

core::Report report(core::GeoPoint where, core::Timestamp occurred, std::string category = "theft",
                    int severity = 3) {
  core::Report r;
  r.source = "alerting-test";
  r.sourceId = core::randomUuid();
  r.id = core::reportIdFor(r.source, r.sourceId);
  r.rawType = "THEFT";
  r.description = "test report";
  r.occurredAt = occurred;
  r.reportedAt = occurred;
  r.ingestedAt = occurred + 1min;
  r.location = where;
  r.address = "1 TEST ST";
  core::Enrichment e;
  e.category = std::move(category);
  e.severity = severity;
  e.cellL13 = cellL13(where);
  e.neighbourhood = "TESTVILLE";
  r.enrichment = e;
  return r;
}

SinkBatch batchOf(const std::vector<core::Report>& reports) {
  SinkBatch b;
  std::int64_t offset = 0;
  for (const auto& r : reports) b.reports.push_back({r, {"reports.raw", 0}, offset++});
  return b;
}

std::vector<json> streamAlerts(core::RedisClient& redis, const std::string& subscriptionId) {
  return testing::streamEntries(redis, streamKey(subscriptionId));
}

double counterValue(prometheus::Counter& c) { return c.Value(); }

// The events of a broadcast feed (core/live_feed.h), oldest first.
std::vector<json> feedEvents(core::RedisClient& redis, const std::string& channelName) {
  return testing::streamEntries(redis, core::live::broadcastStream(channelName));
}

struct Harness {
  std::string pgUrl = testing::requireStackEnv("SAFESTREAM_PG_URL");
  std::string redisUrl = testing::requireStackEnv("SAFESTREAM_REDIS_URL");
  prometheus::Registry prom;
  AlertMetrics metrics{prom};
  std::shared_ptr<SubscriptionRegistry> registry = std::make_shared<SubscriptionRegistry>(nullptr, &metrics);
  SubscriptionListener listener{pgUrl, *registry, metrics, 100ms};
  TestClock clock;
  core::RedisClient redis{{redisUrl}};
  std::unique_ptr<RedisAlertSink> sink;

  explicit Harness(RedisAlertSinkOptions options = {}, core::MessageSink* topic = nullptr) {
    listener.start();
    EXPECT_TRUE(listener.waitUntilLoaded(20s)) << "subscriptions not loaded from PostgreSQL";
    sink = std::make_unique<RedisAlertSink>(options, registry, std::make_unique<core::RedisClient>(
                                                                   core::RedisSettings{redisUrl}),
                                            metrics, clock, topic);
  }
  ~Harness() { listener.stop(); }
  void write(const std::vector<core::Report>& reports) {
    auto s = sink->write(batchOf(reports));
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
};

TEST(AlertSink, SubscriptionInsertedInDatabaseMatchesWithinASecondAndDeleteStopsIt) {
  Harness h;
  SubRow sub;
  sub.center = randomPlace();
  const auto inserted = std::chrono::steady_clock::now();
  insertSubscription(h.pgUrl, sub);
  // The processor hears the change through NOTIFY: the issue asks for < 1 s.
  ASSERT_TRUE(testing::waitUntil([&] { return h.registry->find(sub.id) != nullptr; }, 1000ms, 10ms))
      << "subscription not in the index within a second of its INSERT";
  const auto heardMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - inserted).count();
  std::cout << "[ measure  ] subscription matching " << heardMs << " ms after INSERT\n";

  const auto near = report(offset(sub.center, 300, 200), core::nowUtc() - 5min);
  const auto far = report(offset(sub.center, 3000, 0), core::nowUtc() - 5min);
  h.write({near, far});
  auto alerts = streamAlerts(h.redis, sub.id);
  ASSERT_EQ(alerts.size(), 1u);
  const auto& a = alerts.front();
  EXPECT_EQ(a["type"], "report");
  EXPECT_EQ(a["subscription_id"], sub.id);
  EXPECT_EQ(a["report_id"], near.id.value);
  EXPECT_EQ(a["alert_id"], alertId(sub.id, near.id.value));
  EXPECT_EQ(a["category"], "theft");
  EXPECT_EQ(a["severity"], 3);
  EXPECT_EQ(a["address"], "1 TEST ST");
  EXPECT_EQ(a["neighbourhood"], "TESTVILLE");
  EXPECT_EQ(a["url"], "/v1/reports/" + near.id.value);
  EXPECT_NEAR(a["distance_m"].get<double>(), std::hypot(300.0, 200.0), 2.0);
  EXPECT_EQ(a["occurred_at"], core::formatTimestamp(near.occurredAt));
  EXPECT_GE(counterValue(h.metrics.sent), 1);

  deleteSubscription(h.pgUrl, sub.id);
  ASSERT_TRUE(testing::waitUntil([&] { return h.registry->find(sub.id) == nullptr; }, 1000ms, 10ms))
      << "deleted subscription still in the index after a second";
  h.write({report(offset(sub.center, 100, 0), core::nowUtc())});
  EXPECT_EQ(streamAlerts(h.redis, sub.id).size(), 1u) << "a deleted subscription got an alert";
}

TEST(AlertSink, ListenerReconnectsAndReloadsWhatItMissed) {
  Harness h;
  const int reloadsBefore = h.listener.reloads();
  {
    // Cut the LISTEN session, as a PostgreSQL restart or failover would.
    pqxx::connection c(h.pgUrl);
    pqxx::nontransaction tx(c);
    auto killed = tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'safestream-alert-listener' AND pid <> pg_backend_pid()");
    ASSERT_GE(killed.size(), 1u);
  }
  // Written while the listener may be disconnected: its NOTIFY can be lost,
  // the full reload on reconnect must still bring it in.
  SubRow sub;
  sub.center = randomPlace();
  insertSubscription(h.pgUrl, sub);
  ASSERT_TRUE(testing::waitUntil([&] { return h.registry->find(sub.id) != nullptr; }, 15000ms))
      << "subscription written during the outage never arrived";
  EXPECT_TRUE(testing::waitUntil([&] { return h.listener.reloads() > reloadsBefore; }, 15000ms));
  EXPECT_GE(h.metrics.listenerReconnects.Value(), 1);
  h.write({report(offset(sub.center, 10, 10), core::nowUtc())});
  EXPECT_EQ(streamAlerts(h.redis, sub.id).size(), 1u);
  deleteSubscription(h.pgUrl, sub.id);
}

TEST(AlertSink, ReplaysRestartsAndNearDuplicatesNeverAlertTwice) {
  const std::string pgUrl = testing::requireStackEnv("SAFESTREAM_PG_URL");
  SubRow sub;
  sub.center = randomPlace();
  insertSubscription(pgUrl, sub);
  std::vector<core::Report> reports;
  for (int i = 0; i < 3; ++i) reports.push_back(report(offset(sub.center, 100.0 * i, 0), core::nowUtc() - 10min));
  // A near-duplicate from another source, linked by the processor.
  auto dup = report(offset(sub.center, 20, 0), core::nowUtc() - 9min);
  dup.enrichment->duplicateOf = reports[0].id;
  reports.push_back(dup);
  // And one without a location, which never alerts.
  auto nowhere = report(sub.center, core::nowUtc());
  nowhere.location.reset();
  reports.push_back(nowhere);

  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  {
    Harness h;
    ASSERT_TRUE(testing::waitUntil([&] { return h.registry->find(sub.id) != nullptr; }, 5000ms));
    h.write(reports);
    EXPECT_EQ(streamAlerts(redis, sub.id).size(), 3u);
    EXPECT_EQ(counterValue(h.metrics.duplicates), 1);  // the near-duplicate
    EXPECT_EQ(counterValue(h.metrics.skippedNoLocation), 1);
    h.write(reports);  // a retry of the same batch
    EXPECT_EQ(streamAlerts(redis, sub.id).size(), 3u);
  }
  // A restarted processor built by the real factory replays the batch.
  AlertSinkConfig config;
  config.pgUrl = pgUrl;
  config.redisUrl = testing::requireStackEnv("SAFESTREAM_REDIS_URL");
  prometheus::Registry prom;
  auto sinks = makeAlertSinks(config, prom);
  ASSERT_EQ(sinks->sinks().size(), 2u);
  EXPECT_EQ(sinks->sinks()[0]->name(), "alerts");
  EXPECT_EQ(sinks->sinks()[1]->name(), "surges");
  for (auto* sink : sinks->sinks()) {
    auto s = sink->write(batchOf(reports));
    ASSERT_TRUE(s.ok()) << sink->name() << ": " << s.error().message;
  }
  EXPECT_EQ(streamAlerts(redis, sub.id).size(), 3u) << "a replay after a restart alerted again";
  std::set<std::string> ids;
  for (const auto& a : streamAlerts(redis, sub.id)) ids.insert(a["report_id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{reports[0].id.value, reports[1].id.value, reports[2].id.value}));
  deleteSubscription(pgUrl, sub.id);
}

TEST(AlertSink, QuietHoursSuppressAndThrottleHoldsBackWithOneDigest) {
  Harness h;
  // 2026-03-10 13:20 UTC = 08:20 in Chicago (CDT, UTC-5).
  const auto start = core::parseTimestamp("2026-03-10T13:20:00Z").value();
  h.clock.set(start);
  SubRow quiet;
  quiet.center = randomPlace();
  quiet.timeZone = "America/Chicago";
  quiet.quiet = {7 * 60, 9 * 60};  // 07:00-09:00 local
  SubRow noisy;
  noisy.center = randomPlace();
  noisy.maxPerHour = 2;
  SubRow awake;  // same place as `quiet`, quiet hours that do not apply now
  awake.center = quiet.center;
  awake.timeZone = "America/Chicago";
  awake.quiet = {22 * 60, 6 * 60};
  for (const auto& s : {quiet, noisy, awake}) insertSubscription(h.pgUrl, s);
  ASSERT_TRUE(testing::waitUntil(
      [&] { return h.registry->find(quiet.id) && h.registry->find(noisy.id) && h.registry->find(awake.id); }, 5000ms));

  h.write({report(offset(quiet.center, 50, 50), start - 1min)});
  EXPECT_TRUE(streamAlerts(h.redis, quiet.id).empty()) << "alert sent during quiet hours";
  EXPECT_EQ(streamAlerts(h.redis, awake.id).size(), 1u);
  EXPECT_EQ(counterValue(h.metrics.quietSuppressed), 1);

  std::vector<core::Report> five;
  for (int i = 0; i < 5; ++i) five.push_back(report(offset(noisy.center, 10.0 * i, 0), start - 1min));
  h.write(five);
  EXPECT_EQ(streamAlerts(h.redis, noisy.id).size(), 2u);
  EXPECT_EQ(counterValue(h.metrics.throttled), 3);
  h.write(five);  // a replay holds back nothing more
  EXPECT_EQ(counterValue(h.metrics.throttled), 3);

  // The hour ends: one digest says how many were held back.
  h.clock.set(start + 41min);
  ASSERT_TRUE(h.sink->flush(5s).ok());
  auto alerts = streamAlerts(h.redis, noisy.id);
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts.back()["type"], "digest");
  EXPECT_EQ(alerts.back()["held_back"], 3);
  EXPECT_EQ(alerts.back()["window_start"], "2026-03-10T13:00:00Z");
  ASSERT_TRUE(h.sink->flush(5s).ok());
  EXPECT_EQ(streamAlerts(h.redis, noisy.id).size(), 3u) << "digest sent twice";
  // A new hour has a fresh budget.
  h.write({report(offset(noisy.center, 5, 5), start + 41min)});
  EXPECT_EQ(streamAlerts(h.redis, noisy.id).size(), 4u);
  for (const auto& s : {quiet, noisy, awake}) deleteSubscription(h.pgUrl, s.id);
}

void setPaused(const std::string& pgUrl, const std::string& id, bool paused) {
  pqxx::connection c(pgUrl);
  pqxx::work tx(c);
  tx.exec_params("UPDATE subscriptions SET paused = $2, updated_at = now() WHERE id = $1::uuid", id, paused);
  tx.commit();
}

TEST(AlertSink, PausedSubscriptionGetsNoAlertNoDigestAndResumingReplaysNothing) {
  Harness h;
  const auto start = core::parseTimestamp("2026-03-10T13:20:00Z").value();
  h.clock.set(start);
  SubRow sub;
  sub.center = randomPlace();
  sub.maxPerHour = 1;
  SubRow witness;  // same place, never paused: shows each report was matched
  witness.center = sub.center;
  for (const auto& s : {sub, witness}) insertSubscription(h.pgUrl, s);
  ASSERT_TRUE(testing::waitUntil([&] { return h.registry->find(sub.id) && h.registry->find(witness.id); }, 5000ms));

  // Before the pause: one alert, and one held back for the 13:00 digest.
  const auto first = report(offset(sub.center, 10, 0), start - 1min);
  h.write({first, report(offset(sub.center, 400, 0), start - 1min)});
  ASSERT_EQ(streamAlerts(h.redis, sub.id).size(), 1u);
  EXPECT_EQ(counterValue(h.metrics.throttled), 1);

  setPaused(h.pgUrl, sub.id, true);
  ASSERT_TRUE(testing::waitUntil([&] { auto s = h.registry->find(sub.id); return s && s->paused; }, 5000ms))
      << "the pause did not reach the processor's index";
  // The hour ends while paused: its digest is dropped, not sent.
  h.clock.set(start + 41min);
  ASSERT_TRUE(h.sink->flush(5s).ok());
  EXPECT_EQ(streamAlerts(h.redis, sub.id).size(), 1u) << "a paused subscription got a digest";
  // A report in the new hour (a fresh throttle budget, so only the pause can
  // keep it back).
  const auto skipped = report(offset(sub.center, 100, 100), start + 41min);
  h.write({skipped});
  EXPECT_EQ(streamAlerts(h.redis, sub.id).size(), 1u) << "a paused subscription got an alert";
  EXPECT_EQ(streamAlerts(h.redis, witness.id).size(), 3u) << "the report was matched for the other subscription";

  setPaused(h.pgUrl, sub.id, false);
  ASSERT_TRUE(testing::waitUntil([&] { auto s = h.registry->find(sub.id); return s && !s->paused; }, 5000ms));
  ASSERT_TRUE(h.sink->flush(5s).ok());
  const auto next = report(offset(sub.center, -100, 0), start + 45min);
  h.write({next});
  auto alerts = streamAlerts(h.redis, sub.id);
  ASSERT_EQ(alerts.size(), 2u) << "after resuming: the next report only";
  EXPECT_EQ(alerts[0]["report_id"], first.id.value);
  EXPECT_EQ(alerts[1]["report_id"], next.id.value) << "nothing skipped while paused is replayed, no late digest";
  for (const auto& s : {sub, witness}) deleteSubscription(h.pgUrl, s.id);
}

// The surge counts of one (cell, category), summed over its buckets, as the
// sink stored them in Redis.
long long storedSurgeCount(core::RedisClient& redis, const std::string& prefix, core::GeoPoint where,
                           const std::string& category) {
  auto reply = redis.command({"GET", prefix + core::cellToken(cellL13(where)) + ":" + category});
  EXPECT_TRUE(reply.ok() && reply->type == core::RedisReply::Type::string) << "no surge state stored";
  if (!reply.ok() || reply->type != core::RedisReply::Type::string) return -1;
  auto state = decodeSurgeState(reply->str);
  EXPECT_TRUE(state.has_value()) << reply->str;
  long long n = 0;
  if (state) {
    for (const auto& [bucket, count] : state->buckets) n += count;
  }
  return n;
}

TEST(AlertSink, SurgeCountsEachReportOnceAcrossRetriesReplaysRestartsAndDuplicatesInABatch) {
  RedisAlertSinkOptions options;
  options.surgeKeyPrefix = "safestream:test:surge:" + core::randomUuid().substr(0, 8) + ":";
  Harness h(options);
  const auto where = randomPlace();
  // Six reports over two event days (the counted ids are kept per day).
  const auto t0 = core::parseTimestamp("2014-03-01T23:30:00Z").value();
  std::vector<core::Report> reports;
  for (int i = 0; i < 6; ++i) reports.push_back(report(where, t0 + std::chrono::minutes(10 * i), "robbery"));
  std::vector<core::Report> withRepeat = reports;
  withRepeat.insert(withRepeat.begin() + 3, reports[2]);  // a later copy of the same report in the same batch
  h.write(withRepeat);
  EXPECT_EQ(storedSurgeCount(h.redis, options.surgeKeyPrefix, where, "robbery"), 6);
  h.write(reports);  // the batch retried by the same sink
  EXPECT_EQ(storedSurgeCount(h.redis, options.surgeKeyPrefix, where, "robbery"), 6);
  Harness restarted(options);  // a new processor replaying uncommitted offsets
  restarted.write({reports[0], reports[5], report(where, t0 + 45min, "robbery")});  // one new, on time
  EXPECT_EQ(storedSurgeCount(h.redis, options.surgeKeyPrefix, where, "robbery"), 7);
  auto days = h.redis.command({"KEYS", options.surgeKeyPrefix + "seen:*"});
  ASSERT_TRUE(days.ok());
  EXPECT_EQ(days->elements.size(), 2u) << "one set of counted ids per event day";
  auto ttl = h.redis.command({"TTL", options.surgeKeyPrefix + "seen:2014-03-02"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0) << "the set of counted ids never expires";
}

// GET /v1/live's feeds: a recent root report goes to its city's feed and its
// neighbourhood's, once across a retry and a restarted sink; duplicates, old
// reports and reports without a city do not.
TEST(AlertSink, RecentReportsGoToTheirCityAndNeighbourhoodFeedsOnce) {
  Harness h;
  const std::string city = "testcity" + core::randomUuid().substr(0, 8);
  const auto now = core::nowUtc();
  h.clock.set(now);
  auto inCity = [&](core::Report r) {
    r.enrichment->city = city;
    return r;
  };
  const auto where = randomPlace();
  core::Report fresh = inCity(report(where, now - 10min));
  fresh.contact = "private@example.invalid";
  core::Report duplicate = inCity(report(where, now - 9min));
  duplicate.enrichment->duplicateOf = fresh.id;
  const core::Report old = inCity(report(where, now - 72h));
  const core::Report noCity = report(where, now - 5min);
  h.write({fresh, duplicate, old, noCity});
  h.write({fresh});  // the batch retried
  Harness restarted;
  restarted.clock.set(now);
  restarted.write({fresh, duplicate});  // a replay after a restart

  const auto events = feedEvents(h.redis, core::live::cityChannelName(city));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "report");
  EXPECT_EQ(events[0]["channel"], "city:" + city);
  EXPECT_EQ(events[0]["report"]["id"], fresh.id.value);
  EXPECT_EQ(events[0]["report"]["category"], "theft");
  EXPECT_EQ(events[0]["report"]["neighbourhood"], "TESTVILLE");
  EXPECT_EQ(events[0]["report"]["url"], "/v1/reports/" + fresh.id.value);
  EXPECT_FALSE(events[0]["report"].contains("contact")) << "private fields never reach a public feed";
  const auto hood = feedEvents(h.redis, core::live::neighbourhoodChannelName(city, "TESTVILLE"));
  ASSERT_EQ(hood.size(), 1u);
  EXPECT_EQ(hood[0]["report"]["id"], fresh.id.value);
  EXPECT_EQ(counterValue(h.metrics.broadcasts), 2);

  // Off: nothing is appended.
  RedisAlertSinkOptions off;
  off.broadcastRecent = std::chrono::seconds(0);
  Harness quiet(off);
  quiet.clock.set(now);
  const std::string otherCity = "testcity" + core::randomUuid().substr(0, 8);
  core::Report another = report(where, now - 1min);
  another.enrichment->city = otherCity;
  quiet.write({another});
  EXPECT_TRUE(feedEvents(h.redis, core::live::cityChannelName(otherCity)).empty());
}

TEST(AlertSink, InjectedBurstInOneCellRaisesExactlyOneSurgeAlert) {
  core::KafkaProducer producer({testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP"), {}}, {});
  RedisAlertSinkOptions options;
  options.surge.warmupWindows = 24;
  Harness h(options, &producer);
  SubRow sub;
  sub.center = randomPlace();
  sub.radiusM = 2000;
  sub.categories = "{burglary}";
  insertSubscription(h.pgUrl, sub);
  ASSERT_TRUE(testing::waitUntil([&] { return h.registry->find(sub.id) != nullptr; }, 5000ms));

  // Two days of one or two burglaries an hour in the cell of the centre, in
  // event-time order, then a burst of 12 within 20 minutes.
  const auto t0 = core::parseTimestamp("2014-03-01T00:00:00Z").value();
  std::vector<core::Report> history;
  for (int hour = 0; hour < 48; ++hour) {
    for (int k = 0; k < 1 + hour % 2; ++k) {
      history.push_back(report(sub.center, t0 + std::chrono::hours(hour) + std::chrono::minutes(10 + k), "burglary"));
    }
  }
  // The burst happens "now" for the sink, in a city of its own: its surge
  // also goes to that city's live feed.
  const std::string city = "testcity" + core::randomUuid().substr(0, 8);
  h.clock.set(t0 + 48h + 30min);
  std::vector<core::Report> burst;
  for (int i = 0; i < 12; ++i) {
    burst.push_back(report(offset(sub.center, 5.0 * i, 0), t0 + 48h + std::chrono::minutes(5 + i), "burglary"));
    burst.back().enrichment->city = city;
  }
  for (std::size_t i = 0; i < history.size(); i += 10) {
    h.write(std::vector<core::Report>(history.begin() + static_cast<long>(i),
                                      history.begin() + static_cast<long>(std::min(history.size(), i + 10))));
  }
  auto surges = [&] {
    std::vector<json> out;
    for (auto& a : streamAlerts(h.redis, sub.id)) {
      if (a["type"] == "surge") out.push_back(a);
    }
    return out;
  };
  EXPECT_TRUE(surges().empty()) << "steady history raised a surge";
  h.write(burst);
  auto got = surges();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["cell"], core::cellToken(cellL13(sub.center)));
  EXPECT_EQ(got[0]["category"], "burglary");
  EXPECT_GE(got[0]["count"].get<int>(), 5);
  EXPECT_GE(got[0]["z_score"].get<double>(), 3.0);
  // Replaying everything (and a restarted sink) raises nothing more.
  auto feedSurges = [&] {
    int n = 0;
    for (auto& e : feedEvents(h.redis, core::live::cityChannelName(city))) n += e["type"] == "surge";
    return n;
  };
  EXPECT_EQ(feedSurges(), 1) << "the surge on its city's live feed";
  Harness again(options, &producer);
  again.clock.set(t0 + 48h + 30min);
  again.write(history);
  again.write(burst);
  EXPECT_EQ(surges().size(), 1u);
  EXPECT_EQ(feedSurges(), 1) << "and only once";

  // The surge is also on the `alerts` topic, once.
  core::KafkaConsumer consumer({testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP"), {}},
                               {.groupId = "alerting-test-" + core::randomUuid(), .topics = {"alerts"}});
  int onTopic = 0;
  const std::string key = core::cellToken(cellL13(sub.center));
  testing::waitUntil(
      [&] {
        for (const auto& m : consumer.poll(500, 200ms)) {
          if (m.key != key) continue;
          auto j = json::parse(m.value);
          if (j["type"] == "surge" && j["category"] == "burglary") ++onTopic;
        }
        return false;  // read until the deadline to see any second copy
      },
      8000ms, 1ms);
  EXPECT_EQ(onTopic, 1);
  deleteSubscription(h.pgUrl, sub.id);
}

}  // namespace
}  // namespace safestream
