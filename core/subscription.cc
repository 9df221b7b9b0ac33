#include "core/subscription.h"
#include "core/cities.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "core/time.h"
#include "core/json_depth.h"

namespace safestream::core {
namespace {

using nlohmann::json;

// Keep in step with the processor's taxonomy (schemas/taxonomy.*).
// "non-crime" alerts only a subscription that lists it (kNonCrimeCategory).
constexpr std::array<std::string_view, 16> kCategories = {
    "theft",    "burglary",  "robbery",       "assault", "shooting",
    "homicide", "sexual-offense", "vandalism", "vehicle-theft", "arson",
    "drugs",    "weapons",   "disturbance",   "fraud",   "other", "non-crime"};

Error fieldError(std::string field, std::string message) {
  std::string text = field + ": " + message;
  return makeError("invalid_field", std::move(text), std::move(field));
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string fmt(double v) {
  json j = v;
  return j.dump();
}

Status rejectUnknown(const json& obj, std::initializer_list<std::string_view> known, const std::string& prefix) {
  for (const auto& [key, _] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return fieldError(prefix + key, "unknown field");
    }
  }
  return okStatus();
}

Result<double> number(const json& obj, const char* key, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fieldError(field, "is required");
  if (!it->is_number()) return fieldError(field, "must be a number");
  double v = it->get<double>();
  if (!std::isfinite(v)) return fieldError(field, "must be finite");
  return v;
}

// Segments p1p2 and p3p4 in the lon/lat plane (areas are at most tens of km,
// so planar geometry is exact enough to find self-intersections).
double cross(GeoPoint o, GeoPoint a, GeoPoint b) {
  return (a.lon - o.lon) * (b.lat - o.lat) - (a.lat - o.lat) * (b.lon - o.lon);
}
bool onSegment(GeoPoint p, GeoPoint q, GeoPoint r) {
  return std::min(p.lon, r.lon) <= q.lon && q.lon <= std::max(p.lon, r.lon) &&
         std::min(p.lat, r.lat) <= q.lat && q.lat <= std::max(p.lat, r.lat);
}
bool segmentsIntersect(GeoPoint p1, GeoPoint p2, GeoPoint p3, GeoPoint p4) {
  double d1 = cross(p3, p4, p1), d2 = cross(p3, p4, p2), d3 = cross(p1, p2, p3), d4 = cross(p1, p2, p4);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  if (d1 == 0 && onSegment(p3, p1, p4)) return true;
  if (d2 == 0 && onSegment(p3, p2, p4)) return true;
  if (d3 == 0 && onSegment(p1, p3, p2)) return true;
  if (d4 == 0 && onSegment(p1, p4, p2)) return true;
  return false;
}

Status validateRing(const Ring& ring, const std::string& field) {
  if (ring.size() < 4) return fieldError(field, "a ring needs at least 4 points (closed: first = last)");
  if (!(ring.front() == ring.back())) return fieldError(field, "ring is not closed (first point must equal last)");
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const auto& p = ring[i];
    const std::string pf = field + "[" + std::to_string(i) + "]";
    if (!std::isfinite(p.lat) || !std::isfinite(p.lon)) return fieldError(pf, "coordinates must be finite numbers");
    if (p.lon < -180 || p.lon > 180) return fieldError(pf, "longitude " + fmt(p.lon) + " is outside -180..180");
    if (p.lat < -90 || p.lat > 90) return fieldError(pf, "latitude " + fmt(p.lat) + " is outside -90..90");
    // Polar areas are not supported: the planar checks and the neighbourhood
    // use-case do not need them, and S2 would need special care.
    if (std::abs(p.lat) >= 85) return fieldError(pf, "polygons near the poles (|lat| >= 85) are not supported");
    if (i > 0 && std::abs(p.lon - ring[i - 1].lon) > 180) {
      return fieldError(pf, "ring crosses the antimeridian, which is not supported (split it in two subscriptions)");
    }
  }
  // Distinct vertices: a ring of 3 identical points is not an area.
  std::set<std::pair<double, double>> distinct;
  for (std::size_t i = 0; i + 1 < ring.size(); ++i) distinct.insert({ring[i].lat, ring[i].lon});
  if (distinct.size() < 3) return fieldError(field, "a ring needs at least 3 distinct points");
  if (distinct.size() != ring.size() - 1) return fieldError(field, "ring repeats a vertex");
  const std::size_t n = ring.size() - 1;  // edges i: ring[i] -> ring[i+1]
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (j == i + 1 || (i == 0 && j == n - 1)) continue;  // adjacent edges share a vertex
      if (segmentsIntersect(ring[i], ring[i + 1], ring[j], ring[j + 1])) {
        return fieldError(field, "ring intersects itself (edges " + std::to_string(i) + " and " +
                                     std::to_string(j) + ")");
      }
    }
  }
  return okStatus();
}

