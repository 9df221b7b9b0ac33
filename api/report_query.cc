#include "api/report_query.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "api/citizen_report.h"
#include "api/http_types.h"
#include "core/cities.h"
#include "core/report_codec.h"
#include "core/report_id.h"

namespace safestream::api {

using core::makeError;

namespace {

bool parseDouble(std::string_view s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  std::string copy(s);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size() && std::isfinite(out);
}

std::vector<std::string_view> splitComma(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    auto c = s.find(',', pos);
    out.push_back(s.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos));
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

core::Result<ReportQuery> parseReportQuery(const std::map<std::string, std::string>& params) {
  static const std::set<std::string> kKnown = {"bbox", "near", "radius", "since", "until", "category",
                                               "source", "city", "limit", "cursor"};
  for (const auto& [k, _] : params) {
    if (!kKnown.count(k)) return makeError("unknown_parameter", "unknown query parameter '" + k.substr(0, 40) + "'", k.substr(0, 40));
  }
  ReportQuery q;
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };
  if (get("bbox") && get("near")) return makeError("invalid_parameter", "give bbox or near, not both", "bbox");
  if (auto b = get("bbox")) {
    auto parts = splitComma(*b);
    BoundingBox box;
    if (parts.size() != 4 || !parseDouble(parts[0], box.minLon) || !parseDouble(parts[1], box.minLat) ||
        !parseDouble(parts[2], box.maxLon) || !parseDouble(parts[3], box.maxLat)) {
      return makeError("invalid_parameter", "bbox must be minLon,minLat,maxLon,maxLat", "bbox");
    }
    if (box.minLat < -90 || box.maxLat > 90 || box.minLon < -180 || box.maxLon > 180 || box.minLat > box.maxLat ||
        box.minLon > box.maxLon) {
      return makeError("invalid_parameter", "bbox is outside -180..180/-90..90 or its minimum exceeds its maximum", "bbox");
    }
    q.bbox = box;
  }
  if (auto n = get("near")) {
    auto parts = splitComma(*n);
    NearQuery near;
    if (parts.size() != 2 || !parseDouble(parts[0], near.lat) || !parseDouble(parts[1], near.lon)) {
      return makeError("invalid_parameter", "near must be lat,lon", "near");
    }
    if (near.lat < -90 || near.lat > 90 || near.lon < -180 || near.lon > 180) {
      return makeError("invalid_parameter", "near must be lat from -90 to 90 and lon from -180 to 180", "near");
    }
    if (auto r = get("radius")) {
      if (!parseDouble(*r, near.radiusM) || near.radiusM <= 0 || near.radiusM > kMaxNearRadiusM) {
        return makeError("invalid_parameter", "radius must be metres, more than 0 and at most 50000", "radius");
      }
    }
    q.near = near;
  } else if (get("radius")) {
    return makeError("invalid_parameter", "radius needs near=lat,lon", "radius");
  }
  for (const char* key : {"since", "until"}) {
    if (auto t = get(key)) {
      auto ts = core::parseTimestamp(*t);
      if (!ts) return makeError("invalid_parameter", std::string(key) + " must be an RFC 3339 time with an offset", key);
      (std::string_view(key) == "since" ? q.since : q.until) = *ts;
    }
  }
  if (q.since && q.until && *q.since >= *q.until) return makeError("invalid_parameter", "since must be before until", "since");
  if (auto c = get("category")) {
    for (auto part : splitComma(*c)) {
      if (!isCitizenCategory(part)) return makeError("invalid_parameter", "unknown category '" + std::string(part.substr(0, 40)) + "'", "category");
      q.categories.emplace_back(part);
    }
  }
  if (auto s = get("source")) {
    if (!core::isSourceName(*s)) {
      return makeError("invalid_parameter", "source must be a source name such as chicago or csv:new-york", "source");
    }
    q.source = *s;
  }
  if (auto c = get("city")) {
    if (!core::isCitySlug(*c)) return makeError("invalid_parameter", "city must be a city id from GET /v1/cities", "city");
    q.city = *c;
  }
  if (auto l = get("limit")) {
    int v = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || p != l->data() + l->size() || v < 1 || v > kMaxReportLimit) {
      return makeError("invalid_parameter", "limit must be an integer from 1 to 500", "limit");
    }
    q.limit = v;
  }
  if (auto c = get("cursor")) {
    auto cur = decodeCursor(*c);
    if (!cur) return makeError("invalid_parameter", "cursor is not one this API returned", "cursor");
    q.cursor = *cur;
  }
  return q;
}

