// Surge counting with several processors (redis_surge_counter.h): two alert
// sinks on one Redis, each with its own connection, as two processors of
// one group. Their counts and surges must be those of one sink fed the same
// reports. Real Redis; subscriptions put straight into the registries.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/kafka.h"
#include "core/redis_client.h"
#include "core/report_codec.h"
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

class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(core::Timestamp t) : ms_(core::toEpochMillis(t)) {}
  core::Timestamp now() const override { return core::fromEpochMillis(ms_.load()); }

 private:
  std::atomic<long long> ms_;
};

std::uint64_t cellL13(core::GeoPoint p) { return S2CellId(S2LatLng::FromDegrees(p.lat, p.lon)).parent(13).id(); }

core::Report burglary(core::GeoPoint where, core::Timestamp occurred, int i) {
  core::Report r;
  r.source = "surge-instances-test";
  r.sourceId = core::randomUuid();
  r.id = core::reportIdFor(r.source, r.sourceId);
  r.rawType = "BURGLARY";
  r.occurredAt = occurred;
  r.reportedAt = occurred;
  r.location = core::GeoPoint{where.lat + 0.00001 * (i % 50), where.lon};
  core::Enrichment e;
  e.category = "burglary";
  e.severity = 3;
  e.cellL13 = cellL13(where);
  r.enrichment = e;
  return r;
}

processor::SinkBatch batchOf(const std::vector<core::Report>& reports, std::size_t from, std::size_t to) {
  processor::SinkBatch b;
  for (std::size_t i = from; i < std::min(to, reports.size()); ++i) {
    b.reports.push_back({reports[i], {"reports.raw", 0}, static_cast<std::int64_t>(i)});
  }
  return b;
}

// One processor's alert sink: its own Redis connection, metrics and
// registry holding `sub`.
struct Instance {
  prometheus::Registry prom;
  AlertMetrics metrics{prom};
  std::shared_ptr<SubscriptionRegistry> registry = std::make_shared<SubscriptionRegistry>(nullptr, &metrics);
  std::unique_ptr<RedisAlertSink> sink;
  Instance(const RedisAlertSinkOptions& options, const core::Subscription& sub, const core::Clock& clock,
           core::MessageSink* alertsTopic = nullptr) {
    EXPECT_TRUE(registry->upsert(sub).ok());
    sink = std::make_unique<RedisAlertSink>(
        options, registry,
        std::make_unique<core::RedisClient>(core::RedisSettings{testing::requireStackEnv("SAFESTREAM_REDIS_URL")}),
        metrics, clock, alertsTopic);
  }
  void write(const processor::SinkBatch& b) {
    auto s = sink->write(b);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  // As the sink's lane does: a retriable failure (another instance kept
  // changing the keys) is retried after a short, jittered pause.
  void writeRetrying(const processor::SinkBatch& b, std::mt19937& rng) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto s = sink->write(b);
      if (s.ok()) return;
      ASSERT_TRUE(s.error().retriable) << s.error().message;
      std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 2000));
    }
    FAIL() << "a batch was refused 100 times";
  }
};

core::Subscription subscriptionAt(core::GeoPoint centre) {
  core::Subscription sub;
  sub.id = core::randomUuid();
  sub.areaType = core::AreaType::circle;
  sub.center = centre;
  sub.radiusM = 2000;
  sub.categories = {"burglary"};
  return sub;
}

RedisAlertSinkOptions optionsWithPrefix() {
  RedisAlertSinkOptions o;
  o.surgeKeyPrefix = "safestream:test:surge:" + core::randomUuid().substr(0, 8) + ":";
  o.broadcastRecent = std::chrono::seconds(0);
  return o;
}

SurgeState storedState(core::RedisClient& redis, const RedisAlertSinkOptions& o, core::GeoPoint where) {
  auto reply = redis.command({"GET", o.surgeKeyPrefix + core::cellToken(cellL13(where)) + ":burglary"});
  EXPECT_TRUE(reply.ok() && reply->type == core::RedisReply::Type::string) << "no surge state stored";
  if (!reply.ok() || reply->type != core::RedisReply::Type::string) return {};
  auto s = decodeSurgeState(reply->str);
  EXPECT_TRUE(s.has_value()) << reply->str;
  return s.value_or(SurgeState{});
}

long long total(const SurgeState& s) {
  long long n = 0;
  for (const auto& [b, c] : s.buckets) n += c;
  return n;
}

