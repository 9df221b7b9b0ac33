#pragma once
// Near-duplicate detection: the same incident reported twice (by two sources,
// or by one source under two ids, e.g. SpotCrime's "3700 BLOCK OF KANDY DR"
// and "3700 BLOCK KANDY DR") is linked to the first report seen rather than
// counted twice. A report is a near-duplicate of a group's root (a report
// that was itself no duplicate) of the same category within `radiusMetres`
// and `window` of event time; the earliest such root wins, then the one
// with the smallest id.
//
// Only roots are candidates, and that keeps every check bounded however
// many reports come from one place: two roots of one category in one
// (level-13 cell, `window`-long slot) are more than `radiusMetres` apart
// (the later would otherwise have joined the earlier), so a bucket holds at
// most the roots that fit ~1.2 km x 1.2 km with that spacing, per category.
// A flood of 100,000 reports at one spot adds one root per slot and
// category; the other 99,9xx are duplicates, remembered by id only (for
// replays) and never scanned. A check looks in the report's cell and those
// of its 8 neighbours within the radius, in its slot and the two beside it.
// `candidatesExamined()` counts the roots looked at, so tests can assert the
// bound without timing.
//
// State is in memory and bounded: beyond `maxEntries` the oldest-inserted
// entries are forgotten. State is lost on restart and not shared with other
// processors: the daemon uses RedisDuplicateIndex (same contract,
// processor/duplicate_index.h) unless run with --dedupe-store memory; this
// class is the unit tests' fake of it. Exact (source, source_id) duplicates
// do not need it because they share a deterministic id and are upserted.
// Not thread-safe: used by the pipeline thread only.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/report.h"
#include "processor/duplicate_index.h"

namespace safestream::processor {

struct DedupeSettings {
  double radiusMetres = 150;
  std::chrono::milliseconds window = std::chrono::minutes(30);
  std::size_t maxEntries = 500000;
};

class DedupeWindow final : public DuplicateIndex {
 public:
  explicit DedupeWindow(DedupeSettings settings = {});

  // check() for each query in order; never fails.
  core::Result<std::vector<std::optional<core::ReportId>>> checkAll(std::span<const DuplicateQuery> queries) override;

  // Returns the id of the root this report duplicates, or nullopt when it is
  // a root itself; remembers it either way. A report without location is
  // never a duplicate. A report seen again (the same id: a replay or a later
  // version) keeps the answer it got first, unless its category or place
  // changed.
  std::optional<core::ReportId> check(const core::ReportId& id, const std::string& category,
                                      const std::optional<core::GeoPoint>& location, core::Timestamp occurredAt);

  std::size_t size() const { return entries_.size(); }
  // Roots looked at by every check so far (the cost that must stay bounded).
  std::uint64_t candidatesExamined() const { return candidatesExamined_; }

 private:
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
  struct Entry {
    std::string category;
    core::GeoPoint point;
    core::Timestamp occurredAt;
    std::optional<std::string> duplicateOf;  // empty for a root
    Bucket home;                             // a root's bucket (unused for duplicates)
    std::uint64_t seq = 0;                   // order first seen
  };
  using Entries = std::unordered_map<std::string, Entry>;  // id -> entry; node addresses are stable
  using Node = Entries::value_type;

  void forget(Entries::iterator it);
  void unlinkRoot(const Node& node);
  void evictOldest();
  std::int64_t slotOf(core::Timestamp t) const;

  DedupeSettings settings_;
  Entries entries_;                                                 // every report remembered
  std::unordered_map<Bucket, std::vector<Node*>, BucketHash> roots_;  // (cell, slot) -> its roots
  std::deque<std::pair<std::string, std::uint64_t>> order_;         // (id, seq) by insertion, for eviction
  std::uint64_t nextSeq_ = 0;
  std::uint64_t candidatesExamined_ = 0;
};

}  // namespace safestream::processor
