#pragma once
// Normalise + de-duplicate + enrich decoded reports: taxonomy category and
// severity, S2 cells, city and neighbourhood, local hour/weekday,
// near-duplicate link (against a DuplicateIndex: the shared one in Redis in
// the daemon, so every processor of a group links alike; an in-memory
// DedupeWindow otherwise).
// Pure domain logic (no vendor headers). Not thread-safe (the index is
// mutable state): one Enricher per pipeline thread.
#include <memory>
#include <span>

#include "core/cities.h"
#include "core/report.h"
#include "core/time.h"
#include "processor/dedupe_window.h"
#include "processor/neighbourhood_index.h"
#include "processor/taxonomy.h"

namespace safestream::processor {

struct EnrichOutcome {
  bool unmappedType = false;  // the taxonomy had no rule: category "other"
  bool geocoded = false;      // false: no coordinates, so no cells/neighbourhood
  bool duplicate = false;     // linked to an earlier report
  bool dedupeUnavailable = false;  // the index failed: not linked (degraded; the caller counts and logs it)
};

class Enricher {
 public:
  // `cities` may be null (no city catalog: no city, no neighbourhood).
  // `index` may be null: an in-memory DedupeWindow with `dedupe` is used.
  // All must outlive this.
  Enricher(const Taxonomy& taxonomy, const core::CityCatalog* cities, const core::Clock& clock,
           DedupeSettings dedupe = {}, DuplicateIndex* index = nullptr);

  // Fills report.enrichment (replacing any the message carried).
  EnrichOutcome enrich(core::Report& report);
  // The same for a poll's reports, with one index call for all of them
  // (decided in this order). One outcome per report.
  std::vector<EnrichOutcome> enrichAll(std::span<core::Report* const> reports);
  // Why the index failed last (outcomes with dedupeUnavailable).
  const std::string& lastDedupeError() const { return lastDedupeError_; }

 private:
  EnrichOutcome enrichFields(core::Report& report);

  const Taxonomy& taxonomy_;
  const core::CityCatalog* cities_;
  const core::Clock& clock_;
  DedupeWindow ownIndex_;  // used when no index is given
  DuplicateIndex& index_;
  std::string lastDedupeError_;
};

}  // namespace safestream::processor
