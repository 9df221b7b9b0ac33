#pragma once
// Named neighbourhood boundaries from GeoJSON files (Polygon/MultiPolygon
// features), used to cover neighbourhood subscriptions with S2 cells. Names
// are compared upper-case, as the boundary files write them.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/subscription.h"

namespace safestream::processor::alerting {

// One feature's polygons; each polygon is [outer, holes...].
using MultiPolygon = std::vector<std::vector<core::Ring>>;

class Boundaries {
 public:
  // `specs` are "path[:name_property]" (default property "name"), e.g.
  // "data/chicago_community_areas.geojson:community". Throws
  // core::ConfigError naming the file on an unreadable file or bad GeoJSON.
  static Boundaries load(const std::vector<std::string>& specs);
  // Features without a name or with a geometry other than (Multi)Polygon are
  // skipped; a name seen twice gathers both geometries.
  static Boundaries parse(std::string_view geojson, const std::string& nameProperty, const std::string& origin);

  void add(std::string name, MultiPolygon shape);
  const MultiPolygon* find(std::string_view name) const;  // name in any case
  std::size_t size() const { return byName_.size(); }
  std::vector<std::string> names() const;

 private:
  std::map<std::string, MultiPolygon, std::less<>> byName_;
};

// The default boundary files of the two sample cities.
std::vector<std::string> defaultBoundarySpecs();

}  // namespace safestream::processor::alerting