Status validatePolygon(const std::vector<Ring>& polygon, const std::string& field) {
  if (polygon.empty()) return fieldError(field, "needs at least the outer ring");
  std::size_t vertices = 0;
  double minLat = 90, maxLat = -90, minLon = 180, maxLon = -180;
  for (std::size_t r = 0; r < polygon.size(); ++r) {
    auto s = validateRing(polygon[r], field + "[" + std::to_string(r) + "]");
    if (!s) return s;
    vertices += polygon[r].size();
    for (const auto& p : polygon[r]) {
      minLat = std::min(minLat, p.lat), maxLat = std::max(maxLat, p.lat);
      minLon = std::min(minLon, p.lon), maxLon = std::max(maxLon, p.lon);
    }
  }
  if (vertices > kMaxPolygonVertices) {
    return fieldError(field, "has " + std::to_string(vertices) + " points; at most " +
                                 std::to_string(kMaxPolygonVertices) + " are allowed");
  }
  if (maxLon - minLon > 180) {
    return fieldError(field, "spans more than 180 degrees of longitude (antimeridian crossing is not supported)");
  }
  double extent = distanceMetres({minLat, minLon}, {maxLat, maxLon});
  if (extent > kMaxPolygonExtentM) {
    return fieldError(field, "spans " + std::to_string(static_cast<long long>(extent)) + " m; at most " +
                                 std::to_string(static_cast<long long>(kMaxPolygonExtentM)) + " m are allowed");
  }
  return okStatus();
}

Result<std::vector<Ring>> polygonFromJson(const json& j, const std::string& field) {
  if (!j.is_array()) return fieldError(field, "must be an array of rings ([[[lon, lat], ...], ...])");
  std::vector<Ring> polygon;
  for (std::size_t r = 0; r < j.size(); ++r) {
    const std::string rf = field + "[" + std::to_string(r) + "]";
    if (!j[r].is_array()) return fieldError(rf, "must be an array of [lon, lat] points");
    if (j[r].size() > kMaxPolygonVertices) return fieldError(rf, "has too many points");
    Ring ring;
    for (std::size_t i = 0; i < j[r].size(); ++i) {
      const auto& p = j[r][i];
      const std::string pf = rf + "[" + std::to_string(i) + "]";
      if (!p.is_array() || p.size() < 2 || p.size() > 3 || !p[0].is_number() || !p[1].is_number()) {
        return fieldError(pf, "must be a [lon, lat] pair of numbers");
      }
      ring.push_back(GeoPoint{p[1].get<double>(), p[0].get<double>()});
    }
    polygon.push_back(std::move(ring));
  }
  auto s = validatePolygon(polygon, field);
  if (!s) return s.error();
  return polygon;
}

json polygonJson(const std::vector<Ring>& polygon) {
  json rings = json::array();
  for (const auto& ring : polygon) {
    json points = json::array();
    for (const auto& p : ring) points.push_back(json::array({p.lon, p.lat}));
    rings.push_back(std::move(points));
  }
  return rings;
}

Result<QuietHours> quietHoursFromJson(const json& j) {
  std::string start, end;
  if (j.is_string()) {
    auto text = j.get<std::string>();
    auto dash = text.find('-');
    if (dash == std::string::npos) return fieldError("quiet_hours", "must be \"HH:MM-HH:MM\" or {\"start\", \"end\"}");
    start = trim(std::string_view(text).substr(0, dash));
    end = trim(std::string_view(text).substr(dash + 1));
  } else if (j.is_object()) {
    auto s = rejectUnknown(j, {"start", "end"}, "quiet_hours.");
    if (!s) return s.error();
    if (!j.contains("start") || !j["start"].is_string()) return fieldError("quiet_hours.start", "must be \"HH:MM\"");
    if (!j.contains("end") || !j["end"].is_string()) return fieldError("quiet_hours.end", "must be \"HH:MM\"");
    start = j["start"].get<std::string>();
    end = j["end"].get<std::string>();
  } else {
    return fieldError("quiet_hours", "must be \"HH:MM-HH:MM\" or {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}");
  }
  auto a = parseClockTime(start, "quiet_hours.start");
  if (!a) return a.error();
  auto b = parseClockTime(end, "quiet_hours.end");
  if (!b) return b.error();
  if (*a == *b) return fieldError("quiet_hours", "start and end are equal");
  return QuietHours{*a, *b};
}