namespace {
// Placeholders in text order (never inside one + chain, whose operands are
// evaluated in no set order).
struct Params {
  std::vector<std::string> values;
  std::string add(std::string v) {
    values.push_back(std::move(v));
    return "$" + std::to_string(values.size());
  }
};
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

namespace {

// The parts of both search shapes: the WHERE of the key step, the time
// bounds again for the row step, the row step's columns.
struct SearchParts {
  Params p;
  std::string where, rowBounds, select;
};

SearchParts searchParts(const ReportQuery& q, std::optional<core::Timestamp> lowerBound,
                        std::optional<core::Timestamp> upperBound) {
  SearchParts out;
  Params& p = out.p;
  // Two steps. The inner query finds the keys of the newest matches using
  // only columns of an index: reports_map_idx (schemas/sql/0712: (occurred_at,
  // id) INCLUDE (lat, lon, category, source, city) WHERE duplicate_of IS NULL),
  // time first, so PostgreSQL answers it with a backward index-only scan
  // that tests the area on the index entries and stops at limit + 1; or
  // reports_map_cell_idx (0713: the same by cell_l16), area first. The
  // outer query then reads just those rows by primary key. Reading each
  // candidate row to test its lat/lon cost ~1,600 heap pages for the 101
  // newest downtown reports of 1,000,000.
  std::string& where = out.where;
  where = " WHERE duplicate_of IS NULL";
  std::string latP, lonP;
  if (q.near) {
    latP = p.add(exact(q.near->lat)) + "::float8";
    lonP = p.add(exact(q.near->lon)) + "::float8";
  }
  // core::distanceMetres in SQL (the radius is core::kEarthRadiusMetres).
  auto distance = [&](const std::string& t) {
    return "(2 * 6371008.8 * asin(least(1, sqrt(power(sin(radians(" + t + "lat - " + latP + ") / 2), 2) + cos(radians(" +
           latP + ")) * cos(radians(" + t + "lat)) * power(sin(radians(" + t + "lon - " + lonP + ") / 2), 2)))))";
  };
  if (q.near) {
    // Bounding box first (cheap on the index entry), then the exact distance.
    const auto box = boxAround(*q.near);
    const std::string s = p.add(exact(box.minLat)), n = p.add(exact(box.maxLat));
    const std::string w = p.add(exact(box.minLon)), e = p.add(exact(box.maxLon));
    const std::string r = p.add(exact(q.near->radiusM));
    where += " AND lat BETWEEN " + s + "::float8 AND " + n + "::float8 AND lon BETWEEN " + w + "::float8 AND " + e +
             "::float8 AND " + distance("") + " <= " + r + "::float8";
  }
  if (q.bbox) {
    const std::string s = p.add(exact(q.bbox->minLat)), n = p.add(exact(q.bbox->maxLat));
    const std::string w = p.add(exact(q.bbox->minLon)), e = p.add(exact(q.bbox->maxLon));
    where += " AND lat BETWEEN " + s + "::float8 AND " + n + "::float8 AND lon BETWEEN " + w + "::float8 AND " + e + "::float8";
  }
  // The time bounds go on both steps: PostgreSQL prunes the monthly
  // partitions of each side at plan time only from the side's own
  // conditions. Without them on the row look-up, every request planned all
  // ~30 partitions there (61 ms of planning against 1 ms of execution,
  // measured on a fresh connection; 1 ms against 0.6 ms on a warm one).
  std::vector<std::string> bounds;  // "<op> $n::timestamptz"
  if (q.since) bounds.push_back(">= " + p.add(core::formatTimestamp(*q.since)) + "::timestamptz");
  if (lowerBound) bounds.push_back(">= " + p.add(core::formatTimestamp(*lowerBound)) + "::timestamptz");
  if (q.until) bounds.push_back("< " + p.add(core::formatTimestamp(*q.until)) + "::timestamptz");
  if (upperBound) bounds.push_back("< " + p.add(core::formatTimestamp(*upperBound)) + "::timestamptz");
  if (!q.categories.empty()) {
    // Taxonomy words ([a-z-]), validated by parseReportQuery: a plain array literal.
    std::string list;
    for (const auto& cat : q.categories) list += (list.empty() ? "" : ",") + cat;
    where += " AND category = ANY(" + p.add("{" + list + "}") + "::text[])";
  }
  if (q.source) where += " AND source = " + p.add(*q.source);
  if (q.city) where += " AND city = " + p.add(*q.city);
  if (q.cursor) {
    const std::string at = p.add(core::formatTimestamp(q.cursor->occurredAt));
    const std::string id = p.add(q.cursor->id);
    where += " AND (occurred_at, id) < (" + at + "::timestamptz, " + id + "::uuid)";
    bounds.push_back("<= " + at + "::timestamptz");
  }
  std::string& rowBounds = out.rowBounds;
  for (const auto& b : bounds) {
    where += " AND occurred_at " + b;
    rowBounds += " AND r.occurred_at " + b;
  }
  std::string& sql = out.select;
  sql = "SELECT r.id::text, r.source, r.category, r.severity, r.description, "
        "(extract(epoch from r.occurred_at) * 1000)::bigint, (extract(epoch from r.reported_at) * 1000)::bigint, "
        "r.lat, r.lon, r.address, r.neighbourhood, r.time_zone";
  if (q.near) sql += ", " + distance("r.") + " AS distance_m";
  return out;
}

std::string rowStep(const SearchParts& parts) {
  return ") k JOIN reports r ON r.id = k.id AND r.occurred_at = k.occurred_at" + parts.rowBounds +
         " ORDER BY k.occurred_at DESC, k.id DESC";
}

}  // namespace

SqlStatement reportSearchSql(const ReportQuery& q, std::optional<core::Timestamp> lowerBound,
                             std::optional<core::Timestamp> upperBound) {
  SearchParts parts = searchParts(q, lowerBound, upperBound);
  std::string sql = parts.select + " FROM (SELECT id, occurred_at FROM reports" + parts.where +
                    " ORDER BY occurred_at DESC, id DESC LIMIT " + std::to_string(q.limit + 1) + rowStep(parts);
  return SqlStatement{std::move(sql), std::move(parts.p.values)};
}

SqlStatement reportAreaSearchSql(const ReportQuery& q, const std::vector<std::pair<std::int64_t, std::int64_t>>& cellRanges,
                                 std::optional<core::Timestamp> upperBound) {
  SearchParts parts = searchParts(q, std::nullopt, upperBound);
  std::string branches;
  for (const auto& [lo, hi] : cellRanges) {
    const std::string a = parts.p.add(std::to_string(lo));
    const std::string b = parts.p.add(std::to_string(hi));
    branches += std::string(branches.empty() ? "" : " UNION ALL ") + "SELECT id, occurred_at FROM reports" + parts.where +
                " AND cell_l16 BETWEEN " + a + "::bigint AND " + b + "::bigint";
  }
  // Rows written without cells (the processor always sets them; other
  // writers may not) are still found: IS NULL is a range of the same index.
  branches += std::string(branches.empty() ? "" : " UNION ALL ") + "SELECT id, occurred_at FROM reports" + parts.where +
              " AND cell_l16 IS NULL";
  std::string sql = parts.select + " FROM (SELECT id, occurred_at FROM (" + branches +
                    ") u ORDER BY occurred_at DESC, id DESC LIMIT " + std::to_string(q.limit + 1) + rowStep(parts);
  return SqlStatement{std::move(sql), std::move(parts.p.values)};
}

std::string reportsCacheKey(const ReportQuery& q) {
  const auto sql = reportSearchSql(q);
  std::string key = sql.text;
  for (const auto& p : sql.params) key += "\n" + p;
  return key;
}

std::string encodeCursor(const ReportCursor& c) { return std::to_string(core::toEpochMillis(c.occurredAt)) + "_" + c.id; }

std::optional<ReportCursor> decodeCursor(std::string_view text) {
  auto us = text.find('_');
  if (us == std::string_view::npos || us == 0 || us > 16) return std::nullopt;
  long long ms = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + us, ms);
  if (ec != std::errc() || p != text.data() + us) return std::nullopt;
  auto id = text.substr(us + 1);
  if (!core::isUuid(id)) return std::nullopt;
  return ReportCursor{core::fromEpochMillis(ms), std::string(id)};
}

