#include "ingest/sources_config.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include "core/time.h"
#include "ingest/json_config.h"

namespace safestream::ingest {
namespace {

constexpr double kKmPerMile = 1.609344;

void readAreas(const ObjectReader& src, SourceConfig& s) {
  const auto& areas = src.array("areas");
  std::set<std::string> names;
  for (std::size_t i = 0; i < areas.size(); ++i) {
    ObjectReader a(src.doc(), areas[i], src.pathOf("areas") + "[" + std::to_string(i) + "]");
    a.allowOnly({"name", "lat", "lon", "radius", "bbox", "tile_km", "time_zone"});
    const std::string name = a.string("name");
    if (!names.insert(name).second) a.fail("name", "'" + name + "' is used by another area of this source");
    const std::string zone = a.string("time_zone");
    if (!core::isKnownTimeZone(zone)) a.fail("time_zone", "'" + zone + "' is not a known IANA time zone");
    if (a.has("bbox")) {
      if (a.has("lat") || a.has("lon")) a.fail("bbox", "give either bbox or lat/lon, not both");
      const auto& b = a.json()["bbox"];
      if (!b.is_array() || b.size() != 4 || !std::all_of(b.begin(), b.end(), [](const auto& v) { return v.is_number(); })) {
        a.fail("bbox", "must be [south, west, north, east] in degrees");
      }
      const double south = b[0], west = b[1], north = b[2], east = b[3];
      if (south >= north || west >= east || std::fabs(south) > 90 || std::fabs(north) > 90 ||
          std::fabs(west) > 180 || std::fabs(east) > 180) {
        a.fail("bbox", "must be [south, west, north, east] with south < north and west < east");
      }
      const double tileKm = a.number("tile_km", 0.1, 100, 2.0);
      // Tile centres on a grid; each query's radius covers its tile's corners.
      const double latStep = tileKm / 111.0;
      const double midLat = (south + north) / 2 * M_PI / 180;
      const double lonStep = tileKm / (111.0 * std::max(0.01, std::cos(midLat)));
      const int rows = std::max(1, static_cast<int>(std::ceil((north - south) / latStep)));
      const int cols = std::max(1, static_cast<int>(std::ceil((east - west) / lonStep)));
      if (rows * cols > 10000) a.fail("tile_km", "tiles the box into " + std::to_string(rows * cols) + " queries (over 10000)");
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
          Area t;
          t.name = name + "." + std::to_string(r) + "." + std::to_string(c);
          t.lat = south + (r + 0.5) * latStep;
          t.lon = west + (c + 0.5) * lonStep;
          t.radius = tileKm * M_SQRT1_2 / kKmPerMile;
          t.timeZone = zone;
          s.areas.push_back(t);
        }
      }
    } else {
      Area t;
      t.name = name;
      t.lat = a.number("lat", -90, 90);
      t.lon = a.number("lon", -180, 180);
      t.radius = a.number("radius", 0.001, 100, 0.5);
      t.timeZone = zone;
      s.areas.push_back(t);
    }
  }
}

