#include "api/city_catalog_view.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "api/compression.h"
#include "api/http_types.h"
#include "api/static_files.h"
#include "core/log.h"

namespace safestream::api {

using json = nlohmann::json;

std::string boundariesGeoJson(const core::City& city) {
  std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
  bool first = true;
  for (const auto& n : city.neighbourhoods) {
    json polygons = json::array();
    for (const auto& polygon : n.shape) {
      json rings = json::array();
      for (const auto& ring : polygon) {
        json positions = json::array();
        for (const auto& p : ring) positions.push_back({p.lon, p.lat});  // GeoJSON: [lon, lat]
        rings.push_back(std::move(positions));
      }
      polygons.push_back(std::move(rings));
    }
    const json geometry = {{"type", "MultiPolygon"}, {"coordinates", std::move(polygons)}};
    out += std::string(first ? "" : ",") + "{\"type\":\"Feature\",\"properties\":{\"city\":" + jsonString(city.id) +
           ",\"name\":" + jsonString(n.name) + "},\"geometry\":" + geometry.dump() + "}";
    first = false;
  }
  out += "]}";
  return out;
}

CatalogCityDirectory::CatalogCityDirectory(std::shared_ptr<const core::CityCatalog> catalog)
    : catalog_(std::move(catalog)) {
  if (!catalog_) return;
  for (const auto& c : catalog_->cities()) {
    CityView v;
    v.id = c.id;
    v.name = c.name;
    v.zone = c.zone;
    v.bbox = BoundingBox{c.bbox.west, c.bbox.south, c.bbox.east, c.bbox.north};
    for (const auto& n : c.neighbourhoods) v.neighbourhoods.push_back(n.name);
    if (c.boundaries) {
      CityBoundaries b;
      b.geojson = boundariesGeoJson(c);
      b.etag = entityTag(b.geojson, false);
      b.gzip = gzipCompress(b.geojson);
      boundaries_.emplace(c.id, std::move(b));
    }
    cities_.push_back(std::move(v));
  }
}

const CityBoundaries* CatalogCityDirectory::boundaries(const std::string& cityId) const {
  auto it = boundaries_.find(cityId);
  return it == boundaries_.end() ? nullptr : &it->second;
}

std::shared_ptr<const core::CityCatalog> loadApiCities(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    core::log::warn("cities_file_missing", {{"path", path}, {"message", "GET /v1/cities lists no city"}});
    return std::make_shared<const core::CityCatalog>();
  }
  return std::make_shared<const core::CityCatalog>(core::CityCatalog::load(path));
}

}  // namespace safestream::api