Result<Subscription> fromJson(const json& body) {
  if (!body.is_object()) return fieldError("body", "must be a JSON object");
  if (auto s = rejectUnknown(body, {"area", "categories", "min_severity", "time_zone", "quiet_hours", "max_per_hour",
                                    "paused"},
                             "");
      !s) {
    return s.error();
  }
  Subscription sub;
  auto area = body.find("area");
  if (area == body.end() || !area->is_object()) return fieldError("area", "is required (an object with \"type\")");
  auto type = area->find("type");
  if (type == area->end() || !type->is_string()) {
    return fieldError("area.type", "is required: \"circle\", \"neighbourhood\" or \"polygon\"");
  }
  auto areaType = parseAreaType(type->get<std::string>());
  if (!areaType) {
    return fieldError("area.type", "'" + type->get<std::string>() + "' is not one of circle, neighbourhood, polygon");
  }
  sub.areaType = *areaType;
  switch (sub.areaType) {
    case AreaType::circle: {
      if (auto s = rejectUnknown(*area, {"type", "lat", "lon", "radius_m"}, "area."); !s) return s.error();
      auto lat = number(*area, "lat", "area.lat");
      if (!lat) return lat.error();
      auto lon = number(*area, "lon", "area.lon");
      if (!lon) return lon.error();
      auto radius = number(*area, "radius_m", "area.radius_m");
      if (!radius) return radius.error();
      sub.center = {*lat, *lon};
      sub.radiusM = *radius;
      break;
    }
    case AreaType::neighbourhood: {
      if (auto s = rejectUnknown(*area, {"type", "name", "city"}, "area."); !s) return s.error();
      auto name = area->find("name");
      if (name == area->end() || !name->is_string()) return fieldError("area.name", "is required (a neighbourhood name)");
      sub.neighbourhood = upper(trim(name->get<std::string>()));
      if (auto city = area->find("city"); city != area->end() && !city->is_null()) {
        if (!city->is_string()) return fieldError("area.city", "must be a city id such as \"chicago\"");
        sub.city = trim(city->get<std::string>());
      }
      break;
    }
    case AreaType::polygon: {
      if (auto s = rejectUnknown(*area, {"type", "coordinates"}, "area."); !s) return s.error();
      auto coords = area->find("coordinates");
      if (coords == area->end()) return fieldError("area.coordinates", "is required (GeoJSON Polygon coordinates)");
      auto polygon = polygonFromJson(*coords, "area.coordinates");
      if (!polygon) return polygon.error();
      sub.polygon = std::move(*polygon);
      break;
    }
  }
  if (auto c = body.find("categories"); c != body.end() && !c->is_null()) {
    if (!c->is_array()) return fieldError("categories", "must be an array of category names");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c->size(); ++i) {
      if (!(*c)[i].is_string()) return fieldError("categories[" + std::to_string(i) + "]", "must be a string");
      auto name = (*c)[i].get<std::string>();
      if (seen.insert(name).second) sub.categories.push_back(name);
    }
  }
  if (auto m = body.find("min_severity"); m != body.end() && !m->is_null()) {
    if (!m->is_number_integer()) return fieldError("min_severity", "must be an integer 1..5");
    auto v = m->get<long long>();
    if (v < 1 || v > 5) return fieldError("min_severity", std::to_string(v) + " is outside 1..5");
    sub.minSeverity = static_cast<int>(v);
  }
  if (auto z = body.find("time_zone"); z != body.end() && !z->is_null()) {
    if (!z->is_string()) return fieldError("time_zone", "must be an IANA zone name such as \"America/Chicago\"");
    sub.timeZone = z->get<std::string>();
  }
  if (auto q = body.find("quiet_hours"); q != body.end() && !q->is_null()) {
    auto quiet = quietHoursFromJson(*q);
    if (!quiet) return quiet.error();
    sub.quietHours = *quiet;
  }
  if (auto m = body.find("max_per_hour"); m != body.end() && !m->is_null()) {
    if (!m->is_number_integer()) return fieldError("max_per_hour", "must be an integer");
    auto v = m->get<long long>();
    if (v < 1 || v > kMaxPerHourLimit) {
      return fieldError("max_per_hour", std::to_string(v) + " is outside 1.." + std::to_string(kMaxPerHourLimit));
    }
    sub.maxPerHour = static_cast<int>(v);
  }
  if (auto p = body.find("paused"); p != body.end() && !p->is_null()) {
    if (!p->is_boolean()) return fieldError("paused", "must be true or false");
    sub.paused = p->get<bool>();
  }
  auto s = validateSubscription(sub);
  if (!s) return s.error();
  return sub;
}

}  // namespace

