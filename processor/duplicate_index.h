#pragma once
// The near-duplicate decision as a domain interface, so that every
// processor of a group, and a processor after a restart, decides the same:
// the index the decisions are made against is shared (RedisDuplicateIndex,
// processor/redis_duplicate_index.h); the in-memory DedupeWindow
// (processor/dedupe_window.h) implements the same contract for one
// process, as the unit tests' fake and for a processor run without Redis.
//
// Contract (both implementations): a report is a near-duplicate of a
// group's root (a report that was itself no duplicate) of the same
// category within `radiusMetres` and `window` of event time; the earliest
// such root wins, then the smallest id (not the first decided: that
// order differs between the processors of a group). Only roots are candidates, found
// per (level-13 cell, window-long slot): bounded whatever one place's
// flood. A report decided before (the same id: a replay, a later version)
// keeps its answer unless its category changed or it moved farther than
// the radius. checkAll decides the queries in order (a query sees the roots
// of the ones before it) and, for the shared index, each atomically.
//
// Threading: one caller at a time (the pipeline thread). Failures come back
// as a retriable error; nothing of that call can be relied on then.
#include <optional>
#include <span>
#include <vector>

#include "core/report.h"
#include "core/result.h"

namespace safestream::processor {

struct DuplicateQuery {
  core::ReportId id;
  std::string category;
  core::GeoPoint location;
  core::Timestamp occurredAt{};
};

class DuplicateIndex {
 public:
  virtual ~DuplicateIndex() = default;
  // One answer per query, in order: the root it duplicates, or nullopt (a root).
  virtual core::Result<std::vector<std::optional<core::ReportId>>> checkAll(
      std::span<const DuplicateQuery> queries) = 0;
};

}  // namespace safestream::processor
