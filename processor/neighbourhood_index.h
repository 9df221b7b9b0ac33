#pragma once
// Geo-bucketing: S2 cell ids at the levels the platform uses, and the
// neighbourhood of a point from GeoJSON boundary files. libs2 stays inside
// neighbourhood_index.cc. Immutable after construction; lookups are
// thread-safe (each call builds its own query object).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/report.h"

namespace safestream::processor {

inline constexpr int kCellLevelCoarse = 10;  // ~9 km
inline constexpr int kCellLevelMid = 13;     // ~1 km
inline constexpr int kCellLevelFine = 16;    // ~140 m

struct CellIds {
  std::uint64_t l10 = 0;
  std::uint64_t l13 = 0;
  std::uint64_t l16 = 0;
};
CellIds cellIdsFor(const core::GeoPoint& p);

// The cell at `level` containing `p` first, then those of its neighbours
// that come within `radiusMetres` of `p` (radius below one cell width):
// every point within the radius falls in one of them.
std::vector<std::uint64_t> cellsNear(const core::GeoPoint& p, int level, double radiusMetres);

// Great-circle distance in metres.
double distanceMetres(const core::GeoPoint& a, const core::GeoPoint& b);

struct BoundarySource {
  std::string path;          // GeoJSON FeatureCollection of Polygon/MultiPolygon features
  std::string nameProperty;  // feature property holding the name
};

// Parses "path[:name_property],..." (the --boundaries flag). Without a
// property, "name" is assumed. Throws ConfigError on an empty entry.
std::vector<BoundarySource> parseBoundarySpec(const std::string& spec);

// Point-in-polygon through an S2ShapeIndex (no scan over polygons).
class NeighbourhoodIndex {
 public:
  // Throws core::ConfigError naming the file on unreadable or malformed input.
  explicit NeighbourhoodIndex(const std::vector<BoundarySource>& sources);
  ~NeighbourhoodIndex();
  NeighbourhoodIndex(const NeighbourhoodIndex&) = delete;
  NeighbourhoodIndex& operator=(const NeighbourhoodIndex&) = delete;

  // Name of the first polygon (in file order) that contains `p`, if any.
  std::optional<std::string> lookup(const core::GeoPoint& p) const;
  std::size_t polygonCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safestream::processor
