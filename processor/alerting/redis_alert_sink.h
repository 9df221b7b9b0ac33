#pragma once
// Alert delivery through Redis (schemas/alert.v1.json): for each enriched
// report with a location, the matching subscriptions get one alert each,
// appended to their stream and published on their live channel. One Lua
// script per (subscription, report) does, atomically on the Redis server:
// SET NX of the dedupe key (root report id, so replays and near-duplicates
// never alert twice), the quiet-hours and throttle decisions, XADD and
// PUBLISH. Atomic matters: a crash or Redis failure between "remember" and
// "send" would otherwise lose the alert on the retry.
//
// Throttle: at most max_per_hour alerts per clock hour (UTC hours of the
// injected clock); the rest are counted in Redis and, once the hour is over,
// one digest alert says how many were held back (sent after the hour ends
// by a tick(), a flush() or a write(), the last at most every
// digestCheckInterval); a subscription paused by then gets no
// digest and its count is dropped. Quiet hours: an alert whose publication
// time falls in the subscriber's quiet hours (their time zone) is suppressed,
// not postponed. Surge alerts: see surge_detector.h; surge state (with each
// key's watermark) is kept in Redis, so it survives restarts, and counted
// there exactly with several processors (redis_surge_counter.h).
//
// Threading: write()/writeAll() and flush() on the alert lane's thread only
// (ReportSink); the lane hands over each poll's reports as soon as they are
// enriched, merged with whatever else is queued.
// The registry is read under its own lock. Redis calls use one connection
// with the configured timeout; any Redis failure returns a retriable error
// and the pipeline retries the batch (the dedupe keys make that idempotent).
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/kafka.h"
#include "core/redis_client.h"
#include "core/time.h"
#include "processor/alerting/alert_metrics.h"
#include "processor/alerting/redis_surge_counter.h"
#include "processor/alerting/subscription_registry.h"
#include "processor/alerting/surge_detector.h"
#include "processor/report_sink.h"

namespace safestream::processor::alerting {

struct RedisAlertSinkOptions {
  // The part of the alert path this sink plays, so that each runs in a lane
  // of its own (processor/alerting/alert_sink.h): report alerts (with the
  // live feeds of reports and the digests) never wait behind the surge
  // bookkeeping. Both on: one sink does everything (tests).
  std::string name = "alerts";  // the lane's name
  bool reportAlerts = true;     // subscriptions' report alerts, report live feeds, digests
  // While writes keep the lane busy (an idle lane's tick() does it
  // otherwise), due digests are looked up at most this often by write():
  // one round trip saved from nearly every write. Digests fall due at hour
  // ends, so a second late is nothing.
  std::chrono::milliseconds digestCheckInterval{1000};
  int streamMaxLen = 1000;
  int dedupeTtlSeconds = 7 * 24 * 3600;
  bool surgeEnabled = true;  // surge detection and surge alerts
  SurgeConfig surge;
  std::string alertsTopic = "alerts";
  std::size_t pipelineChunk = 500;
  // Namespace of the surge state keys ({prefix}{cell}:{category},
  // {prefix}seen:{event day}, {prefix}published:{surge}); tests isolate with it.
  std::string surgeKeyPrefix = "safestream:surge:";
  // A surge goes to `alertsTopic` at least once: an instance claims
  // {prefix}published:{surge} for this long before it produces (longer than
  // the produce's 10 s wait), and marks it sent after the broker's
  // acknowledgement. An instance that finds another's claim retries later
  // instead of skipping the surge, so a process killed between its claim
  // and the acknowledgement no longer loses it: once the claim expires the
  // next write publishes it (a kill after the acknowledgement and before
  // the mark can publish it twice).
  std::chrono::milliseconds surgePublishClaim{30000};
  // Broadcast channels (core/live_feed.h): each root report with a city that
  // occurred within this much of now goes to its city's feed and its
  // neighbourhood's, once (SET NX per channel and report); surges too.
  // Older reports (imports of past data, replays) are history, not live
  // news, and cost nothing here. Zero turns broadcasting off.
  std::chrono::seconds broadcastRecent{24 * 3600};
  int broadcastMaxLen = 1000;  // XADD MAXLEN ~ per channel stream
};

class RedisAlertSink final : public ReportSink {
 public:
  // `alertsTopic` may be null (surges then only go to subscriptions).
  RedisAlertSink(RedisAlertSinkOptions options, std::shared_ptr<SubscriptionRegistry> registry,
                 std::unique_ptr<core::RedisClient> redis, AlertMetrics& metrics, const core::Clock& clock,
                 core::MessageSink* alertsTopic = nullptr);
  ~RedisAlertSink() override;

  std::string name() const override { return options_.name; }
  core::Status write(const SinkBatch& batch) override;
  core::Status writeAll(std::span<const BatchPtr> batches) override;  // one Redis round trip for all alerts
  core::Status flush(std::chrono::milliseconds timeout) override;
  // An idle lane's regular call: sends the digests whose hour has ended, so
  // a digest does not wait for the next report (one ZRANGEBYSCORE a call).
  core::Status tick(core::Timestamp now) override;

 private:
  struct Delivery;
  std::vector<Delivery> matchReports(std::span<const BatchPtr> batches);  // one per (subscription, report)
  core::Status deliver(std::vector<Delivery>& deliveries);
  core::Status sendDueDigests();
  core::Status sendDueDigestsIfTime();  // from write(): at most every digestCheckInterval
  core::Status detectSurges(std::span<const BatchPtr> batches);
  core::Status deliverSurge(const PendingSurge& surge);
  // Appends one broadcast per (channel, key) at most: {channel name, dedupe key, json}.
  struct Broadcast;
  core::Status broadcast(const std::vector<Broadcast>& items);
  core::Status broadcastReports(std::span<const BatchPtr> batches);
  // Runs command(0..n-1) in pipelined round trips of options_.pipelineChunk;
  // onReply(i, reply) sees each non-error reply. A failed round trip or an
  // error reply stops it with a retriable error (counted and logged).
  core::Status runPipelined(std::size_t n, const std::function<std::vector<std::string>(std::size_t)>& command,
                            const std::function<core::Status(std::size_t, const core::RedisReply&)>& onReply);

  RedisAlertSinkOptions options_;
  std::shared_ptr<SubscriptionRegistry> registry_;
  std::unique_ptr<core::RedisClient> redis_;
  AlertMetrics& metrics_;
  const core::Clock& clock_;
  core::MessageSink* alertsTopic_;
  RedisSurgeCounter surgeCounter_;  // uses *redis_ (declared after it: destroyed first)
  core::Timestamp nextDigestCheck_{};  // write() looks up due digests from then on
};

// Minutes after local midnight of `t` in IANA `zone` (UTC if unknown).
int localMinuteOfDay(core::Timestamp t, const std::string& zone);

}  // namespace safestream::processor::alerting
