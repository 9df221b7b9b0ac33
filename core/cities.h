#pragma once
// The cities SafeStream serves (deploy/cities.json, schemas/cities.v1.json):
// each city's id, name, IANA zone, bounding box and, when it has one, its
// neighbourhood boundary file. One loader for every daemon: the processor's
// enrichment (point -> city and neighbourhood), the alerting neighbourhood
// subscriptions (a neighbourhood's polygons) and the API (/v1/cities) all
// read the same catalog, so they cannot disagree on a name or a polygon.
//
// A neighbourhood's identity is the pair (city id, name): "HYDE PARK" is a
// community area of Chicago and a neighbourhood of Austin.
//
// Immutable after load; every const member is safe to call from any thread.
// libs2 and JSON stay inside cities.cc.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/report.h"
#include "core/subscription.h"

namespace safestream::core {

// A polygon is [outer, holes...] (closed rings, as GeoJSON writes them); a
// neighbourhood may have several (MultiPolygon).
using Polygon = std::vector<Ring>;
using MultiPolygon = std::vector<Polygon>;

struct Neighbourhood {
  std::string name;    // as the boundary file writes it (upper case in the shipped files)
  MultiPolygon shape;  // every polygon of every feature with this name
};

struct BoundingBox {
  double west = 0, south = 0, east = 0, north = 0;
  bool contains(const GeoPoint& p) const {
    return p.lat >= south && p.lat <= north && p.lon >= west && p.lon <= east;
  }
};

struct City {
  std::string id;    // lower-case slug: "chicago", "los-angeles"
  std::string name;  // "Los Angeles"
  std::string zone;  // IANA zone: "America/Los_Angeles"
  BoundingBox bbox;
  std::optional<std::string> boundaries;  // path of the boundary file (resolved); none: no neighbourhood polygons
  std::string nameProperty;               // the feature property holding the name
  std::vector<Neighbourhood> neighbourhoods;  // file order; empty without a boundary file

  // By name in any case (the files write upper case; people may not).
  const Neighbourhood* neighbourhood(std::string_view name) const;
};

// Where a point is: its city (null when in none) and the neighbourhood of
// that city containing it (none when the city has no boundary file or the
// point lies outside every polygon).
struct Place {
  const City* city = nullptr;
  std::optional<std::string> neighbourhood;
};

class CityCatalog {
 public:
  // Reads the file; `boundaries` paths inside are relative to its folder.
  // Throws core::ConfigError naming the file (and the city, feature or
  // field) on unreadable or invalid input: a bad zone, a bbox that is not
  // [w,s,e,n] with w<e and s<n, a duplicate id, an id that is not a slug, a
  // boundary file that is not a GeoJSON FeatureCollection of (Multi)Polygon
  // features each carrying the name property.
  static CityCatalog load(const std::string& path);
  // The same on text; `baseDir` resolves relative boundary paths.
  static CityCatalog parse(std::string_view json, const std::string& baseDir, const std::string& origin);
  // A catalog of already built cities (tests, tools).
  static CityCatalog fromCities(std::vector<City> cities);
  // One boundary file's text -> its neighbourhoods (features of one name
  // gathered). Throws core::ConfigError naming `origin` and the feature.
  // Also the fuzz entry point for boundary GeoJSON.
  static std::vector<Neighbourhood> parseBoundaries(std::string_view geojson, const std::string& nameProperty,
                                                    const std::string& origin);

  CityCatalog();
  ~CityCatalog();
  CityCatalog(CityCatalog&&) noexcept;
  CityCatalog& operator=(CityCatalog&&) noexcept;
  CityCatalog(const CityCatalog&) = delete;
  CityCatalog& operator=(const CityCatalog&) = delete;

  const std::vector<City>& cities() const;
  const City* find(std::string_view id) const;

  // The city whose polygons contain `p` (the first in catalog order, then
  // file order), else the first city whose bbox contains it (a city without
  // a boundary file, or a point in a gap between polygons), else none.
  Place locate(const GeoPoint& p) const;

  // The polygons of (city, name); null when there is no such neighbourhood.
  const MultiPolygon* boundary(std::string_view cityId, std::string_view name) const;
  // Ids of the cities having a neighbourhood called `name` (any case).
  std::vector<std::string> citiesWithNeighbourhood(std::string_view name) const;
  std::size_t polygonCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// deploy/cities.json of the source tree: the default of --cities.
std::string defaultCitiesPath();

// "Los Angeles" -> "los-angeles"; true when `id` is such a slug.
bool isCitySlug(std::string_view id);

}  // namespace safestream::core
