#pragma once
// Geo-bucketing: S2 cell ids at the levels the platform uses. libs2 stays
// inside neighbourhood_index.cc. Pure functions, thread-safe.
#include <cstdint>
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

// Distances: core/geo.h.

// Neighbourhoods (point -> city and neighbourhood) live in core/cities.h:
// one loader for enrichment, alerting and the API.

}  // namespace safestream::processor
