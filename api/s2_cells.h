#pragma once
// The few S2 geometry operations the API needs, behind a header without
// libs2 (the only file including it is s2_cells.cc): a cell's centre for the
// heatmap, and coverings of the map's bbox / circle as ranges of level-16
// cell ids for the index scan of GET /v1/reports.
#include <cstdint>
#include <vector>

#include "api/report_query.h"

namespace safestream::api {

struct LatLon {
  double lat = 0, lon = 0;
};
LatLon cellCentre(std::uint64_t cellId);
// The id of the cell at `level` (0..30) holding the point, as the processor computes it.
std::uint64_t cellIdAt(double lat, double lon, int level);

// An inclusive range of level-16 cell ids, as stored in reports.cell_l16
// (two's complement bigint).
struct CellRange {
  std::int64_t min = 0, max = 0;
};
// Cells (at most `maxCells`, levels 6..16) covering the rectangle / the
// spherical cap, as level-16 id ranges sorted and merged. The covering
// contains the whole region; rows in it are then checked exactly.
std::vector<CellRange> coverBox(const BoundingBox& box, int maxCells = 16);
std::vector<CellRange> coverCircle(const NearQuery& near, int maxCells = 16);

}  // namespace safestream::api
