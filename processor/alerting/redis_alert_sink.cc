#include "processor/alerting/redis_alert_sink.h"

#include <absl/time/time.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_set>

#include "core/live_feed.h"
#include "core/log.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "processor/alerting/alert_format.h"

namespace safestream::processor::alerting {
namespace {

constexpr long long kHourMs = 3600 * 1000;
constexpr int kThrottleTtlSeconds = 2 * 3600;
constexpr int kHeldTtlSeconds = 24 * 3600;       // a digest is still sent after a day-long outage
constexpr int kSurgeStateTtlSeconds = 30 * 24 * 3600;  // of the topic's "published" claim
constexpr const char* kPublishClaimPrefix = "pending:";  // a claim's value; "1" once on the topic
// KEYS[1] claim; ARGV[1] its token. Deletes the claim if it is still that one.
constexpr const char* kReleaseClaim =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
constexpr const char* kDigestsDueKey = "safestream:alerts:digests:due";

// KEYS: dedupe, stream, channel, throttle counter, held-back counter, digests-due set
// ARGV: dedupe ttl, maxlen, alert json, max per hour (0: none), quiet (0/1),
//       digest member, digest due score, throttle ttl, held ttl
// Returns {0} duplicate, {1} quiet hours, {2} throttled, {3, entry id} sent.
constexpr const char* kDeliverScript = R"LUA(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0} end
if ARGV[5] == '1' then return {1} end
local limit = tonumber(ARGV[4])
if limit > 0 then
  local n = redis.call('INCR', KEYS[4])
  if n == 1 then redis.call('EXPIRE', KEYS[4], ARGV[8]) end
  if n > limit then
    redis.call('INCR', KEYS[5])
    redis.call('EXPIRE', KEYS[5], ARGV[9])
    redis.call('ZADD', KEYS[6], ARGV[7], ARGV[6])
    return {2}
  end
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'alert', ARGV[3])
redis.call('PUBLISH', KEYS[3], string.sub(ARGV[3], 1, -2) .. ',"cursor":"' .. id .. '"}')
return {3, id}
)LUA";

// KEYS: digest dedupe, stream, channel, held-back counter, digests-due set
// ARGV: dedupe ttl, maxlen, digest json without its closing brace, due member,
//       paused (0/1: the count is dropped, no digest: resuming replays nothing)
// Returns {0} nothing to send, {1, entry id} sent.
constexpr const char* kDigestScript = R"LUA(
redis.call('ZREM', KEYS[5], ARGV[4])
if ARGV[5] == '1' then redis.call('DEL', KEYS[4]) return {0} end
local held = tonumber(redis.call('GET', KEYS[4]) or '0')
if held == 0 then return {0} end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0} end
local body = ARGV[3] .. ',"held_back":' .. held
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'alert', body .. '}')
redis.call('PUBLISH', KEYS[3], body .. ',"cursor":"' .. id .. '"}')
return {1, id}
)LUA";

// KEYS: dedupe, stream, channel. ARGV: dedupe ttl, maxlen, event json.
// Returns {0} already broadcast, {1, entry id} appended and published.
constexpr const char* kBroadcastScript = R"LUA(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0} end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'alert', ARGV[3])
redis.call('PUBLISH', KEYS[3], string.sub(ARGV[3], 1, -2) .. ',"cursor":"' .. id .. '"}')
return {1, id}
)LUA";

std::string throttleKey(const std::string& sub, long long hourMs) {
  return "safestream:throttle:" + sub + ":" + std::to_string(hourMs);
}
std::string heldKey(const std::string& sub, long long hourMs) {
  return "safestream:heldback:" + sub + ":" + std::to_string(hourMs);
}

double seconds(core::Timestamp from, core::Timestamp to) {
  return std::max(0.0, std::chrono::duration<double>(to - from).count());
}

core::Error redisFailure(const core::Error& e, AlertMetrics& metrics) {
  metrics.redisErrors.Increment();
  core::log::warn("alert_redis_error", {{"error", e.message}});
  return core::makeError("alert_redis", "alert delivery: " + e.message, "", /*retriable=*/true);
}

}  // namespace