namespace {
std::string optString(const std::optional<std::string>& s) { return s ? jsonString(*s) : "null"; }
std::string properties(const PublicReport& r, bool withLocation) {
  std::string out = "\"id\":" + jsonString(r.id) + ",\"source\":" + jsonString(r.source) +
                    ",\"category\":" + jsonString(r.category) + ",\"severity\":" + std::to_string(r.severity) +
                    ",\"description\":" + jsonString(r.description) +
                    ",\"occurred_at\":" + jsonString(core::formatTimestamp(r.occurredAt)) +
                    ",\"reported_at\":" + jsonString(core::formatTimestamp(r.reportedAt));
  if (withLocation) {
    out += ",\"lat\":" + (r.lat ? number(*r.lat) : "null") + ",\"lon\":" + (r.lon ? number(*r.lon) : "null");
  }
  out += ",\"address\":" + optString(r.address) + ",\"neighbourhood\":" + optString(r.neighbourhood) +
         ",\"time_zone\":" + optString(r.timeZone);
  if (r.distanceM) out += ",\"distance_m\":" + number(std::round(*r.distanceM * 10) / 10);
  out += ",\"url\":" + jsonString("/v1/reports/" + r.id);
  return out;
}
}  // namespace

std::string reportToJson(const PublicReport& r) { return "{" + properties(r, true) + "}"; }

