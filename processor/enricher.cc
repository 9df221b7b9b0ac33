#include "processor/enricher.h"

namespace safestream::processor {

Enricher::Enricher(const Taxonomy& taxonomy, const core::CityCatalog* cities, const core::Clock& clock,
                   DedupeSettings dedupe, DuplicateIndex* index)
    : taxonomy_(taxonomy), cities_(cities), clock_(clock), ownIndex_(dedupe), index_(index ? *index : ownIndex_) {}

EnrichOutcome Enricher::enrich(core::Report& r) {
  core::Report* one = &r;
  return enrichAll(std::span<core::Report* const>(&one, 1)).front();
}

std::vector<EnrichOutcome> Enricher::enrichAll(std::span<core::Report* const> reports) {
  std::vector<EnrichOutcome> out;
  out.reserve(reports.size());
  std::vector<DuplicateQuery> queries;
  std::vector<std::size_t> asked;  // index into reports of each query
  for (std::size_t i = 0; i < reports.size(); ++i) {
    core::Report& r = *reports[i];
    out.push_back(enrichFields(r));
    if (!r.location) continue;  // never a duplicate
    queries.push_back({r.id, r.enrichment->category, *r.location, r.occurredAt});
    asked.push_back(i);
  }
  if (queries.empty()) return out;
  auto links = index_.checkAll(queries);
  if (!links.ok()) lastDedupeError_ = links.error().message;
  for (std::size_t q = 0; q < asked.size(); ++q) {
    auto& e = *reports[asked[q]]->enrichment;
    auto& o = out[asked[q]];
    if (!links.ok()) {
      o.dedupeUnavailable = true;  // left unlinked: a root of its own
      continue;
    }
    e.duplicateOf = (*links)[q];
    o.duplicate = e.duplicateOf.has_value();
  }
  return out;
}

EnrichOutcome Enricher::enrichFields(core::Report& r) {
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
  e.processedAt = clock_.now();
  r.enrichment = std::move(e);
  return out;
}

}  // namespace safestream::processor
