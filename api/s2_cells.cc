#include "api/s2_cells.h"

#include <s2/s1angle.h>
#include <s2/s2cap.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2region_coverer.h>

#include <algorithm>

#include "core/geo.h"

namespace safestream::api {

namespace {
constexpr int kStoredLevel = 16;

std::vector<CellRange> rangesOf(const S2Region& region, int maxCells) {
  S2RegionCoverer::Options options;
  options.set_min_level(6);
  options.set_max_level(kStoredLevel);
  options.set_max_cells(maxCells);
  S2RegionCoverer coverer(options);
  std::vector<S2CellId> cells;
  coverer.GetCovering(region, &cells);
  std::vector<CellRange> out;
  out.reserve(cells.size());
  for (const auto& c : cells) {
    // Every level-16 descendant of c lies in [range_min().parent(16), range_max().parent(16)].
    out.push_back({static_cast<std::int64_t>(c.range_min().parent(kStoredLevel).id()),
                   static_cast<std::int64_t>(c.range_max().parent(kStoredLevel).id())});
  }
  // Signed order is what the bigint index sorts by: ids with the top bit set
  // (faces 4 and 5) come first.
  std::sort(out.begin(), out.end(), [](const CellRange& a, const CellRange& b) { return a.min < b.min; });
  std::vector<CellRange> merged;
  for (const auto& r : out) {
    if (!merged.empty() && r.min <= merged.back().max + 1) {
      merged.back().max = std::max(merged.back().max, r.max);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}
}  // namespace

LatLon cellCentre(std::uint64_t cellId) {
  const S2LatLng c = S2CellId(cellId).ToLatLng();
  return {c.lat().degrees(), c.lng().degrees()};
}

std::uint64_t cellIdAt(double lat, double lon, int level) {
  return S2CellId(S2LatLng::FromDegrees(lat, lon).Normalized()).parent(level).id();
}

std::vector<CellRange> coverBox(const BoundingBox& box, int maxCells) {
  const S2LatLngRect rect(S2LatLng::FromDegrees(box.minLat, box.minLon), S2LatLng::FromDegrees(box.maxLat, box.maxLon));
  return rangesOf(rect, maxCells);
}

std::vector<CellRange> coverCircle(const NearQuery& near, int maxCells) {
  const S2Cap cap(S2LatLng::FromDegrees(near.lat, near.lon).ToPoint(),
                  S1Angle::Radians(near.radiusM / core::kEarthRadiusMetres));
  return rangesOf(cap, maxCells);
}

}  // namespace safestream::api