std::vector<json> surgeAlerts(core::RedisClient& redis, const std::string& sub) {
  std::vector<json> out;
  for (auto& a : testing::streamEntries(redis, streamKey(sub))) {
    if (a["type"] == "surge") out.push_back(a);
  }
  return out;
}

void cleanUp(core::RedisClient& redis, const RedisAlertSinkOptions& o, const std::vector<std::string>& subs) {
  std::vector<std::string> patterns{o.surgeKeyPrefix + "*"};
  for (const auto& s : subs) patterns.push_back("safestream:*" + s + "*");
  for (const auto& p : patterns) {
    auto keys = redis.command({"KEYS", p});
    if (!keys.ok()) continue;
    for (const auto& k : keys->elements) (void)redis.command({"DEL", k.str});
  }
}

// A surge of 9 burglaries in the hour from t0, as an earlier instance left
// it in the outbox.
PendingSurge surgeOf9(core::GeoPoint where, core::Timestamp t0) {
  PendingSurge p;
  p.event.cellL13 = cellL13(where);
  p.event.category = "burglary";
  p.event.count = 9;
  p.event.baselineMean = 1;
  p.event.baselineStddev = 1;
  p.event.zScore = 8;
  p.event.windowStart = t0;
  p.event.windowEnd = t0 + 1h;
  return p;
}

core::GeoPoint randomPlace() {
  static std::mt19937_64 rng(std::random_device{}());
  return {std::uniform_real_distribution<double>(-60, 60)(rng), std::uniform_real_distribution<double>(-170, 170)(rng)};
}

// Two days of one or two burglaries an hour, then a burst of 12 in 20
// minutes: one surge. Fed in batches of 7, the batches alternating between
// two sinks (each batch also replayed by the other one, as after a
// rebalance), the key's state ends exactly as one sink leaves it, and the
// burst raises one surge alert with the same fields.
TEST(SurgeInstances, TwoSinksTakingTurnsCountAndSurgeAsOne) {
  core::RedisClient redis{{testing::requireStackEnv("SAFESTREAM_REDIS_URL")}};
  const auto where = randomPlace();
  const auto t0 = core::parseTimestamp("2014-03-01T00:00:00Z").value();
  std::vector<core::Report> reports;
  for (int hour = 0; hour < 48; ++hour) {
    for (int k = 0; k < 1 + hour % 2; ++k) {
      reports.push_back(burglary(where, t0 + std::chrono::hours(hour) + std::chrono::minutes(10 + k), k));
    }
  }
  for (int i = 0; i < 12; ++i) reports.push_back(burglary(where, t0 + 48h + std::chrono::minutes(5 + i), i));
  FixedClock clock(t0 + 48h + 30min);

  const auto soloOptions = optionsWithPrefix();
  const auto soloSub = subscriptionAt(where);
  Instance solo(soloOptions, soloSub, clock);
  for (std::size_t i = 0; i < reports.size(); i += 7) solo.write(batchOf(reports, i, i + 7));

  const auto pairOptions = optionsWithPrefix();
  const auto pairSub = subscriptionAt(where);
  Instance first(pairOptions, pairSub, clock), second(pairOptions, pairSub, clock);
  for (std::size_t i = 0, turn = 0; i < reports.size(); i += 7, ++turn) {
    auto b = batchOf(reports, i, i + 7);
    (turn % 2 ? second : first).write(b);
    (turn % 2 ? first : second).write(b);  // the replay by the other instance counts nothing
  }

  const SurgeState soloState = storedState(redis, soloOptions, where);
  const SurgeState pairState = storedState(redis, pairOptions, where);
  EXPECT_GE(soloState.windows, 24) << "the history was folded into the baseline";
  EXPECT_EQ(total(pairState), total(soloState));  // the buckets still in the state (the rest is in the baseline)
  EXPECT_EQ(pairState.windows, soloState.windows);
  EXPECT_DOUBLE_EQ(pairState.mean, soloState.mean);
  EXPECT_DOUBLE_EQ(pairState.variance, soloState.variance);
  EXPECT_TRUE(pairState == soloState) << encodeSurgeState(pairState) << "\nvs one sink:\n" << encodeSurgeState(soloState);

  const auto soloSurges = surgeAlerts(redis, soloSub.id);
  const auto pairSurges = surgeAlerts(redis, pairSub.id);
  ASSERT_EQ(soloSurges.size(), 1u);
  ASSERT_EQ(pairSurges.size(), 1u) << "at most one surge alert per burst";
  for (const char* field : {"cell", "category", "count", "window_start", "window_end", "z_score"}) {
    EXPECT_EQ(pairSurges[0][field], soloSurges[0][field]) << field;
  }
  EXPECT_EQ(first.metrics.surgesDetected.Value() + second.metrics.surgesDetected.Value(), 1);
  cleanUp(redis, soloOptions, {soloSub.id});
  cleanUp(redis, pairOptions, {pairSub.id});
}

