#include "processor/enricher.h"

namespace safestream::processor {

Enricher::Enricher(const Taxonomy& taxonomy, const core::CityCatalog* cities, const core::Clock& clock,
                   DedupeSettings dedupe)
    : taxonomy_(taxonomy), cities_(cities), clock_(clock), dedupe_(dedupe) {}

EnrichOutcome Enricher::enrich(core::Report& r) {
  EnrichOutcome out;
  core::Enrichment e;
  const Classification c = taxonomy_.classify(r);
  e.category = c.category;
  e.severity = c.severity;
  e.classifiedBy = c.rule;
  out.unmappedType = !c.mapped;
  // The city: the one whose boundary polygons contain the point (evidence
  // from the coordinates), else the one the source declares (its import
  // mapping), else the one whose bbox holds the point. The neighbourhood:
  // the polygon's name, else the source's own district text: as it is for
  // a city without a boundary file, when it names one of its polygons
  // otherwise.
  const core::City* city = nullptr;
  if (r.location) {
    out.geocoded = true;
    const CellIds cells = cellIdsFor(*r.location);
    e.cellL10 = cells.l10;
    e.cellL13 = cells.l13;
    e.cellL16 = cells.l16;
    if (cities_) {
      core::Place place = cities_->locate(*r.location);
      if (place.neighbourhood) {
        city = place.city;
        e.neighbourhood = std::move(place.neighbourhood);
      } else if (!(r.city && (city = cities_->find(*r.city)))) {
        city = place.city;
      }
    }
  } else if (cities_ && r.city) {
    city = cities_->find(*r.city);
  }
  if (city) {
    e.city = city->id;
    if (!e.neighbourhood && r.district && !r.district->empty()) {
      if (!city->boundaries) {
        e.neighbourhood = r.district;
      } else if (const core::Neighbourhood* n = city->neighbourhood(*r.district)) {
        e.neighbourhood = n->name;  // no point in a polygon, but the source names one of them
      }
    }
  }
  // The codec accepted the zone (or there is none): local parts fall back to
  // the city's zone, then to UTC for sources that give neither (documented).
  const std::string zone = r.timeZone ? *r.timeZone : city ? city->zone : std::string("UTC");
  auto parts = core::localParts(r.occurredAt, zone);
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
