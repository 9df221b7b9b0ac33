#include "core/cities.h"

#include <s2/mutable_s2shape_index.h>
#include <s2/s2contains_point_query.h>
#include <s2/s2latlng.h>
#include <s2/s2lax_polygon_shape.h>
#include <s2/s2loop.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/result.h"
#include "core/time.h"

#ifndef SAFESTREAM_DEFAULT_SOURCE_DIR
#define SAFESTREAM_DEFAULT_SOURCE_DIR "."
#endif

namespace safestream::core {
namespace {

using nlohmann::json;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string readFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read " + what + " " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

Ring parseRing(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() < 4) throw ConfigError(where + ": a ring needs at least 4 positions");
  Ring ring;
  ring.reserve(j.size());
  for (const auto& p : j) {
    if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number()) {
      throw ConfigError(where + ": a position must be [lon, lat]");
    }
    const double lon = p[0].get<double>(), lat = p[1].get<double>();
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
      throw ConfigError(where + ": position [" + std::to_string(lon) + ", " + std::to_string(lat) +
                        "] is outside [-180..180, -90..90]");
    }
    ring.push_back({lat, lon});
  }
  return ring;
}

Polygon parsePolygon(const json& j, const std::string& where) {
  if (!j.is_array() || j.empty()) throw ConfigError(where + ": a polygon needs rings");
  Polygon polygon;
  for (const auto& r : j) polygon.push_back(parseRing(r, where));
  return polygon;
}

// One ring -> S2 vertices with the interior on the left, as
// S2LaxPolygonShape wants. Files in the wild use either winding, so the
// orientation is derived from the geometry rather than trusted: a ring is
// normalised to enclose the smaller area (a city block, not the rest of the
// planet), and holes are then reversed. Empty when fewer than 3 distinct
// vertices remain (such a ring encloses nothing).
std::vector<S2Point> ringToLoop(const Ring& ring, bool hole) {
  std::vector<S2Point> pts;
  pts.reserve(ring.size());
  for (const auto& p : ring) {
    S2Point v = S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint();
    if (!pts.empty() && pts.back() == v) continue;  // duplicate vertices break S2 loops
    pts.push_back(v);
  }
  while (pts.size() > 1 && pts.front() == pts.back()) pts.pop_back();  // GeoJSON repeats the first position
  if (pts.size() < 3) return {};
  S2Loop loop(pts, S2Debug::DISABLE);
  loop.Normalize();
  if (hole) loop.Invert();
  std::vector<S2Point> out;
  out.reserve(static_cast<std::size_t>(loop.num_vertices()));
  for (int i = 0; i < loop.num_vertices(); ++i) out.push_back(loop.vertex(i));
  return out;
}

double number(const json& j, const std::string& where) {
  if (!j.is_number()) throw ConfigError(where + " must be a number");
  return j.get<double>();
}

std::string requiredString(const json& c, const char* key, const std::string& where) {
  if (!c.contains(key) || !c[key].is_string() || c[key].get<std::string>().empty()) {
    throw ConfigError(where + ": \"" + key + "\" must be a non-empty string");
  }
  return c[key].get<std::string>();
}

}  // namespace

bool isCitySlug(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() == '-' || id.back() == '-') return false;
  for (char ch : id) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  }
  return true;
}

const Neighbourhood* City::neighbourhood(std::string_view name) const {
  const std::string want = upper(name);
  for (const auto& n : neighbourhoods) {
    if (upper(n.name) == want) return &n;
  }
  return nullptr;
}

struct CityCatalog::Impl {
  std::vector<City> cities;
  MutableS2ShapeIndex index;
  struct Owner {
    std::uint32_t city;
    std::uint32_t neighbourhood;
  };
  std::vector<Owner> owners;  // by shape id
  // (city id, upper-case name) -> neighbourhood index in that city
  std::map<std::pair<std::string, std::string>, std::size_t, std::less<>> byName;

  void build() {
    for (std::uint32_t c = 0; c < cities.size(); ++c) {
      auto& city = cities[c];
      for (std::uint32_t n = 0; n < city.neighbourhoods.size(); ++n) {
        byName.emplace(std::pair{city.id, upper(city.neighbourhoods[n].name)}, n);
        for (const auto& polygon : city.neighbourhoods[n].shape) {
          std::vector<std::vector<S2Point>> loops;
          for (std::size_t r = 0; r < polygon.size(); ++r) {
            auto loop = ringToLoop(polygon[r], r > 0);
            if (!loop.empty()) loops.push_back(std::move(loop));
          }
          if (loops.empty()) continue;
          index.Add(std::make_unique<S2LaxPolygonShape>(loops));
          owners.push_back({c, n});
        }
      }
    }
    index.ForceBuild();  // build now, so lookups never pay for it (and stay read-only)
  }
};

