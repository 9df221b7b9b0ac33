#pragma once
// Normalise + de-duplicate + enrich one decoded report: taxonomy category and
// severity, S2 cells, city and neighbourhood, local hour/weekday,
// near-duplicate link.
// Pure domain logic (no vendor headers). Not thread-safe (the dedupe window
// is mutable state): one Enricher per pipeline thread.
#include <memory>

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
};

class Enricher {
 public:
  // `cities` may be null (no city catalog: no city, no neighbourhood). Both
  // must outlive this.
  Enricher(const Taxonomy& taxonomy, const core::CityCatalog* cities, const core::Clock& clock,
           DedupeSettings dedupe = {});

  // Fills report.enrichment (replacing any the message carried).
  EnrichOutcome enrich(core::Report& report);

 private:
  const Taxonomy& taxonomy_;
  const core::CityCatalog* cities_;
  const core::Clock& clock_;
  DedupeWindow dedupe_;
};

}  // namespace safestream::processor