int localMinuteOfDay(core::Timestamp t, const std::string& zone) {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(zone, &tz)) tz = absl::UTCTimeZone();
  const auto civil = tz.At(absl::FromUnixMillis(core::toEpochMillis(t))).cs;
  return civil.hour() * 60 + civil.minute();
}

struct RedisAlertSink::Broadcast {
  std::string channel;  // "city:chicago", "neighbourhood:chicago:HYDE PARK"
  std::string key;      // report id or surge key: once per (channel, key)
  std::string json;
};

namespace {
// The channels a report (or the surge it set off) goes to: its city's and,
// when it has one, its neighbourhood's.
std::vector<std::string> channelsOf(const core::Report& r) {
  std::vector<std::string> out;
  if (!r.enrichment || !r.enrichment->city || r.enrichment->city->empty()) return out;
  out.push_back(core::live::cityChannelName(*r.enrichment->city));
  if (r.enrichment->neighbourhood && !r.enrichment->neighbourhood->empty()) {
    out.push_back(core::live::neighbourhoodChannelName(*r.enrichment->city, *r.enrichment->neighbourhood));
  }
  return out;
}
}  // namespace

struct RedisAlertSink::Delivery {
  std::shared_ptr<const core::Subscription> sub;
  std::string rootKey;  // dedupe key suffix: root report id or surge key
  std::string json;
  bool surge = false;
  std::optional<core::Timestamp> occurredAt;
  std::optional<core::Timestamp> ingestedAt;
};

RedisAlertSink::RedisAlertSink(RedisAlertSinkOptions options, std::shared_ptr<SubscriptionRegistry> registry,
                               std::unique_ptr<core::RedisClient> redis, AlertMetrics& metrics,
                               const core::Clock& clock, core::MessageSink* alertsTopic)
    : options_(std::move(options)),
      registry_(std::move(registry)),
      redis_(std::move(redis)),
      metrics_(metrics),
      clock_(clock),
      alertsTopic_(alertsTopic),
      surgeCounter_(*redis_, options_.surgeKeyPrefix, options_.surge) {}

RedisAlertSink::~RedisAlertSink() = default;

core::Status RedisAlertSink::write(const SinkBatch& batch) {
  BatchPtr one(std::shared_ptr<const SinkBatch>(), &batch);  // non-owning: lives for this call
  return writeAll(std::span<const BatchPtr>(&one, 1));
}

core::Status RedisAlertSink::writeAll(std::span<const BatchPtr> batches) {
  if (options_.reportAlerts) {
    std::vector<Delivery> deliveries = matchReports(batches);
    // Report alerts first: the broadcasts and anything after them never
    // delay them.
    if (auto s = deliver(deliveries); !s) return s;
    if (auto s = broadcastReports(batches); !s) return s;
  }
  if (options_.surgeEnabled) {
    if (auto s = detectSurges(batches); !s) return s;
  }
  return options_.reportAlerts ? sendDueDigestsIfTime() : core::okStatus();
}

std::vector<RedisAlertSink::Delivery> RedisAlertSink::matchReports(std::span<const BatchPtr> batches) {
  const auto now = clock_.now();
  std::vector<Delivery> deliveries;
  for (const auto& b : batches) {
    for (const auto& pr : b->reports) {
      const auto& r = pr.report;
      if (!r.location || !r.enrichment) {
        metrics_.skippedNoLocation.Increment();
        continue;
      }
      MatchPoint point{*r.location, r.enrichment->category, r.enrichment->severity,
                       r.enrichment->neighbourhood ? std::string_view(*r.enrichment->neighbourhood) : std::string_view(),
                       r.enrichment->city ? std::string_view(*r.enrichment->city) : std::string_view()};
      const std::string root = rootReportId(r);
      for (auto& m : registry_->match(point)) {
        metrics_.matched.Increment();
        Delivery d;
        d.json = reportAlertJson(m.subscription->id, r, m.distanceM, now);
        d.sub = std::move(m.subscription);
        d.rootKey = root;
        d.occurredAt = r.occurredAt;
        d.ingestedAt = r.ingestedAt;
        deliveries.push_back(std::move(d));
      }
    }
  }
  return deliveries;
}

core::Status RedisAlertSink::flush(std::chrono::milliseconds) {
  return options_.reportAlerts ? sendDueDigests() : core::okStatus();
}

