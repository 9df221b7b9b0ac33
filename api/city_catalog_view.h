#pragma once
// The API's view of the cities (GET /v1/cities, /v1/cities/{id}/boundaries,
// the stats' city checks), built from core::CityCatalog: the processor's
// enrichment, its neighbourhood subscriptions and the API read the cities
// file and its boundary files through that one loader, so they cannot
// disagree on a name or a polygon.
//
// Each city's boundaries are rendered once at construction: one Feature per
// neighbourhood with the properties {"city","name"} and a MultiPolygon of
// its polygons (the shipped files have one MultiPolygon feature per name,
// so the answer has the files' features, in file order), kept in memory
// with its gzip and ETag (about 2 MB per city).
//
// Immutable after construction: safe from any thread.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/ports.h"
#include "core/cities.h"

namespace safestream::api {

class CatalogCityDirectory final : public CityDirectory {
 public:
  explicit CatalogCityDirectory(std::shared_ptr<const core::CityCatalog> catalog);

  const std::vector<CityView>& cities() const override { return cities_; }
  const CityBoundaries* boundaries(const std::string& cityId) const override;

 private:
  std::shared_ptr<const core::CityCatalog> catalog_;
  std::vector<CityView> cities_;
  std::map<std::string, CityBoundaries> boundaries_;
};

// The cities file of --cities for the API: a missing file is not an error
// (no cities: the API serves everything else, with a warning in the log);
// an unreadable or invalid one is (core::ConfigError from the catalog).
std::shared_ptr<const core::CityCatalog> loadApiCities(const std::string& path);

// A city's neighbourhoods as the boundaries endpoint serves them.
std::string boundariesGeoJson(const core::City& city);

}  // namespace safestream::api
