#pragma once
// The near-duplicate index in Redis (processor/duplicate_index.h), shared by
// every processor of a group and kept across restarts, so a report gets the
// same link whichever processor sees it, and again after a restart.
//
// Layout (prefix default "safestream:dedupe:"):
//   {prefix}r:{report id}                 the report's decision: point, event time,
//                                         root (empty: a root), cell, category
//   {prefix}b:{category}:{cell}:{slot}    hash: the roots of one level-13 cell and
//                                         window-long slot, id -> point, event time
// Each query is one Lua script (kCheckScript in the .cc), atomic on the
// server: the report's earlier decision if it has one, else the roots of
// its cells (those within the radius, from cellsNear, computed here) in its
// slot and the two beside it, the earliest within radius and window wins
// (then the smallest id), and a root goes into its bucket. The same rules as DedupeWindow, so both
// decide alike (tests/integration/processor/duplicate_index_test.cc feeds
// both the same queries); distances by the same haversine with the same
// earth radius (core::kEarthRadiusMetres, passed to the script).
// One pipelined round trip per checkAll (the pipeline calls it once per
// poll), the script by EVALSHA. Only roots are stored in buckets, so a
// check costs the same for the millionth report of one place as for the
// first. Forgetting is by TTL (`ttl`, default 7 days, as the alert dedupe
// keys): a record is kept that long after its last check, a bucket that
// long after its last root (a root that outlives its record so is decided
// afresh when seen again: a root still, never a near-duplicate of itself).
//
// Threading: one caller at a time (owns its connection). Redis failures and
// timeouts (the connection's) come back as a retriable error.
#include <memory>
#include <string>

#include "core/redis_client.h"
#include "processor/dedupe_window.h"
#include "processor/duplicate_index.h"

namespace safestream::processor {

struct RedisDuplicateIndexOptions {
  DedupeSettings rules;  // radius and window (maxEntries does not apply: TTL instead)
  std::string keyPrefix = "safestream:dedupe:";
  std::chrono::seconds ttl{7 * 24 * 3600};
};

class RedisDuplicateIndex final : public DuplicateIndex {
 public:
  RedisDuplicateIndex(RedisDuplicateIndexOptions options, std::unique_ptr<core::RedisClient> redis);
  core::Result<std::vector<std::optional<core::ReportId>>> checkAll(std::span<const DuplicateQuery> queries) override;

 private:
  core::Status loadScript();

  RedisDuplicateIndexOptions options_;
  std::unique_ptr<core::RedisClient> redis_;
  std::string sha_;  // of the loaded script; empty until loaded
};

}  // namespace safestream::processor