// Due by clock_, like write().
core::Status RedisAlertSink::tick(core::Timestamp) { return options_.reportAlerts ? sendDueDigests() : core::okStatus(); }

core::Status RedisAlertSink::sendDueDigestsIfTime() {
  const auto now = clock_.now();
  if (now < nextDigestCheck_) return core::okStatus();
  auto s = sendDueDigests();
  if (s) nextDigestCheck_ = now + options_.digestCheckInterval;
  return s;
}

core::Status RedisAlertSink::deliver(std::vector<Delivery>& deliveries) {
  if (deliveries.empty()) return core::okStatus();
  const auto now = clock_.now();
  const long long nowMs = core::toEpochMillis(now);
  const long long hourMs = nowMs - nowMs % kHourMs;
  const std::string ttl = std::to_string(options_.dedupeTtlSeconds);
  const std::string maxLen = std::to_string(options_.streamMaxLen);
  return runPipelined(
      deliveries.size(),
      [&](std::size_t i) -> std::vector<std::string> {
        const auto& d = deliveries[i];
        const auto& sub = *d.sub;
        const bool quiet = sub.quietHours && sub.quietHours->contains(localMinuteOfDay(now, sub.timeZone));
        const int limit = d.surge ? 0 : sub.maxPerHour.value_or(0);
        return {"EVAL", kDeliverScript, "6", dedupeKey(sub.id, d.rootKey), streamKey(sub.id), liveChannel(sub.id),
                throttleKey(sub.id, hourMs), heldKey(sub.id, hourMs), kDigestsDueKey, ttl, maxLen, d.json,
                std::to_string(limit), quiet ? "1" : "0", sub.id + "|" + std::to_string(hourMs),
                std::to_string(hourMs + kHourMs), std::to_string(kThrottleTtlSeconds), std::to_string(kHeldTtlSeconds)};
      },
      [&](std::size_t i, const core::RedisReply& reply) -> core::Status {
        const auto& d = deliveries[i];
        const long long code = reply.elements.empty() ? -1 : reply.elements[0].integer;
        switch (code) {
          case 0: metrics_.duplicates.Increment(); break;
          case 1: metrics_.quietSuppressed.Increment(); break;
          case 2: metrics_.throttled.Increment(); break;
          case 3:
            if (d.surge) {
              metrics_.surgeAlerts.Increment();
            } else {
              metrics_.sent.Increment();
              if (d.occurredAt) metrics_.delayFromOccurred.Observe(seconds(*d.occurredAt, now));
              if (d.ingestedAt) metrics_.delayFromIngested.Observe(seconds(*d.ingestedAt, now));
            }
            break;
          default:
            return redisFailure(core::makeError("redis_error", "unexpected reply from the delivery script"), metrics_);
        }
        return core::okStatus();
      });
}

core::Status RedisAlertSink::runPipelined(
    std::size_t n, const std::function<std::vector<std::string>(std::size_t)>& command,
    const std::function<core::Status(std::size_t, const core::RedisReply&)>& onReply) {
  for (std::size_t from = 0; from < n; from += options_.pipelineChunk) {
    const std::size_t to = std::min(n, from + options_.pipelineChunk);
    std::vector<std::vector<std::string>> commands;
    commands.reserve(to - from);
    for (std::size_t i = from; i < to; ++i) commands.push_back(command(i));
    auto replies = redis_->pipeline(commands);
    if (!replies) return redisFailure(replies.error(), metrics_);
    for (std::size_t k = 0; k < replies->size(); ++k) {
      const auto& reply = (*replies)[k];
      if (reply.type == core::RedisReply::Type::error) {
        return redisFailure(core::makeError("redis_error", reply.str), metrics_);
      }
      if (auto s = onReply(from + k, reply); !s) return s;
    }
  }
  return core::okStatus();
}