// Two sinks on two threads writing at once into one key (40 batches of 5
// reports each, within one hour, so the result does not depend on the
// order): no count is lost, and the state is the one a single sink stores.
TEST(SurgeInstances, TwoSinksWritingAtOnceLoseNoCount) {
  core::RedisClient redis{{testing::requireStackEnv("SAFESTREAM_REDIS_URL")}};
  const auto where = randomPlace();
  const auto t0 = core::parseTimestamp("2014-05-01T12:00:00Z").value();
  std::vector<core::Report> reports;
  for (int i = 0; i < 400; ++i) reports.push_back(burglary(where, t0 + std::chrono::seconds(7 * i), i));
  FixedClock clock(t0 + 1h);

  const auto soloOptions = optionsWithPrefix();
  Instance solo(soloOptions, subscriptionAt(randomPlace()), clock);
  for (std::size_t i = 0; i < reports.size(); i += 5) solo.write(batchOf(reports, i, i + 5));

  const auto pairOptions = optionsWithPrefix();
  Instance first(pairOptions, subscriptionAt(randomPlace()), clock), second(pairOptions, subscriptionAt(randomPlace()), clock);
  std::atomic<bool> go{false};
  auto feed = [&](Instance& in, std::size_t parity) {
    std::mt19937 rng(static_cast<unsigned>(parity) + 1);
    while (!go) std::this_thread::yield();
    for (std::size_t i = 0, k = 0; i < reports.size(); i += 5, ++k) {
      if (k % 2 == parity) in.writeRetrying(batchOf(reports, i, i + 5), rng);
    }
  };
  std::thread a(feed, std::ref(first), 0), b(feed, std::ref(second), 1);
  go = true;
  a.join();
  b.join();

  const SurgeState soloState = storedState(redis, soloOptions, where);
  const SurgeState pairState = storedState(redis, pairOptions, where);
  EXPECT_EQ(total(soloState), 400);
  EXPECT_EQ(total(pairState), 400) << "counts lost between two instances";
  EXPECT_TRUE(pairState == soloState) << encodeSurgeState(pairState) << "\nvs one sink:\n" << encodeSurgeState(soloState);
  std::cout << "commit conflicts redone: "
            << first.metrics.surgeConflicts.Value() + second.metrics.surgeConflicts.Value() << "\n";
  cleanUp(redis, soloOptions, {});
  cleanUp(redis, pairOptions, {});
}

// A surge whose delivery did not happen (the commit stored it in the
// outbox, the process died before sending) is sent by the next write of
// any instance, once.
TEST(SurgeInstances, ASurgeLeftInTheOutboxIsSentByAnotherInstanceOnce) {
  core::RedisClient redis{{testing::requireStackEnv("SAFESTREAM_REDIS_URL")}};
  const auto where = randomPlace();
  const auto options = optionsWithPrefix();
  const auto sub = subscriptionAt(where);
  const auto t0 = core::parseTimestamp("2014-06-01T00:00:00Z").value();
  FixedClock clock(t0 + 1h);
  const PendingSurge left = surgeOf9(where, t0);
  ASSERT_TRUE(redis.command({"HSET", options.surgeKeyPrefix + "outbox", left.event.key(), encodePendingSurge(left)}).ok());
  Instance other(options, sub, clock);
  other.write(batchOf({burglary(where, t0 + 10min, 0)}, 0, 1));
  other.write(batchOf({burglary(where, t0 + 11min, 1)}, 0, 1));
  const auto got = surgeAlerts(redis, sub.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["count"], 9);
  auto box = redis.command({"HLEN", options.surgeKeyPrefix + "outbox"});
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(box->integer, 0) << "sent, so out of the outbox";
  EXPECT_EQ(other.metrics.surgesDetected.Value(), 0) << "a leftover is not a new detection";
  cleanUp(redis, options, {sub.id});
}

