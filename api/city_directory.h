#pragma once
// CityDirectory from the cities file (deploy/cities.json, schemas/cities.v1.json):
// each city's id, name, zone, bbox and, from its boundary file, the
// neighbourhood names and the GeoJSON that GET /v1/cities/{id}/boundaries
// serves. The boundaries are rebuilt once at load: every feature keeps its
// geometry as the file has it and gets the properties {"city","name"}; the
// result (about 2 MB per city) is kept in memory with its gzip and ETag.
//
// A missing file is not an error (no cities: the API still serves
// everything else, and logs a warning); an unreadable or invalid one is
// (core::ConfigError naming the file and what is wrong).
#include <map>
#include <string>
#include <vector>

#include "api/ports.h"

namespace safestream::api {

class FileCityDirectory final : public CityDirectory {
 public:
  explicit FileCityDirectory(const std::string& path);
  // From text; `baseDir` resolves the relative boundary paths inside.
  FileCityDirectory(std::string_view json, const std::string& baseDir, const std::string& origin);

  const std::vector<CityView>& cities() const override { return cities_; }
  const CityBoundaries* boundaries(const std::string& cityId) const override;

 private:
  void load(std::string_view json, const std::string& baseDir, const std::string& origin);
  std::vector<CityView> cities_;
  std::map<std::string, CityBoundaries> boundaries_;
};

}  // namespace safestream::api
