#include "api/city_directory.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/compression.h"
#include "api/http_types.h"
#include "api/static_files.h"
#include "core/log.h"
#include "core/result.h"

namespace safestream::api {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::ConfigError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}
}  // namespace

FileCityDirectory::FileCityDirectory(const std::string& path) {
  if (!fs::exists(path)) {
    core::log::warn("cities_file_missing", {{"path", path}, {"message", "GET /v1/cities lists no city"}});
    return;
  }
  load(readAll(path), fs::path(path).parent_path().string(), path);
}

FileCityDirectory::FileCityDirectory(std::string_view text, const std::string& baseDir, const std::string& origin) {
  load(text, baseDir, origin);
}

void FileCityDirectory::load(std::string_view text, const std::string& baseDir, const std::string& origin) {
  auto bad = [&](const std::string& why) { return core::ConfigError(origin + ": " + why); };
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("cities") || !doc["cities"].is_array()) {
    throw bad("not a cities file (an object with a \"cities\" array)");
  }
  for (const auto& c : doc["cities"]) {
    if (!c.is_object() || !c.contains("id") || !c["id"].is_string() || !c.contains("bbox") || !c["bbox"].is_array() ||
        c["bbox"].size() != 4) {
      throw bad("each city needs a string id and a bbox [west, south, east, north]");
    }
    CityView v;
    v.id = c["id"].get<std::string>();
    v.name = c.value("name", v.id);
    v.zone = c.value("zone", std::string("UTC"));
    for (const auto& x : c["bbox"]) {
      if (!x.is_number()) throw bad("city " + v.id + ": bbox values must be numbers");
    }
    v.bbox = BoundingBox{c["bbox"][0].get<double>(), c["bbox"][1].get<double>(), c["bbox"][2].get<double>(),
                         c["bbox"][3].get<double>()};
    if (c.contains("boundaries") && c["boundaries"].is_string()) {
      const std::string file = (fs::path(baseDir) / c["boundaries"].get<std::string>()).lexically_normal().string();
      const std::string property = c.value("name_property", std::string("name"));
      json geo = json::parse(readAll(file), nullptr, false);
      if (geo.is_discarded() || !geo.contains("features") || !geo["features"].is_array()) {
        throw bad("city " + v.id + ": " + file + " is not a GeoJSON FeatureCollection");
      }
      std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
      bool first = true;
      for (const auto& f : geo["features"]) {
        if (!f.contains("properties") || !f["properties"].is_object() || !f["properties"].contains(property) ||
            !f.contains("geometry")) {
          throw bad("city " + v.id + ": a feature of " + file + " has no geometry or no property " + property);
        }
        const auto& p = f["properties"][property];
        const std::string name = p.is_string() ? p.get<std::string>() : p.dump();
        if (std::find(v.neighbourhoods.begin(), v.neighbourhoods.end(), name) == v.neighbourhoods.end()) {
          v.neighbourhoods.push_back(name);
        }
        out += std::string(first ? "" : ",") + "{\"type\":\"Feature\",\"properties\":{\"city\":" + jsonString(v.id) +
               ",\"name\":" + jsonString(name) + "},\"geometry\":" + f["geometry"].dump() + "}";
        first = false;
      }
      out += "]}";
      CityBoundaries b;
      b.etag = entityTag(out, false);
      b.gzip = gzipCompress(out);
      b.geojson = std::move(out);
      boundaries_.emplace(v.id, std::move(b));
    }
    cities_.push_back(std::move(v));
  }
}

const CityBoundaries* FileCityDirectory::boundaries(const std::string& cityId) const {
  auto it = boundaries_.find(cityId);
  return it == boundaries_.end() ? nullptr : &it->second;
}

}  // namespace safestream::api