core::Status RedisAlertSink::broadcastReports(std::span<const BatchPtr> batches) {
  if (options_.broadcastRecent.count() <= 0) return core::okStatus();
  const auto oldest = clock_.now() - options_.broadcastRecent;
  std::vector<Broadcast> items;
  for (const auto& b : batches) {
    for (const auto& pr : b->reports) {
      const auto& r = pr.report;
      // One incident, one event: near-duplicates are not news.
      if (!r.location || !r.enrichment || r.enrichment->duplicateOf || r.occurredAt < oldest) continue;
      for (auto& channel : channelsOf(r)) {
        std::string json = broadcastReportJson(channel, r);
        items.push_back({std::move(channel), r.id.value, std::move(json)});
      }
    }
  }
  return broadcast(items);
}

core::Status RedisAlertSink::broadcast(const std::vector<Broadcast>& items) {
  const std::string ttl = std::to_string(options_.broadcastRecent.count() + 3600);  // outlives the window
  const std::string maxLen = std::to_string(options_.broadcastMaxLen);
  return runPipelined(
      items.size(),
      [&](std::size_t i) -> std::vector<std::string> {
        const auto& b = items[i];
        return {"EVAL", kBroadcastScript, "3", "safestream:broadcast:" + b.channel + ":" + b.key,
                core::live::broadcastStream(b.channel), core::live::broadcastChannel(b.channel), ttl, maxLen, b.json};
      },
      [&](std::size_t, const core::RedisReply& reply) {
        if (!reply.elements.empty() && reply.elements[0].integer == 1) metrics_.broadcasts.Increment();
        return core::okStatus();
      });
}

core::Status RedisAlertSink::sendDueDigests() {
  const auto now = clock_.now();
  auto due = redis_->command({"ZRANGEBYSCORE", kDigestsDueKey, "-inf", std::to_string(core::toEpochMillis(now)),
                              "LIMIT", "0", "500"});
  if (!due) return redisFailure(due.error(), metrics_);
  if (due->elements.empty()) return core::okStatus();
  std::vector<std::vector<std::string>> commands;
  for (const auto& member : due->elements) {
    const auto bar = member.str.rfind('|');
    if (bar == std::string::npos) continue;
    const std::string sub = member.str.substr(0, bar);
    long long hourMs = 0;
    try {
      hourMs = std::stoll(member.str.substr(bar + 1));
    } catch (const std::exception&) {
      continue;
    }
    // Paused since the alerts were held back: no digest (the registry is
    // current within the listener's poll interval).
    const auto current = registry_->find(sub);
    const bool paused = current && current->paused;
    commands.push_back({"EVAL", kDigestScript, "5", dedupeKey(sub, "digest:" + std::to_string(hourMs)),
                        streamKey(sub), liveChannel(sub), heldKey(sub, hourMs), kDigestsDueKey,
                        std::to_string(options_.dedupeTtlSeconds), std::to_string(options_.streamMaxLen),
                        digestAlertJsonOpen(sub, core::fromEpochMillis(hourMs), now), member.str, paused ? "1" : "0"});
  }
  if (commands.empty()) return core::okStatus();
  auto replies = redis_->pipeline(commands);
  if (!replies) return redisFailure(replies.error(), metrics_);
  for (const auto& reply : *replies) {
    if (reply.type == core::RedisReply::Type::error) return redisFailure(core::makeError("redis_error", reply.str), metrics_);
    if (!reply.elements.empty() && reply.elements[0].integer == 1) metrics_.digestsSent.Increment();
  }
  return core::okStatus();
}

core::Status RedisAlertSink::detectSurges(std::span<const BatchPtr> batches) {
  std::vector<SurgeInput> inputs;
  for (const auto& b : batches) {
    for (const auto& pr : b->reports) {
      const auto& r = pr.report;
      // Near-duplicates are one incident: only root reports count.
      if (!r.location || !r.enrichment || r.enrichment->cellL13 == 0 || r.enrichment->duplicateOf) continue;
      // Lost property or traffic collisions piling up are not a crime surge.
      if (r.enrichment->category == core::kNonCrimeCategory) continue;
      inputs.push_back({r.id.value, r.enrichment->cellL13, r.enrichment->category, r.occurredAt, channelsOf(r)});
    }
  }
  if (inputs.empty()) return core::okStatus();
  // Exact across instances, each report once, each surge committed before
  // it is sent (redis_surge_counter.h).
  auto counted = surgeCounter_.count(inputs);
  if (!counted) return redisFailure(counted.error(), metrics_);
  metrics_.lateEvents.Increment(static_cast<double>(counted->late));
  metrics_.surgeConflicts.Increment(static_cast<double>(counted->conflicts));
  for (std::size_t i = 0; i < counted->toSend.size(); ++i) {
    const auto& p = counted->toSend[i];
    const auto& s = p.event;
    const bool leftover = i < counted->fromOutbox;  // committed earlier, not sent yet
    if (!leftover) metrics_.surgesDetected.Increment();
    core::log::info(leftover ? "surge_resent" : "surge_detected", {{"cell", core::cellToken(s.cellL13)},
                                       {"category", s.category},
                                       {"count", s.count},
                                       {"baseline_mean", s.baselineMean},
                                       {"z_score", s.zScore},
                                       {"window_start", core::formatTimestamp(s.windowStart)}});
    if (auto st = deliverSurge(p); !st) return st;  // it stays in the outbox: the retry sends it
    if (auto st = surgeCounter_.sent(s); !st) return redisFailure(st.error(), metrics_);
  }
  return core::okStatus();
}

