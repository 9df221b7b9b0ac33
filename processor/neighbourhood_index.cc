#include "processor/neighbourhood_index.h"

#include <s2/s1chord_angle.h>
#include <s2/s2cell.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>

#include "core/geo.h"

namespace safestream::processor {

CellIds cellIdsFor(const core::GeoPoint& p) {
  const S2CellId leaf(S2LatLng::FromDegrees(p.lat, p.lon).Normalized());
  return CellIds{leaf.parent(kCellLevelCoarse).id(), leaf.parent(kCellLevelMid).id(),
                 leaf.parent(kCellLevelFine).id()};
}

std::vector<std::uint64_t> cellsNear(const core::GeoPoint& p, int level, double radiusMetres) {
  const S2Point point = S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint();
  const S2CellId cell = S2CellId(point).parent(level);
  // One metre of slack against rounding: a cell too many costs a lookup, one
  // too few a missed duplicate.
  const S1ChordAngle reach(S1Angle::Radians((radiusMetres + 1) / core::kEarthRadiusMetres));
  std::vector<std::uint64_t> out{cell.id()};
  // Most points lie farther than the radius from their cell's edges: then
  // no neighbour can be within reach.
  if (S2Cell(cell).GetBoundaryDistance(point) > reach) return out;
  std::vector<S2CellId> around;
  cell.AppendAllNeighbors(level, &around);
  for (const auto& c : around) {
    if (S2Cell(c).GetDistance(point) <= reach) out.push_back(c.id());
  }
  return out;
}

}  // namespace safestream::processor