// The alerts topic as a process sees it (behind the project's MessageSink):
// records what it acknowledges; a stuck one keeps the caller in
// sendAndWait until released and then fails, as a process killed while
// waiting for the broker never got its acknowledgement.
class FakeTopic final : public core::MessageSink {
 public:
  explicit FakeTopic(bool stuck) : stuck_(stuck) {}
  std::vector<core::DeliveryResult> sendAndWait(const std::vector<core::OutMessage>& batch,
                                                std::chrono::milliseconds) override {
    std::unique_lock lock(mu_);
    if (stuck_) {
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
      return std::vector<core::DeliveryResult>(batch.size(), core::DeliveryResult{false, "killed", true});
    }
    for (const auto& m : batch) sent_.push_back(json::parse(m.value));
    return std::vector<core::DeliveryResult>(batch.size(), core::DeliveryResult{true, "", false});
  }
  bool waitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<json> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  bool stuck_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, released_ = false;
  std::vector<json> sent_;
};

// A processor that claimed a surge for the alerts topic and died before the
// broker acknowledged it (before: the claim stayed, every other instance
// took it for "already on the topic" and the surge never reached it). The
// next instance waits while the claim may still be a live publisher's, then
// publishes it once; the dead one's late failure does not undo that.
TEST(SurgeInstances, ASurgeWhosePublisherDiedBeforeTheAcknowledgementStillReachesTheTopic) {
  core::RedisClient redis{{testing::requireStackEnv("SAFESTREAM_REDIS_URL")}};
  const auto where = randomPlace();
  auto options = optionsWithPrefix();
  options.surgePublishClaim = 1500ms;
  const auto sub = subscriptionAt(where);
  const auto t0 = core::parseTimestamp("2014-06-01T00:00:00Z").value();
  FixedClock clock(t0 + 1h);
  const PendingSurge left = surgeOf9(where, t0);
  ASSERT_TRUE(redis.command({"HSET", options.surgeKeyPrefix + "outbox", left.event.key(), encodePendingSurge(left)}).ok());
  const std::string published = options.surgeKeyPrefix + "published:" + left.event.key();

  FakeTopic stuck(true), topic(false);
  Instance dying(options, sub, clock, &stuck), next(options, sub, clock, &topic);
  core::Status dyingResult = core::okStatus();
  std::thread dyingThread([&] { dyingResult = dying.sink->write(batchOf({burglary(where, t0 + 10min, 0)}, 0, 1)); });
  ASSERT_TRUE(stuck.waitEntered()) << "the first instance never tried to publish the surge";

  // Its claim is fresh: the next instance does not skip the surge, it asks to be retried.
  auto early = next.sink->write(batchOf({burglary(where, t0 + 11min, 1)}, 0, 1));
  ASSERT_FALSE(early.ok()) << "the surge was taken for published while its publisher was still waiting";
  EXPECT_TRUE(early.error().retriable);
  EXPECT_EQ(early.error().code, "surge_publish_claimed");
  EXPECT_TRUE(topic.sent().empty());

  // The claim expires (its holder is gone): the retry publishes it, once.
  std::this_thread::sleep_for(options.surgePublishClaim + 200ms);
  next.write(batchOf({burglary(where, t0 + 11min, 1)}, 0, 1));
  next.write(batchOf({burglary(where, t0 + 12min, 2)}, 0, 1));
  const auto sent = topic.sent();
  ASSERT_EQ(sent.size(), 1u) << "the surge reached the topic " << sent.size() << " times";
  EXPECT_EQ(sent[0]["type"], "surge");
  EXPECT_EQ(sent[0]["count"], 9);
  auto mark = redis.command({"GET", published});
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(mark->str, "1");
  auto box = redis.command({"HLEN", options.surgeKeyPrefix + "outbox"});
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(box->integer, 0) << "sent, so out of the outbox";

  // The dead one's produce fails at last: it releases only its own claim.
  stuck.release();
  dyingThread.join();
  EXPECT_FALSE(dyingResult.ok());
  mark = redis.command({"GET", published});
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(mark->str, "1") << "the failed publisher removed the mark of the one that succeeded";
  cleanUp(redis, options, {sub.id});
}

}  // namespace
}  // namespace safestream