SourceConfig readSource(const ObjectReader& o, std::set<std::string>& names) {
  SourceConfig s;
  const std::string type = o.string("type");
  static const std::set<std::string> common = {"name", "type", "base_url", "path", "key_env", "poll_interval_s",
                                               "timeout_ms", "rate_limit", "retry", "lookback_hours", "since", "enabled",
                                               "source"};
  std::set<std::string> known = common;
  if (type == "spotcrime") {
    s.kind = SourceKind::spotcrime;
    known.insert("areas");
  } else if (type == "rapidapi_incidents") {
    s.kind = SourceKind::rapidapiIncidents;
    known.insert({"areas", "rapidapi_host", "fields", "records_key"});
  } else if (type == "rapidapi_zip_grades") {
    s.kind = SourceKind::rapidapiZipGrades;
    known.insert({"zips", "rapidapi_host"});
  } else if (type == "socrata") {
    s.kind = SourceKind::socrata;
    known.insert({"dataset", "fields", "page_limit"});
  } else {
    o.fail("type", "'" + type + "' is not one of spotcrime, rapidapi_incidents, rapidapi_zip_grades, socrata");
  }
  o.allowOnly(known);
  s.name = o.string("name");
  if (!isValidSourceName(s.name)) o.fail("name", "must match ^[a-z][a-z0-9_.:-]{0,63}$");
  if (!names.insert(s.name).second) o.fail("name", "'" + s.name + "' is used by another source");
  switch (s.kind) {
    case SourceKind::spotcrime: s.reportSource = "spotcrime"; break;
    case SourceKind::rapidapiIncidents:
    case SourceKind::rapidapiZipGrades: s.reportSource = "rapidapi:" + s.name; break;
    case SourceKind::socrata: s.reportSource = "socrata:" + s.name; break;
  }
  if (o.has("source")) {
    s.reportSource = o.string("source");
    if (!isValidSourceName(s.reportSource)) o.fail("source", "must match ^[a-z][a-z0-9_.:-]{0,63}$");
  }
  s.baseUrl = o.string("base_url");
  if (s.baseUrl.rfind("http://", 0) != 0 && s.baseUrl.rfind("https://", 0) != 0) {
    o.fail("base_url", "must start with http:// or https://");
  }
  while (!s.baseUrl.empty() && s.baseUrl.back() == '/') s.baseUrl.pop_back();
  switch (s.kind) {
    case SourceKind::spotcrime: s.path = "/crimes.json"; break;
    case SourceKind::rapidapiIncidents: s.path = "/crime"; break;
    case SourceKind::rapidapiZipGrades: s.path = "/crime_data"; break;
    case SourceKind::socrata: s.path = ""; break;
  }
  s.path = o.string("path", s.path);
  if (o.has("key_env")) {
    s.keyEnv = o.string("key_env");
    const char* v = std::getenv(s.keyEnv.c_str());
    if (!v || !*v) o.fail("key_env", "names the environment variable " + s.keyEnv + ", which is not set");
    s.key = v;
  } else if (s.kind != SourceKind::socrata) {
    o.fail("key_env", "is required: the name of the environment variable holding the API key");
  }
  if (s.kind == SourceKind::rapidapiIncidents || s.kind == SourceKind::rapidapiZipGrades) {
    s.rapidApiHost = o.string("rapidapi_host");
  }
  s.pollInterval = std::chrono::milliseconds(static_cast<long long>(o.number("poll_interval_s", 0.05, 7 * 86400, 300) * 1000));
  s.timeout = std::chrono::milliseconds(static_cast<long long>(o.number("timeout_ms", 50, 600000, 10000)));
  s.lookback = std::chrono::hours(static_cast<long long>(o.number("lookback_hours", 0, 24 * 365, 48)));
  if (o.has("since")) {
    auto t = core::parseTimestamp(o.string("since"), "UTC");
    if (!t) o.fail("since", "must be an RFC 3339 time such as 2014-01-01T00:00:00Z: " + t.error().message);
    s.since = *t;
  }
  if (o.has("rate_limit")) {
    ObjectReader rl = o.object("rate_limit");
    rl.allowOnly({"per_second", "per_day"});
    s.perSecond = rl.number("per_second", 0, 10000, 0);
    s.perDay = static_cast<std::int64_t>(rl.number("per_day", 0, 1e9, 0));
  }
  if (o.has("retry")) {
    ObjectReader r = o.object("retry");
    r.allowOnly({"max_attempts", "base_delay_ms", "max_delay_ms"});
    s.retry.maxAttempts = static_cast<int>(r.number("max_attempts", 1, 20, 4));
    s.retry.baseDelay = std::chrono::milliseconds(static_cast<long long>(r.number("base_delay_ms", 1, 600000, 500)));
    s.retry.maxDelay = std::chrono::milliseconds(static_cast<long long>(r.number("max_delay_ms", 1, 3600000, 30000)));
    if (s.retry.maxDelay < s.retry.baseDelay) r.fail("max_delay_ms", "must not be below base_delay_ms");
  }
  if (s.kind == SourceKind::spotcrime || s.kind == SourceKind::rapidapiIncidents) readAreas(o, s);
  if (s.kind == SourceKind::rapidapiZipGrades) {
    s.zips = o.strings("zips");
    for (std::size_t i = 0; i < s.zips.size(); ++i) {
      const auto& z = s.zips[i];
      if (z.size() != 5 || !std::all_of(z.begin(), z.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        o.doc().fail(o.pathOf("zips") + "[" + std::to_string(i) + "]", "'" + z + "' is not a 5-digit ZIP code");
      }
    }
  }
  if (s.kind == SourceKind::rapidapiIncidents || s.kind == SourceKind::socrata) {
    ObjectReader f = o.object("fields");
    s.mapping = columnMappingFromReader(f);
    s.mapping.source = s.reportSource;
    s.recordsKey = o.has("records_key") ? o.string("records_key") : "";
  }
  if (s.kind == SourceKind::socrata) {
    s.dataset = o.string("dataset");
    s.pageLimit = static_cast<int>(o.number("page_limit", 1, 50000, 1000));
    if (s.mapping.updated.empty()) o.fail("fields", "needs 'updated' (the column incremental pulls are ordered by)");
  }
  return s;
}

SourcesConfig fromDoc(const JsonDoc& doc) {
  ObjectReader top(doc, doc.root(), "");
  top.allowOnly({"$schema", "sources"});
  SourcesConfig c;
  c.file = doc.file();
  if (!top.has("sources")) return c;
  const auto& sources = top.json()["sources"];
  if (!sources.is_array()) top.fail("sources", "must be an array");
  std::set<std::string> names;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    ObjectReader o(doc, sources[i], "sources[" + std::to_string(i) + "]");
    if (!o.boolean("enabled", true)) continue;
    c.sources.push_back(readSource(o, names));
  }
  return c;
}

}  // namespace

SourcesConfig loadSourcesConfig(const std::string& path) { return fromDoc(JsonDoc::fromFile(path)); }

SourcesConfig parseSourcesConfig(const std::string& text, const std::string& file) {
  return fromDoc(JsonDoc(text, file));
}

}  // namespace safestream::ingest
