#include "processor/neighbourhood_index.h"

#include <s2/mutable_s2shape_index.h>
#include <s2/s1chord_angle.h>
#include <s2/s2cell.h>
#include <s2/s2cell_id.h>
#include <s2/s2contains_point_query.h>
#include <s2/s2latlng.h>
#include <s2/s2lax_polygon_shape.h>
#include <s2/s2loop.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/result.h"

namespace safestream::processor {

CellIds cellIdsFor(const core::GeoPoint& p) {
  const S2CellId leaf(S2LatLng::FromDegrees(p.lat, p.lon).Normalized());
  return CellIds{leaf.parent(kCellLevelCoarse).id(), leaf.parent(kCellLevelMid).id(),
                 leaf.parent(kCellLevelFine).id()};
}

std::vector<std::uint64_t> cellsNear(const core::GeoPoint& p, int level, double radiusMetres) {
  constexpr double kEarthRadiusMetres = 6371008.8;
  const S2Point point = S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint();
  const S2CellId cell = S2CellId(point).parent(level);
  // One metre of slack against rounding: a cell too many costs a lookup, one
  // too few a missed duplicate.
  const S1ChordAngle reach(S1Angle::Radians((radiusMetres + 1) / kEarthRadiusMetres));
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

double distanceMetres(const core::GeoPoint& a, const core::GeoPoint& b) {
  constexpr double kEarthRadiusMetres = 6371008.8;
  return S2LatLng::FromDegrees(a.lat, a.lon).GetDistance(S2LatLng::FromDegrees(b.lat, b.lon)).radians() *
         kEarthRadiusMetres;
}

std::vector<BoundarySource> parseBoundarySpec(const std::string& spec) {
  std::vector<BoundarySource> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) throw core::ConfigError("--boundaries has an empty entry in '" + spec + "'");
    auto colon = item.rfind(':');
    if (colon == std::string::npos) {
      out.push_back({item, "name"});
    } else {
      out.push_back({item.substr(0, colon), item.substr(colon + 1)});
    }
  }
  return out;
}

struct NeighbourhoodIndex::Impl {
  MutableS2ShapeIndex index;
  std::vector<std::string> names;  // by shape id
};

namespace {

using nlohmann::json;

// One GeoJSON linear ring -> S2 vertices with the interior on the left, as
// S2LaxPolygonShape wants. GeoJSON files in the wild use either winding, so
// the orientation is derived from the geometry rather than trusted: a ring
// is normalised to enclose the smaller area (a city block, not the rest of
// the planet), and holes are then reversed.
std::vector<S2Point> ringToLoop(const json& ring, bool hole, const std::string& where) {
  if (!ring.is_array() || ring.size() < 4) throw core::ConfigError(where + ": a ring needs at least 4 positions");
  std::vector<S2Point> pts;
  pts.reserve(ring.size());
  for (const auto& pos : ring) {
    if (!pos.is_array() || pos.size() < 2 || !pos[0].is_number() || !pos[1].is_number()) {
      throw core::ConfigError(where + ": a position must be [lon, lat]");
    }
    S2Point p = S2LatLng::FromDegrees(pos[1].get<double>(), pos[0].get<double>()).Normalized().ToPoint();
    if (!pts.empty() && pts.back() == p) continue;  // duplicate vertices break S2 loops
    pts.push_back(p);
  }
  if (pts.size() > 1 && pts.front() == pts.back()) pts.pop_back();  // GeoJSON repeats the first position
  if (pts.size() < 3) throw core::ConfigError(where + ": a ring has fewer than 3 distinct positions");
  S2Loop loop(pts, S2Debug::DISABLE);
  loop.Normalize();
  if (hole) loop.Invert();
  std::vector<S2Point> out;
  out.reserve(static_cast<std::size_t>(loop.num_vertices()));
  for (int i = 0; i < loop.num_vertices(); ++i) out.push_back(loop.vertex(i));
  return out;
}

std::vector<std::vector<S2Point>> polygonLoops(const json& rings, const std::string& where) {
  if (!rings.is_array() || rings.empty()) throw core::ConfigError(where + ": a polygon needs rings");
  std::vector<std::vector<S2Point>> loops;
  for (std::size_t i = 0; i < rings.size(); ++i) loops.push_back(ringToLoop(rings[i], i > 0, where));
  return loops;
}

}  // namespace

NeighbourhoodIndex::NeighbourhoodIndex(const std::vector<BoundarySource>& sources) : impl_(std::make_unique<Impl>()) {
  for (const auto& src : sources) {
    std::ifstream f(src.path);
    if (!f) throw core::ConfigError("cannot read boundary file " + src.path);
    json doc = json::parse(f, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("features") || !doc["features"].is_array()) {
      throw core::ConfigError("boundary file " + src.path + " is not a GeoJSON FeatureCollection");
    }
    std::size_t n = 0;
    for (const auto& feature : doc["features"]) {
      const std::string where = src.path + " feature " + std::to_string(n++);
      const json* props = feature.contains("properties") ? &feature["properties"] : nullptr;
      if (!props || !props->is_object() || !props->contains(src.nameProperty)) {
        throw core::ConfigError(where + " has no property '" + src.nameProperty + "'");
      }
      const json& nameValue = (*props)[src.nameProperty];
      std::string name = nameValue.is_string() ? nameValue.get<std::string>() : nameValue.dump();
      const json& geom = feature.value("geometry", json());
      if (!geom.is_object()) throw core::ConfigError(where + " has no geometry");
      const std::string type = geom.value("type", "");
      std::vector<std::vector<std::vector<S2Point>>> polygons;
      if (type == "Polygon") {
        polygons.push_back(polygonLoops(geom["coordinates"], where));
      } else if (type == "MultiPolygon") {
        for (const auto& poly : geom["coordinates"]) polygons.push_back(polygonLoops(poly, where));
      } else {
        throw core::ConfigError(where + " has geometry type '" + type + "', expected Polygon or MultiPolygon");
      }
      for (auto& loops : polygons) {
        impl_->index.Add(std::make_unique<S2LaxPolygonShape>(loops));
        impl_->names.push_back(name);
      }
    }
  }
  impl_->index.ForceBuild();  // build now, so lookups never pay for it (and stay read-only)
}

NeighbourhoodIndex::~NeighbourhoodIndex() = default;

std::optional<std::string> NeighbourhoodIndex::lookup(const core::GeoPoint& p) const {
  auto query = MakeS2ContainsPointQuery(&impl_->index);
  const S2Point point = S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint();
  int best = -1;
  query.VisitContainingShapes(point, [&](S2Shape* shape) {
    if (best < 0 || shape->id() < best) best = shape->id();
    return true;
  });
  if (best < 0) return std::nullopt;
  return impl_->names[static_cast<std::size_t>(best)];
}

std::size_t NeighbourhoodIndex::polygonCount() const { return impl_->names.size(); }

}  // namespace safestream::processor