std::string_view areaTypeName(AreaType type) {
  switch (type) {
    case AreaType::circle: return "circle";
    case AreaType::neighbourhood: return "neighbourhood";
    case AreaType::polygon: return "polygon";
  }
  return "circle";
}

std::optional<AreaType> parseAreaType(std::string_view name) {
  if (name == "circle") return AreaType::circle;
  if (name == "neighbourhood" || name == "neighborhood") return AreaType::neighbourhood;
  if (name == "polygon") return AreaType::polygon;
  return std::nullopt;
}

bool QuietHours::contains(int localMinute) const {
  if (startMinute < endMinute) return localMinute >= startMinute && localMinute < endMinute;
  return localMinute >= startMinute || localMinute < endMinute;  // wraps midnight
}

std::span<const std::string_view> alertCategories() { return kCategories; }

bool isAlertCategory(std::string_view category) {
  return std::find(kCategories.begin(), kCategories.end(), category) != kCategories.end();
}

Result<Subscription> parseSubscriptionRequest(std::string_view text) {
  // nlohmann ends the input at a NUL byte ("{...}\0garbage" would parse).
  if (text.find('\0') != std::string_view::npos) return fieldError("body", "is not valid JSON (a NUL byte)");
  if (jsonTooDeep(text)) return fieldError("body", "is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json body = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return fieldError("body", "is not valid JSON");
  return fromJson(body);
}

Status validateSubscription(const Subscription& sub) {
  switch (sub.areaType) {
    case AreaType::circle:
      if (!std::isfinite(sub.center.lat) || sub.center.lat < -90 || sub.center.lat > 90) {
        return fieldError("area.lat", fmt(sub.center.lat) + " is outside -90..90");
      }
      if (!std::isfinite(sub.center.lon) || sub.center.lon < -180 || sub.center.lon > 180) {
        return fieldError("area.lon", fmt(sub.center.lon) + " is outside -180..180");
      }
      if (!std::isfinite(sub.radiusM) || sub.radiusM < kMinRadiusM || sub.radiusM > kMaxRadiusM) {
        return fieldError("area.radius_m", fmt(sub.radiusM) + " is outside 50..20000 metres");
      }
      // A circle that reaches a pole or the antimeridian is not supported
      // (see docs/alerting.md): 85 degrees leaves room for the 20 km radius.
      if (std::abs(sub.center.lat) >= 85) {
        return fieldError("area.lat", "circles near the poles (|lat| >= 85) are not supported");
      }
      {
        double dLon = sub.radiusM / (kEarthRadiusMetres * std::cos(sub.center.lat * kRadiansPerDegree)) / kRadiansPerDegree;
        if (sub.center.lon - dLon < -180 || sub.center.lon + dLon > 180) {
          return fieldError("area.lon", "circle crosses the antimeridian, which is not supported");
        }
      }
      break;
    case AreaType::neighbourhood:
      if (sub.neighbourhood.empty()) return fieldError("area.name", "must not be empty");
      if (sub.neighbourhood.size() > 128) return fieldError("area.name", "is longer than 128 characters");
      if (!sub.city.empty() && !isCitySlug(sub.city)) {
        return fieldError("area.city", "must be a city id (lower-case slug such as \"los-angeles\")");
      }
      break;
    case AreaType::polygon:
      if (auto s = validatePolygon(sub.polygon, "area.coordinates"); !s) return s;
      break;
  }
  if (sub.categories.size() > kMaxCategories) return fieldError("categories", "too many categories");
  for (std::size_t i = 0; i < sub.categories.size(); ++i) {
    if (!isAlertCategory(sub.categories[i])) {
      std::string known;
      for (auto c : kCategories) known += (known.empty() ? "" : ", ") + std::string(c);
      return fieldError("categories[" + std::to_string(i) + "]",
                        "'" + sub.categories[i] + "' is not a category (one of: " + known + ")");
    }
  }
  if (sub.minSeverity < 1 || sub.minSeverity > 5) {
    return fieldError("min_severity", std::to_string(sub.minSeverity) + " is outside 1..5");
  }
  if (!isKnownTimeZone(sub.timeZone)) {
    return fieldError("time_zone", "'" + sub.timeZone + "' is not a known IANA time zone");
  }
  if (sub.quietHours) {
    const auto& q = *sub.quietHours;
    if (q.startMinute < 0 || q.startMinute > 1439) return fieldError("quiet_hours.start", "is outside 00:00..23:59");
    if (q.endMinute < 0 || q.endMinute > 1439) return fieldError("quiet_hours.end", "is outside 00:00..23:59");
    if (q.startMinute == q.endMinute) return fieldError("quiet_hours", "start and end are equal");
  }
  if (sub.maxPerHour && (*sub.maxPerHour < 1 || *sub.maxPerHour > kMaxPerHourLimit)) {
    return fieldError("max_per_hour", std::to_string(*sub.maxPerHour) + " is outside 1.." +
                                          std::to_string(kMaxPerHourLimit));
  }
  return okStatus();
}

std::string polygonToJson(const std::vector<Ring>& polygon) { return polygonJson(polygon).dump(); }

Result<std::vector<Ring>> parsePolygonJson(std::string_view text, std::string_view field) {
  if (text.find('\0') != std::string_view::npos) return fieldError(std::string(field), "is not valid JSON (a NUL byte)");
  if (jsonTooDeep(text)) return fieldError(std::string(field), "is nested too deep");
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return fieldError(std::string(field), "is not valid JSON");
  return polygonFromJson(j, std::string(field));
}

std::string subscriptionToJson(const Subscription& sub) {
  json out;
  if (!sub.id.empty()) out["id"] = sub.id;
  json area;
  area["type"] = std::string(areaTypeName(sub.areaType));
  switch (sub.areaType) {
    case AreaType::circle:
      area["lat"] = sub.center.lat;
      area["lon"] = sub.center.lon;
      area["radius_m"] = sub.radiusM;
      break;
    case AreaType::neighbourhood:
      area["name"] = sub.neighbourhood;
      if (!sub.city.empty()) area["city"] = sub.city;
      break;
    case AreaType::polygon: area["coordinates"] = polygonJson(sub.polygon); break;
  }
  out["area"] = std::move(area);
  out["categories"] = sub.categories;
  out["min_severity"] = sub.minSeverity;
  out["time_zone"] = sub.timeZone;
  if (sub.quietHours) {
    out["quiet_hours"] = {{"start", formatClockTime(sub.quietHours->startMinute)},
                          {"end", formatClockTime(sub.quietHours->endMinute)}};
  } else {
    out["quiet_hours"] = nullptr;
  }
  out["max_per_hour"] = sub.maxPerHour ? json(*sub.maxPerHour) : json(nullptr);
  out["paused"] = sub.paused;
  return out.dump();
}

Result<int> parseClockTime(std::string_view text, std::string_view field) {
  auto bad = [&] {
    return fieldError(std::string(field), "'" + std::string(text) + "' is not a time HH:MM (00:00..23:59)");
  };
  if (text.size() != 5 || text[2] != ':') return bad();
  for (int i : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad();
  }
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return bad();
  return h * 60 + m;
}

std::string formatClockTime(int minute) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (minute / 60) % 24, minute % 60);
  return buf;
}

std::string generateToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned int acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

std::string hashToken(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) &&
            EVP_DigestUpdate(ctx, token.data(), token.size()) && EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-256 digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

bool tokenMatches(std::string_view token, std::string_view storedHash) {
  std::string h = hashToken(token);
  if (h.size() != storedHash.size()) return false;
  return CRYPTO_memcmp(h.data(), storedHash.data(), h.size()) == 0;
}

}  // namespace safestream::core
