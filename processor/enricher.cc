#include "processor/enricher.h"

namespace safestream::processor {

Enricher::Enricher(const Taxonomy& taxonomy, const NeighbourhoodIndex* neighbourhoods, const core::Clock& clock,
                   DedupeSettings dedupe)
    : taxonomy_(taxonomy), neighbourhoods_(neighbourhoods), clock_(clock), dedupe_(dedupe) {}

EnrichOutcome Enricher::enrich(core::Report& r) {
  EnrichOutcome out;
  core::Enrichment e;
  const Classification c = taxonomy_.classify(r);
  e.category = c.category;
  e.severity = c.severity;
  out.unmappedType = !c.mapped;
  if (r.location) {
    out.geocoded = true;
    const CellIds cells = cellIdsFor(*r.location);
    e.cellL10 = cells.l10;
    e.cellL13 = cells.l13;
    e.cellL16 = cells.l16;
    if (neighbourhoods_) e.neighbourhood = neighbourhoods_->lookup(*r.location);
  }
  // The codec accepted the zone (or there is none): local parts fall back to
  // UTC for sources that give no zone (documented).
  auto parts = core::localParts(r.occurredAt, r.timeZone.value_or("UTC"));
  if (parts.ok()) {
    e.localHour = parts->hour;
    e.localWeekday = parts->weekday;
  }
  e.duplicateOf = dedupe_.check(r.id, e.category, r.location, r.occurredAt);
  out.duplicate = e.duplicateOf.has_value();
  e.processedAt = clock_.now();
  r.enrichment = std::move(e);
  return out;
}

}  // namespace safestream::processor
