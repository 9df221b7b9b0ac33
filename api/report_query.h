#pragma once
// GET /v1/reports query parameters, the public view of a stored report and
// its JSON / GeoJSON rendering. Pure: no I/O.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace safestream::api {

struct BoundingBox {
  double minLon = 0, minLat = 0, maxLon = 0, maxLat = 0;
};
struct NearQuery {
  double lat = 0, lon = 0, radiusM = 1000;
};
// Keyset position: the last row of the previous page (occurred_at, id);
// the next page holds rows strictly older in (occurred_at DESC, id DESC).
struct ReportCursor {
  core::Timestamp occurredAt{};
  std::string id;
};

struct ReportQuery {
  std::optional<BoundingBox> bbox;
  std::optional<NearQuery> near;
  std::optional<core::Timestamp> since;  // inclusive
  std::optional<core::Timestamp> until;  // exclusive
  std::vector<std::string> categories;   // empty: all
  std::optional<std::string> source;
  std::optional<std::string> city;       // a city id of GET /v1/cities (reports.city)
  int limit = 100;
  std::optional<ReportCursor> cursor;
};

inline constexpr int kMaxReportLimit = 500;
inline constexpr double kMaxNearRadiusM = 50000;

// Parses bbox=minLon,minLat,maxLon,maxLat | near=lat,lon&radius=m, since,
// until (RFC 3339), category=a,b, source, city (a city id: a lower-case
// slug; the service checks it against GET /v1/cities), limit (1..500), cursor. Unknown
// parameters are rejected (a typo must not silently return everything).
core::Result<ReportQuery> parseReportQuery(const std::map<std::string, std::string>& params);

// One SQL statement with $1.. placeholders and their values (all text;
// PostgreSQL casts them). Nothing from a request is ever spliced into the
// text: only placeholders, column names and constants chosen here.
struct SqlStatement {
  std::string text;
  std::vector<std::string> params;
};

// GET /v1/reports as SQL: non-duplicates matching `q`, newest first, limit + 1
// rows (the extra one says a next page exists); keys found on the map index
// first, then those rows read (see the .cc). `lowerBound` adds
// occurred_at >= it (the store's widening search windows), `upperBound`
// occurred_at < it (the store's horizon when the search has no upper end).
// Columns: id,
// source, category, severity, description, occurred_at ms, reported_at ms,
// lat, lon, address, neighbourhood, time_zone[, distance_m for near=].
SqlStatement reportSearchSql(const ReportQuery& q, std::optional<core::Timestamp> lowerBound = std::nullopt,
                             std::optional<core::Timestamp> upperBound = std::nullopt);
// The same answer found area first, for a place with few reports: the keys
// of the reports in the level-16 cell id ranges covering the bbox / circle
// (api/s2_cells.h; inclusive, as stored in cell_l16), then the newest
// limit + 1 of them. Time first, an empty place made PostgreSQL read every
// entry of the time index (1.2 s on 1,000,000 rows).
SqlStatement reportAreaSearchSql(const ReportQuery& q, const std::vector<std::pair<std::int64_t, std::int64_t>>& cellRanges,
                                 std::optional<core::Timestamp> upperBound = std::nullopt);

// A canonical text of the search (same filters, limit and cursor: same key),
// for reusing answers. The client snaps the map's bbox and `since` to a grid
// (web/src/js/basemap.js) so that many visitors ask the same question.
std::string reportsCacheKey(const ReportQuery& q);

std::string encodeCursor(const ReportCursor& c);
std::optional<ReportCursor> decodeCursor(std::string_view text);

// What the public API shows of a report: never contact or the raw record.
struct PublicReport {
  std::string id;
  std::string source;
  std::string category;
  int severity = 1;
  std::string description;
  core::Timestamp occurredAt{};
  core::Timestamp reportedAt{};
  std::optional<double> lat, lon;
  std::optional<std::string> address;
  std::optional<std::string> neighbourhood;
  std::optional<std::string> timeZone;
  std::optional<double> distanceM;  // near= queries
};

struct ReportPage {
  std::vector<PublicReport> reports;
  std::optional<std::string> nextCursor;
};

std::string reportToJson(const PublicReport& r);
// {"reports":[...],"next_cursor":...}
std::string pageToJson(const ReportPage& page);
// GeoJSON Feature / FeatureCollection (RFC 7946: [lon, lat]); reports
// without a location get "geometry": null.
std::string reportToGeoJson(const PublicReport& r);
std::string pageToGeoJson(const ReportPage& page);

// Bounding box around a circle, used as an index-friendly prefilter before
// the exact distance check.
BoundingBox boxAround(const NearQuery& near);

}  // namespace safestream::api
