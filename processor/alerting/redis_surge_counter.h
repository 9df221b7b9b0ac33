#pragma once
// Surge counting in Redis, exact with any number of processors (adapter of
// surge_detector.h; used by the alert sink on its lane's thread).
//
// Several processors of one group see reports of the same (cell, category)
// key, since reports.raw is keyed by report id. Each key's state is
// therefore never trusted from memory: every batch reads the states of the
// keys it touches from Redis, runs the pure detector on them, and commits
// each key with one Lua script that applies only if, atomically on the
// server,
//   - the key's state is still the one that was read (compare and set), and
//   - none of the reports it counted is in the per-day set of counted ids;
// and then, in the same script, stores the new state, adds the ids to the
// per-day sets and puts any surge the batch raised into the outbox. A key
// whose script finds either changed (another instance got there first) is
// read and recomputed again, up to kMaxAttempts; beyond that the batch
// fails retriably and the lane retries it (what was committed stays
// committed and is not counted again). So the sequence of observations of
// a key is one serial order whatever instance made each: the counts equal
// one instance's, and the transition into a surge happens once.
//
// Outbox: a surge is sent only after the state that raised it is
// committed, and it sits in the outbox hash ({prefix}outbox) until sent, so
// a failure or a crash after the commit does not lose it: every call first
// takes what is in the outbox (of any instance) and returns it to be sent
// again. Sending is idempotent (the per-subscription dedupe key is the
// surge key, broadcasts are SET NX, the topic has its claim and mark), so two
// instances draining the same entry send it once (to the alerts topic at
// least once: RedisAlertSinkOptions::surgePublishClaim).
//
// Cost per batch: two pipelined round trips (read, then commit), as with
// the earlier cached states; the states now travel both ways every batch.
// Not thread-safe: one instance per alert lane. Redis calls use the
// caller's connection and its timeout; failures come back as errors.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/redis_client.h"
#include "core/result.h"
#include "core/time.h"
#include "processor/alerting/alert_format.h"
#include "processor/alerting/surge_detector.h"

namespace safestream::processor::alerting {

// One root report to count, in batch order.
struct SurgeInput {
  std::string reportId;
  std::uint64_t cellL13 = 0;
  std::string category;
  core::Timestamp occurredAt{};
  std::vector<std::string> channels;  // live-feed channels of the report (where its surge is broadcast)
};

// A surge to send (new, or left in the outbox by an earlier attempt).
struct PendingSurge {
  SurgeEvent event;
  std::vector<std::string> channels;  // of the report that set it off
  bool operator==(const PendingSurge&) const = default;
};

std::string encodePendingSurge(const PendingSurge& p);
std::optional<PendingSurge> decodePendingSurge(std::string_view text);

struct SurgeCountResult {
  std::vector<PendingSurge> toSend;  // the outbox's leftovers first, then this batch's new surges
  std::size_t fromOutbox = 0;        // how many of toSend are leftovers
  long long counted = 0;             // reports counted (not seen before)
  long long late = 0;                // of those, behind their key's watermark
  long long conflicts = 0;           // key commits retried because another instance changed the key
};

class RedisSurgeCounter {
 public:
  static constexpr int kMaxAttempts = 8;

  RedisSurgeCounter(core::RedisClient& redis, std::string keyPrefix, SurgeConfig config);

  // Counts each report once (across retries, replays, restarts and
  // instances) and returns what is to be sent. Retriable error on any Redis
  // failure or persistent contention; nothing is then counted twice.
  core::Result<SurgeCountResult> count(const std::vector<SurgeInput>& inputs);
  // The surge was sent: it leaves the outbox.
  core::Status sent(const SurgeEvent& surge);

  std::string stateKey(std::uint64_t cellL13, const std::string& category) const;

 private:
  core::Status loadCellSince(const std::vector<const SurgeInput*>& firstOfCell);

  core::RedisClient& redis_;
  std::string prefix_;
  SurgeConfig config_;
  // When the stream first saw a cell: set once in Redis (SET NX), never
  // changed after, so a cached copy is always right. Bounded.
  std::unordered_map<std::uint64_t, core::Timestamp> cellSince_;
  std::string sha_;  // of the commit script once loaded (EVALSHA)
};

}  // namespace safestream::processor::alerting
