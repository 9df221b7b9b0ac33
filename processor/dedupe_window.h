#pragma once
// Near-duplicate detection: the same incident reported twice (by two sources,
// or by one source under two ids, e.g. SpotCrime's "3700 BLOCK OF KANDY DR"
// and "3700 BLOCK KANDY DR") is linked to the first report seen rather than
// counted twice. Two reports are near-duplicates when they have the same
// category, lie within `radiusMetres` and their event times within `window`.
//
// State is in memory, keyed by S2 level-13 cell and `window`-long slot of
// event time (a match is looked for in the cell and those of its 8
// neighbours within the radius, in the report's slot and the two beside it:
// a few small buckets, no scan of a busy cell's history), and bounded:
// beyond `maxEntries` the oldest-inserted entries are forgotten. State is
// lost on restart (documented in docs/processor.md); exact (source,
// source_id) duplicates do not need it because they share a deterministic
// id and are upserted.
// Not thread-safe: used by the pipeline thread only.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/report.h"

namespace safestream::processor {

struct DedupeSettings {
  double radiusMetres = 150;
  std::chrono::milliseconds window = std::chrono::minutes(30);
  std::size_t maxEntries = 500000;
};

class DedupeWindow {
 public:
  explicit DedupeWindow(DedupeSettings settings = {});

  // Returns the id of the report this one duplicates (the first one seen of
  // its group), or nullopt when it is an original; remembers it either way.
  // A report without location is never a duplicate. A report seen again (the
  // same id: a replay or a later version) keeps the answer it got first,
  // unless its category or place changed.
  std::optional<core::ReportId> check(const core::ReportId& id, const std::string& category,
                                      const std::optional<core::GeoPoint>& location, core::Timestamp occurredAt);

  std::size_t size() const { return size_; }

 private:
  struct Entry {
    std::string id;
    std::string category;
    core::GeoPoint point;
    core::Timestamp occurredAt;
    std::optional<std::string> duplicateOf;
    std::uint64_t seq = 0;  // order first seen
  };
  struct Bucket {
    std::uint64_t cell;  // level-13 cell id
    std::int64_t slot;   // event time / window
    bool operator==(const Bucket&) const = default;
  };
  struct BucketHash {
    std::size_t operator()(const Bucket& b) const {
      return std::hash<std::uint64_t>{}(b.cell ^ (static_cast<std::uint64_t>(b.slot) * 0x9E3779B97F4A7C15ULL));
    }
  };
  void evictOldest();
  std::int64_t slotOf(core::Timestamp t) const;

  DedupeSettings settings_;
  std::unordered_map<Bucket, std::vector<Entry>, BucketHash> buckets_;  // (cell, slot) -> entries
  std::unordered_map<std::string, Bucket> bucketOfId_;                  // id -> its bucket
  std::deque<std::pair<Bucket, std::string>> order_;                    // insertion order, for eviction
  std::size_t size_ = 0;
  std::uint64_t nextSeq_ = 0;
};

}  // namespace safestream::processor