core::Status RedisAlertSink::deliverSurge(const PendingSurge& pending) {
  const SurgeEvent& surge = pending.event;
  const auto now = clock_.now();
  std::vector<Delivery> deliveries;
  for (auto& sub : registry_->forCell(surge.cellL13, surge.category)) {
    Delivery d;
    d.json = surgeAlertJson(sub->id, surge, now);
    d.sub = std::move(sub);
    d.rootKey = surge.key();
    d.surge = true;
    deliveries.push_back(std::move(d));
  }
  if (auto s = deliver(deliveries); !s) return s;
  if (options_.broadcastRecent.count() > 0 && surge.windowEnd >= now - options_.broadcastRecent) {
    std::vector<Broadcast> items;
    for (const auto& channel : pending.channels) {
      std::string json = broadcastSurgeJson(channel, surge, now);
      items.push_back({channel, surge.key(), std::move(json)});
    }
    if (auto s = broadcast(items); !s) return s;
  }
  if (!alertsTopic_) return core::okStatus();
  // At least once (see surgePublishClaim): claim, produce, mark as sent.
  const std::string published = options_.surgeKeyPrefix + "published:" + surge.key();
  const std::string token = std::string(kPublishClaimPrefix) + core::randomUuid();
  // SET NX GET (Redis 7.0): one round trip answers whether the claim is ours
  // (nil: there was no value) or what holds the key instead.
  auto claim = redis_->command({"SET", published, token, "NX", "PX",
                                std::to_string(std::max<long long>(1, options_.surgePublishClaim.count())), "GET"});
  if (!claim) return redisFailure(claim.error(), metrics_);
  if (claim->type != core::RedisReply::Type::nil) {
    if (claim->type == core::RedisReply::Type::string && claim->str.rfind(kPublishClaimPrefix, 0) != 0) {
      return core::okStatus();  // already on the topic
    }
    // Another instance is publishing it, or died doing so: its claim
    // expires, and a retry then publishes the surge.
    core::log::info("surge_publish_claimed", {{"surge", surge.key()}});
    return core::makeError("surge_publish_claimed",
                           "surge " + surge.key() + " is being published by another instance; retried after its claim",
                           "", /*retriable=*/true);
  }
  core::OutMessage msg{options_.alertsTopic, core::cellToken(surge.cellL13), surgeAlertJson("*", surge, now), {}};
  auto results = alertsTopic_->sendAndWait({msg}, std::chrono::seconds(10));
  if (results.empty() || !results.front().ok) {
    // Our claim only: after a slow failure it may have expired and be another's now.
    (void)redis_->command({"EVAL", kReleaseClaim, "1", published, token});
    const std::string why = results.empty() ? "no delivery report" : results.front().error;
    core::log::warn("surge_topic_error", {{"topic", options_.alertsTopic}, {"error", why}});
    return core::makeError("alert_topic", "surge alert to " + options_.alertsTopic + ": " + why, "", true);
  }
  auto mark = redis_->command({"SET", published, "1", "EX", std::to_string(kSurgeStateTtlSeconds)});
  if (!mark) return redisFailure(mark.error(), metrics_);
  return core::okStatus();
}

}  // namespace safestream::processor::alerting