std::string pageToJson(const ReportPage& page) {
  std::string out = "{\"reports\":[";
  for (std::size_t i = 0; i < page.reports.size(); ++i) out += (i ? "," : "") + reportToJson(page.reports[i]);
  out += "],\"next_cursor\":" + optString(page.nextCursor) + "}";
  return out;
}

std::string reportToGeoJson(const PublicReport& r) {
  std::string geometry = (r.lat && r.lon)
                             ? "{\"type\":\"Point\",\"coordinates\":[" + number(*r.lon) + "," + number(*r.lat) + "]}"
                             : "null";
  return "{\"type\":\"Feature\",\"id\":" + jsonString(r.id) + ",\"geometry\":" + geometry + ",\"properties\":{" +
         properties(r, false) + "}}";
}

std::string pageToGeoJson(const ReportPage& page) {
  std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
  for (std::size_t i = 0; i < page.reports.size(); ++i) out += (i ? "," : "") + reportToGeoJson(page.reports[i]);
  out += "],\"next_cursor\":" + optString(page.nextCursor) + "}";
  return out;
}

BoundingBox boxAround(const NearQuery& n) {
  // Slightly fewer metres per degree than the sphere has (111,195), so the box
  // always contains the whole circle.
  constexpr double kMetresPerDegree = 111000.0;
  const double dLat = n.radiusM / kMetresPerDegree;
  const double cosLat = std::max(0.01, std::cos(n.lat * M_PI / 180));
  const double dLon = std::min(180.0, n.radiusM / (kMetresPerDegree * cosLat));
  return BoundingBox{std::max(-180.0, n.lon - dLon), std::max(-90.0, n.lat - dLat), std::min(180.0, n.lon + dLon),
                     std::min(90.0, n.lat + dLat)};
}

}  // namespace safestream::api
