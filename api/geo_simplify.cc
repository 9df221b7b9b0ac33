#include "api/geo_simplify.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <utility>

#include "core/geo.h"

namespace safestream::api {
namespace {

using json = nlohmann::json;

constexpr double kRad = core::kRadiansPerDegree;

struct Xy {
  double x, y;
};

// Distance from p to the segment a-b (to a itself when a == b: a closed
// ring's first and last point).
double segmentDistance(Xy p, Xy a, Xy b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
  return std::sqrt(ex * ex + ey * ey);
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  // Trailing zeros carry nothing: "-87.630000" -> "-87.63".
  std::string s(buf);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

// A GeoJSON ring ([[lon, lat], ...]) simplified, as JSON text.
core::Result<std::string> ringJson(const json& ring, double toleranceM) {
  if (!ring.is_array()) return core::makeError("invalid_geojson", "a ring is not an array");
  std::vector<core::GeoPoint> pts;
  pts.reserve(ring.size());
  for (const auto& p : ring) {
    if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number()) {
      return core::makeError("invalid_geojson", "a position is not [lon, lat]");
    }
    pts.push_back({p[1].get<double>(), p[0].get<double>()});
  }
  auto kept = douglasPeucker(pts, toleranceM);
  if (kept.size() < 4) kept = std::move(pts);
  std::string out = "[";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    out += (i ? ",[" : "[") + coord(kept[i].lon) + "," + coord(kept[i].lat) + "]";
  }
  return out + "]";
}

core::Result<std::string> polygonJson(const json& rings, double toleranceM) {
  if (!rings.is_array()) return core::makeError("invalid_geojson", "polygon coordinates are not an array");
  std::string out = "[";
  for (std::size_t i = 0; i < rings.size(); ++i) {
    auto r = ringJson(rings[i], toleranceM);
    if (!r) return r.error();
    out += (i ? "," : "") + *r;
  }
  return out + "]";
}

}  // namespace

std::vector<core::GeoPoint> douglasPeucker(const std::vector<core::GeoPoint>& line, double toleranceM) {
  const std::size_t n = line.size();
  if (n < 3 || !(toleranceM > 0)) return line;
  // Local equirectangular metres around the first point.
  const double lat0 = line.front().lat * kRad;
  const double kx = core::kEarthRadiusMetres * std::cos(lat0) * kRad, ky = core::kEarthRadiusMetres * kRad;
  std::vector<Xy> xy(n);
  for (std::size_t i = 0; i < n; ++i) xy[i] = {line[i].lon * kx, line[i].lat * ky};
  std::vector<char> keep(n, 0);
  keep.front() = keep.back() = 1;
  std::vector<std::pair<std::size_t, std::size_t>> stack{{0, n - 1}};
  while (!stack.empty()) {
    auto [first, last] = stack.back();
    stack.pop_back();
    double worst = -1;
    std::size_t at = first;
    for (std::size_t i = first + 1; i < last; ++i) {
      const double d = segmentDistance(xy[i], xy[first], xy[last]);
      if (d > worst) {
        worst = d;
        at = i;
      }
    }
    if (at == first || worst <= toleranceM) continue;
    keep[at] = 1;
    stack.push_back({first, at});
    stack.push_back({at, last});
  }
  std::vector<core::GeoPoint> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (keep[i]) out.push_back(line[i]);
  }
  return out;
}

core::Result<std::string> simplifyFeatureCollection(std::string_view geojson, double toleranceM) {
  const json doc = json::parse(geojson, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("type", "") != "FeatureCollection" ||
      !doc.contains("features") || !doc["features"].is_array()) {
    return core::makeError("invalid_geojson", "not a GeoJSON FeatureCollection");
  }
  std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
  bool firstFeature = true;
  for (const auto& f : doc["features"]) {
    if (!f.is_object()) return core::makeError("invalid_geojson", "a feature is not an object");
    std::string geometry = "null";
    if (f.contains("geometry") && f["geometry"].is_object()) {
      const auto& g = f["geometry"];
      const std::string type = g.value("type", "");
      if (type == "Polygon" && g.contains("coordinates")) {
        auto p = polygonJson(g["coordinates"], toleranceM);
        if (!p) return p.error();
        geometry = "{\"type\":\"Polygon\",\"coordinates\":" + *p + "}";
      } else if (type == "MultiPolygon" && g.contains("coordinates") && g["coordinates"].is_array()) {
        geometry = "{\"type\":\"MultiPolygon\",\"coordinates\":[";
        for (std::size_t i = 0; i < g["coordinates"].size(); ++i) {
          auto p = polygonJson(g["coordinates"][i], toleranceM);
          if (!p) return p.error();
          geometry += (i ? "," : "") + *p;
        }
        geometry += "]}";
      } else {
        geometry = g.dump();
      }
    }
    json rest = f;
    rest.erase("geometry");
    std::string feature = rest.dump();
    feature.pop_back();  // reopen the object for the geometry
    out += std::string(firstFeature ? "" : ",") + feature + (rest.size() ? "," : "") + "\"geometry\":" + geometry + "}";
    firstFeature = false;
  }
  return out + "]}";
}

}  // namespace safestream::api