namespace {
// nlohmann ends the input at a NUL byte, which would hide the rest of a file:
// such a text is refused as a whole.
json parseWhole(std::string_view text) {
  return text.find('\0') != std::string_view::npos ? json(json::value_t::discarded)
                                                   : json::parse(text.begin(), text.end(), nullptr, false);
}

}  // namespace

CityCatalog::CityCatalog() : impl_(std::make_unique<Impl>()) {}
CityCatalog::~CityCatalog() = default;
CityCatalog::CityCatalog(CityCatalog&&) noexcept = default;
CityCatalog& CityCatalog::operator=(CityCatalog&&) noexcept = default;

std::vector<Neighbourhood> CityCatalog::parseBoundaries(std::string_view text, const std::string& nameProperty,
                                                        const std::string& origin) {
  json doc = parseWhole(text);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("features") || !doc["features"].is_array()) {
    throw ConfigError("boundary file " + origin + " is not a GeoJSON FeatureCollection");
  }
  std::vector<Neighbourhood> out;
  std::map<std::string, std::size_t> seen;  // upper-case name -> index in out
  std::size_t n = 0;
  for (const auto& feature : doc["features"]) {
    const std::string where = "boundary file " + origin + " feature " + std::to_string(n++);
    if (!feature.is_object()) throw ConfigError(where + " is not an object");
    const json* props = feature.contains("properties") ? &feature["properties"] : nullptr;
    if (!props || !props->is_object() || !props->contains(nameProperty)) {
      throw ConfigError(where + " has no property '" + nameProperty + "'");
    }
    const json& nameValue = (*props)[nameProperty];
    if (!nameValue.is_string() && !nameValue.is_number()) {
      throw ConfigError(where + ": property '" + nameProperty + "' must be a string or a number");
    }
    std::string name = nameValue.is_string() ? nameValue.get<std::string>() : nameValue.dump();
    if (name.empty()) throw ConfigError(where + ": property '" + nameProperty + "' is empty");
    if (!feature.contains("geometry") || !feature["geometry"].is_object()) {
      throw ConfigError(where + " has no geometry");
    }
    const json& geom = feature["geometry"];
    const std::string type = geom.contains("type") && geom["type"].is_string() ? geom["type"].get<std::string>() : "";
    if (!geom.contains("coordinates")) throw ConfigError(where + " has no coordinates");
    MultiPolygon shape;
    if (type == "Polygon") {
      shape.push_back(parsePolygon(geom["coordinates"], where));
    } else if (type == "MultiPolygon") {
      if (!geom["coordinates"].is_array() || geom["coordinates"].empty()) {
        throw ConfigError(where + ": a MultiPolygon needs polygons");
      }
      for (const auto& p : geom["coordinates"]) shape.push_back(parsePolygon(p, where));
    } else {
      throw ConfigError(where + " has geometry type '" + type + "', expected Polygon or MultiPolygon");
    }
    auto [it, fresh] = seen.emplace(upper(name), out.size());
    if (fresh) {
      out.push_back({std::move(name), std::move(shape)});
    } else {
      auto& slot = out[it->second].shape;
      for (auto& p : shape) slot.push_back(std::move(p));
    }
  }
  if (out.empty()) throw ConfigError("boundary file " + origin + " has no features");
  return out;
}

