#pragma once
// Near-duplicate detection: the same incident reported twice (by two sources,
// or by one source under two ids, e.g. SpotCrime's "3700 BLOCK OF KANDY DR"
// and "3700 BLOCK KANDY DR") is linked to the first report seen rather than
// counted twice. Two reports are near-duplicates when they have the same
// category, lie within `radiusMetres` and their event times within `window`.
//
// State is in memory, keyed by S2 level-13 cell (a match is looked for in the
// cell and its 8 neighbours, so no scan), and bounded: beyond `maxEntries` the
// oldest-inserted entries are forgotten. State is lost on restart (documented
// in docs/processor.md); exact (source, source_id) duplicates do not need it
// because they share a deterministic id and are upserted.
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
  };
  void evictOldest();

  DedupeSettings settings_;
  std::unordered_map<std::uint64_t, std::vector<Entry>> byCell_;   // level-13 cell -> entries
  std::unordered_map<std::string, std::uint64_t> cellOfId_;        // id -> its cell
  std::deque<std::pair<std::uint64_t, std::string>> order_;       // insertion order, for eviction
  std::size_t size_ = 0;
};

}  // namespace safestream::processor
