#include "processor/alerting/boundaries.h"

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/result.h"

#ifndef SAFESTREAM_DATA_DIR
#define SAFESTREAM_DATA_DIR "data"
#endif

namespace safestream::processor::alerting {
namespace {

using nlohmann::json;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool parseRing(const json& j, core::Ring& ring) {
  if (!j.is_array()) return false;
  for (const auto& p : j) {
    if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number()) return false;
    ring.push_back({p[1].get<double>(), p[0].get<double>()});
  }
  return ring.size() >= 4;
}

bool parsePolygon(const json& j, std::vector<core::Ring>& polygon) {
  if (!j.is_array() || j.empty()) return false;
  for (const auto& r : j) {
    core::Ring ring;
    if (!parseRing(r, ring)) return false;
    polygon.push_back(std::move(ring));
  }
  return true;
}

}  // namespace

Boundaries Boundaries::parse(std::string_view text, const std::string& nameProperty, const std::string& origin) {
  // nlohmann ends the input at a NUL byte, which would hide the rest of the file.
  json doc = text.find('\0') != std::string_view::npos ? json(json::value_t::discarded)
                                                        : json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("features") || !doc["features"].is_array()) {
    throw core::ConfigError("boundary file " + origin + " is not a GeoJSON FeatureCollection");
  }
  Boundaries out;
  for (const auto& f : doc["features"]) {
    if (!f.is_object() || !f.contains("properties") || !f["properties"].is_object()) continue;
    const auto& props = f["properties"];
    if (!props.contains(nameProperty) || !props[nameProperty].is_string()) continue;
    if (!f.contains("geometry") || !f["geometry"].is_object()) continue;
    const auto& g = f["geometry"];
    const std::string type = g.value("type", "");
    if (!g.contains("coordinates")) continue;
    MultiPolygon shape;
    if (type == "Polygon") {
      std::vector<core::Ring> polygon;
      if (parsePolygon(g["coordinates"], polygon)) shape.push_back(std::move(polygon));
    } else if (type == "MultiPolygon" && g["coordinates"].is_array()) {
      for (const auto& pj : g["coordinates"]) {
        std::vector<core::Ring> polygon;
        if (parsePolygon(pj, polygon)) shape.push_back(std::move(polygon));
      }
    }
    if (!shape.empty()) out.add(props[nameProperty].get<std::string>(), std::move(shape));
  }
  return out;
}

Boundaries Boundaries::load(const std::vector<std::string>& specs) {
  Boundaries out;
  for (const auto& spec : specs) {
    std::string path = spec, property = "name";
    if (auto colon = spec.rfind(':'); colon != std::string::npos) {
      path = spec.substr(0, colon);
      property = spec.substr(colon + 1);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw core::ConfigError("cannot read boundary file " + path);
    std::stringstream buf;
    buf << in.rdbuf();
    auto one = parse(buf.str(), property, path);
    if (one.size() == 0) {
      throw core::ConfigError("boundary file " + path + " has no (Multi)Polygon feature with property '" + property + "'");
    }
    for (auto& [name, shape] : one.byName_) out.add(name, std::move(shape));
  }
  return out;
}

void Boundaries::add(std::string name, MultiPolygon shape) {
  auto& slot = byName_[upper(name)];
  for (auto& p : shape) slot.push_back(std::move(p));
}

const MultiPolygon* Boundaries::find(std::string_view name) const {
  auto it = byName_.find(upper(name));
  return it == byName_.end() ? nullptr : &it->second;
}

std::vector<std::string> Boundaries::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : byName_) out.push_back(name);
  return out;
}

std::vector<std::string> defaultBoundarySpecs() {
  return {std::string(SAFESTREAM_DATA_DIR) + "/chicago_community_areas.geojson:community",
          std::string(SAFESTREAM_DATA_DIR) + "/austin_neighborhoods.geojson:neighname"};
}

}  // namespace safestream::processor::alerting