CityCatalog CityCatalog::parse(std::string_view text, const std::string& baseDir, const std::string& origin) {
  json doc = parseWhole(text);
  if (doc.is_discarded() || !doc.is_object()) throw ConfigError("cities file " + origin + " is not a JSON object");
  if (!doc.contains("cities") || !doc["cities"].is_array() || doc["cities"].empty()) {
    throw ConfigError("cities file " + origin + ": \"cities\" must be a non-empty array");
  }
  std::vector<City> cities;
  std::set<std::string> ids;
  static const std::set<std::string> kKnown{"id", "name", "zone", "boundaries", "name_property", "bbox"};
  std::size_t i = 0;
  for (const auto& c : doc["cities"]) {
    std::string where = "cities file " + origin + " city " + std::to_string(i++);
    if (!c.is_object()) throw ConfigError(where + " is not an object");
    City city;
    city.id = requiredString(c, "id", where);
    where += " (" + city.id + ")";
    if (!isCitySlug(city.id)) throw ConfigError(where + ": \"id\" must be a lower-case slug like \"los-angeles\"");
    if (!ids.insert(city.id).second) throw ConfigError(where + ": \"id\" is used twice");
    for (const auto& [key, _] : c.items()) {
      if (!kKnown.count(key)) throw ConfigError(where + ": unknown field \"" + key + "\"");
    }
    city.name = requiredString(c, "name", where);
    city.zone = requiredString(c, "zone", where);
    if (!isKnownTimeZone(city.zone)) throw ConfigError(where + ": \"zone\" '" + city.zone + "' is not a known IANA time zone");
    if (!c.contains("bbox") || !c["bbox"].is_array() || c["bbox"].size() != 4) {
      throw ConfigError(where + ": \"bbox\" must be [west, south, east, north]");
    }
    const auto& b = c["bbox"];
    city.bbox = {number(b[0], where + " bbox[0]"), number(b[1], where + " bbox[1]"), number(b[2], where + " bbox[2]"),
                 number(b[3], where + " bbox[3]")};
    if (!(city.bbox.west >= -180 && city.bbox.east <= 180 && city.bbox.south >= -90 && city.bbox.north <= 90 &&
          city.bbox.west < city.bbox.east && city.bbox.south < city.bbox.north)) {
      throw ConfigError(where + ": \"bbox\" must be [west, south, east, north] with west < east and south < north");
    }
    const bool hasFile = c.contains("boundaries") && !c["boundaries"].is_null();
    if (hasFile) {
      std::string rel = requiredString(c, "boundaries", where);
      city.nameProperty = requiredString(c, "name_property", where);
      std::filesystem::path p(rel);
      if (p.is_relative()) p = std::filesystem::path(baseDir) / p;
      city.boundaries = p.lexically_normal().string();
      city.neighbourhoods = parseBoundaries(readFile(*city.boundaries, "boundary file"), city.nameProperty,
                                            *city.boundaries);
    } else if (c.contains("name_property") && !c["name_property"].is_null()) {
      throw ConfigError(where + ": \"name_property\" without \"boundaries\"");
    }
    cities.push_back(std::move(city));
  }
  return fromCities(std::move(cities));
}

CityCatalog CityCatalog::load(const std::string& path) {
  const std::string text = readFile(path, "cities file");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return parse(text, dir.empty() ? "." : dir, path);
}

CityCatalog CityCatalog::fromCities(std::vector<City> cities) {
  CityCatalog out;
  out.impl_->cities = std::move(cities);
  out.impl_->build();
  return out;
}

const std::vector<City>& CityCatalog::cities() const { return impl_->cities; }

const City* CityCatalog::find(std::string_view id) const {
  for (const auto& c : impl_->cities) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Place CityCatalog::locate(const GeoPoint& p) const {
  Place out;
  if (!(p.lat >= -90 && p.lat <= 90 && p.lon >= -180 && p.lon <= 180)) return out;
  if (!impl_->owners.empty()) {
    auto query = MakeS2ContainsPointQuery(&impl_->index);
    const S2Point point = S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint();
    int best = -1;
    query.VisitContainingShapes(point, [&](S2Shape* shape) {
      if (best < 0 || shape->id() < best) best = shape->id();
      return true;
    });
    if (best >= 0) {
      const auto& owner = impl_->owners[static_cast<std::size_t>(best)];
      out.city = &impl_->cities[owner.city];
      out.neighbourhood = out.city->neighbourhoods[owner.neighbourhood].name;
      return out;
    }
  }
  for (const auto& c : impl_->cities) {
    if (c.bbox.contains(p)) {
      out.city = &c;
      break;
    }
  }
  return out;
}

const MultiPolygon* CityCatalog::boundary(std::string_view cityId, std::string_view name) const {
  auto it = impl_->byName.find(std::pair<std::string, std::string>{std::string(cityId), upper(name)});
  if (it == impl_->byName.end()) return nullptr;
  const City* c = find(cityId);
  return c ? &c->neighbourhoods[it->second].shape : nullptr;
}

std::vector<std::string> CityCatalog::citiesWithNeighbourhood(std::string_view name) const {
  std::vector<std::string> out;
  const std::string want = upper(name);
  for (const auto& c : impl_->cities) {
    if (impl_->byName.count(std::pair<std::string, std::string>{c.id, want})) out.push_back(c.id);
  }
  return out;
}

std::size_t CityCatalog::polygonCount() const { return impl_->owners.size(); }

std::string defaultCitiesPath() { return std::string(SAFESTREAM_DEFAULT_SOURCE_DIR) + "/deploy/cities.json"; }

}  // namespace safestream::core
