#include "api/stats_query.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "api/citizen_report.h"
#include "api/http_types.h"
#include "api/s2_cells.h"
#include "core/report_codec.h"

namespace safestream::api {

using core::makeError;

namespace {

constexpr const char* kKindNames[] = {"heatmap", "trends", "neighbourhoods", "categories", "hours", "change"};

bool parseNumber(std::string_view s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  std::string copy(s);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size() && std::isfinite(out);
}

std::vector<std::string_view> splitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    auto c = s.find(sep, pos);
    out.push_back(s.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos));
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  return out;
}

bool isSlug(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '-' || s.back() == '-') return false;
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// Calendar arithmetic on UTC dates: the same instant one year earlier
// (29 February becomes 28 February).
core::Timestamp minusOneYear(core::Timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const auto timeOfDay = t - day;
  year_month_day ymd{day};
  year_month_day back{ymd.year() - years(1), ymd.month(), ymd.day()};
  if (!back.ok()) back = year_month_day{year_month_day_last{back.year(), month_day_last{back.month()}}};
  return time_point_cast<milliseconds>(sys_days(back) + timeOfDay);
}

class SqlBuilder {
 public:
  std::string param(std::string value) {
    params_.push_back(std::move(value));
    return "$" + std::to_string(params_.size());
  }
  std::vector<std::string> take() { return std::move(params_); }

 private:
  std::vector<std::string> params_;
};

// WHERE clause of everything but the time window, which each statistic
// places itself (neighbourhoods and change read two windows).
std::string whereFilters(const StatsFilter& f, SqlBuilder& b) {
  std::string w = "duplicate_of IS NULL";
  if (!f.categories.empty()) {
    // Category names are taxonomy words ([a-z_-]), so the array literal needs no quoting.
    std::string list = "{";
    for (std::size_t i = 0; i < f.categories.size(); ++i) list += (i ? "," : "") + f.categories[i];
    w += " AND category = ANY(" + b.param(list + "}") + "::text[])";
  }
  if (f.source) w += " AND source = " + b.param(*f.source);
  if (f.city) w += " AND city = " + b.param(*f.city);
  if (f.neighbourhood) w += " AND neighbourhood = " + b.param(*f.neighbourhood);
  if (f.bbox) {
    // Placeholders numbered in text order (the operands of one + chain are evaluated in no set order).
    const auto s = b.param(number(f.bbox->minLat)), n = b.param(number(f.bbox->maxLat));
    const auto west = b.param(number(f.bbox->minLon)), east = b.param(number(f.bbox->maxLon));
    w += " AND lat BETWEEN " + s + "::float8 AND " + n + "::float8 AND lon BETWEEN " + west + "::float8 AND " + east +
         "::float8";
  }
  return w;
}

// Appends the time window to `where`.
void window(std::string& where, std::optional<core::Timestamp> since, std::optional<core::Timestamp> until, SqlBuilder& b) {
  if (since) where += " AND occurred_at >= " + b.param(core::formatTimestamp(*since)) + "::timestamptz";
  if (until) where += " AND occurred_at < " + b.param(core::formatTimestamp(*until)) + "::timestamptz";
}

std::string changeJson(long long current, long long previous) {
  auto c = relativeChange(current, previous);
  if (!c) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", *c);
  // "0.2500" -> "0.25"; "-1.0000" -> "-1"
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// ---- The day counts (schemas/sql/0720_report_day_counts.sql) --------------
// categories, trends, hours and change over a city (or everything), with
// category and source filters, are answered from report_day_counts: the
// local days wholly inside the asked window come from its rows, and the
// reports of the (at most two) days the window cuts through are counted
// from reports itself. Neighbourhood and bbox filters are not in those rows,
// so such questions (and the heatmap and neighbourhoods) read reports.

bool fromDayCounts(const StatsRequest& r) {
  switch (r.kind) {
    case StatsKind::categories:
    case StatsKind::trends:
    case StatsKind::hours:
    case StatsKind::change:
      return !r.filter.neighbourhood && !r.filter.bbox;
    case StatsKind::heatmap:
    case StatsKind::neighbourhoods:
      return false;
  }
  return false;
}

constexpr const char* kLocalZone = "coalesce(time_zone, 'UTC')";

// A window [since, until) (either end may be open) as its placeholders.
struct Window {
  std::optional<core::Timestamp> since, until;
  std::string sinceP, untilP;  // "$n::timestamptz" or empty
};

Window windowOf(std::optional<core::Timestamp> since, std::optional<core::Timestamp> until, SqlBuilder& b) {
  Window w{since, until, "", ""};
  if (since) w.sinceP = b.param(core::formatTimestamp(*since)) + "::timestamptz";
  if (until) w.untilP = b.param(core::formatTimestamp(*until)) + "::timestamptz";
  return w;
}

// The filters of report_day_counts rows (alias c) whose whole day lies in `w`.
std::string dayRowsWhere(const StatsFilter& f, const Window& w, SqlBuilder& b) {
  std::string out = "true";
  if (!f.categories.empty()) {
    std::string list = "{";
    for (std::size_t i = 0; i < f.categories.size(); ++i) list += (i ? "," : "") + f.categories[i];
    out += " AND c.category = ANY(" + b.param(list + "}") + "::text[])";
  }
  if (f.source) out += " AND c.source = " + b.param(*f.source);
  if (f.city) out += " AND c.city = " + b.param(*f.city);
  // The UTC dates first (index-friendly; a local day starts within 14 h of
  // its UTC date), then the exact test in the row's zone.
  if (w.since) {
    out += " AND c.day >= (" + w.sinceP + " AT TIME ZONE 'UTC')::date - 1 AND (c.day::timestamp AT TIME ZONE c.time_zone) >= " +
           w.sinceP;
  }
  if (w.until) {
    out += " AND c.day <= (" + w.untilP + " AT TIME ZONE 'UTC')::date + 1 AND ((c.day + 1)::timestamp AT TIME ZONE c.time_zone) <= " +
           w.untilP;
  }
  return out;
}

// The reports of `w` whose local day is not wholly inside it (the days the
// window cuts through), or "" when every day is whole (no ends). A local day
// is at most 25 h long, so those reports lie within 26 h of an end: the
// store reads two short time ranges, pruned to their partitions.
std::string cutDayRowsWhere(const StatsFilter& f, const Window& w, SqlBuilder& b) {
  if (!w.since && !w.until) return "";
  constexpr auto kEdge = std::chrono::hours(26);
  std::vector<std::pair<std::optional<core::Timestamp>, std::optional<core::Timestamp>>> ranges;
  if (w.since && w.until) {
    const auto firstEnd = std::min(*w.since + kEdge, *w.until);
    ranges.emplace_back(*w.since, firstEnd);
    const auto lastStart = std::max(*w.until - kEdge, firstEnd);
    if (lastStart < *w.until) ranges.emplace_back(lastStart, *w.until);
  } else if (w.since) {
    ranges.emplace_back(*w.since, *w.since + kEdge);
  } else {
    ranges.emplace_back(*w.until - kEdge, *w.until);
  }
  std::string out = whereFilters(f, b) + " AND (";
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto lo = b.param(core::formatTimestamp(*ranges[i].first));
    const auto hi = b.param(core::formatTimestamp(*ranges[i].second));
    out += std::string(i ? " OR " : "") + "(occurred_at >= " + lo + "::timestamptz AND occurred_at < " + hi + "::timestamptz)";
  }
  out += ")";
  const std::string localDay = std::string("(occurred_at AT TIME ZONE ") + kLocalZone + ")::date";
  std::string whole;
  if (w.since) whole += "(" + localDay + "::timestamp AT TIME ZONE " + kLocalZone + ") >= " + w.sinceP;
  if (w.until) {
    whole += std::string(whole.empty() ? "" : " AND ") + "((" + localDay + " + 1)::timestamp AT TIME ZONE " + kLocalZone +
             ") <= " + w.untilP;
  }
  return out + " AND NOT (" + whole + ")";
}

SqlStatement dayCountsSql(const StatsRequest& r) {
  SqlBuilder b;
  const StatsFilter& f = r.filter;
  std::string sql;
  // Each part yields (key..., n); the outer query adds them up.
  auto parts = [&](const Window& w, const std::string& dayKeys, const std::string& dayCount, const std::string& rowKeys,
                   const std::string& groupBy) {
    std::string out = "SELECT " + dayKeys + ", " + dayCount + " FROM report_day_counts c WHERE " + dayRowsWhere(f, w, b) +
                      groupBy;
    const std::string cut = cutDayRowsWhere(f, w, b);
    if (!cut.empty()) {
      out += " UNION ALL SELECT " + rowKeys + ", count(*) FROM reports WHERE " + cut + groupBy;
    }
    return out;
  };
  switch (r.kind) {
    case StatsKind::categories: {
      const Window w = windowOf(f.since, f.until, b);
      sql = "SELECT k, sum(n)::bigint FROM (" + parts(w, "c.category AS k", "sum(c.n) AS n", "category", " GROUP BY 1") +
            ") x GROUP BY 1 HAVING sum(n) > 0 ORDER BY 2 DESC, 1";
      break;
    }
    case StatsKind::trends: {
      const char* unit = r.interval == TrendInterval::month ? "month" : "year";
      const char* format = r.interval == TrendInterval::month ? "YYYY-MM" : "YYYY";
      const Window w = windowOf(f.since, f.until, b);
      const std::string dayKey = std::string("to_char(c.day, '") + format + "') AS k";
      const std::string rowKey = std::string("to_char(date_trunc('") + unit + "', occurred_at AT TIME ZONE " + kLocalZone +
                                 "), '" + format + "')";
      sql = "SELECT k, sum(n)::bigint FROM (" + parts(w, dayKey, "sum(c.n) AS n", rowKey, " GROUP BY 1") +
            ") x GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1";
      break;
    }
    case StatsKind::hours: {
      const Window w = windowOf(f.since, f.until, b);
      // Summed per weekday first (7 rows), then one row per hour.
      std::string sums, values;
      for (int h = 0; h < 24; ++h) {
        char col[8];
        std::snprintf(col, sizeof col, "h%02d", h);
        sums += std::string(", sum(") + col + ") AS " + col;
        values += std::string(h ? ", " : "") + "(" + std::to_string(h) + ", d." + col + ")";
      }
      std::string day = "SELECT d.weekday - 1 AS weekday, v.hour, v.n FROM (SELECT c.weekday" + sums +
                        " FROM report_day_counts c WHERE " + dayRowsWhere(f, w, b) +
                        " AND c.weekday BETWEEN 1 AND 7 GROUP BY 1) d CROSS JOIN LATERAL (VALUES " + values + ") v(hour, n)";
      const std::string cut = cutDayRowsWhere(f, w, b);
      if (!cut.empty()) {
        day += " UNION ALL SELECT local_weekday - 1, local_hour, count(*) FROM reports WHERE " + cut +
               " AND local_hour IS NOT NULL AND local_weekday BETWEEN 1 AND 7 GROUP BY 1, 2";
      }
      sql = "SELECT weekday, hour, sum(n)::bigint FROM (" + day + ") x GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 1, 2";
      break;
    }
    case StatsKind::change: {
      const Window current = windowOf(f.since, f.until, b);
      const Window previous = windowOf(r.previousSince, r.previousUntil, b);
      const std::string now = parts(current, "c.category AS k", "sum(c.n) AS n", "category", " GROUP BY 1");
      const std::string before = parts(previous, "c.category AS k", "sum(c.n) AS n", "category", " GROUP BY 1");
      sql = "SELECT k, coalesce(sum(n) FILTER (WHERE w = 0), 0)::bigint AS n, "
            "coalesce(sum(n) FILTER (WHERE w = 1), 0)::bigint AS previous FROM (SELECT 0 AS w, * FROM (" + now +
            ") a UNION ALL SELECT 1, * FROM (" + before + ") p) x GROUP BY 1 HAVING coalesce(sum(n) FILTER (WHERE w = 0), 0) > 0 OR coalesce(sum(n) FILTER (WHERE w = 1), 0) > 0 "
            "ORDER BY 2 DESC, 3 DESC, 1";
      break;
    }
    case StatsKind::heatmap:
    case StatsKind::neighbourhoods:
      break;
  }
  return SqlStatement{std::move(sql), b.take()};
}

}  // namespace

void withCellCentres(std::vector<StatsRow>& rows) {
  for (auto& row : rows) {
    long long signedId = 0;
    std::from_chars(row.key.data(), row.key.data() + row.key.size(), signedId);
    const auto centre = cellCentre(static_cast<std::uint64_t>(signedId));
    row.lat = centre.lat;
    row.lon = centre.lon;
  }
}

std::optional<double> relativeChange(long long current, long long previous) {
  if (previous == 0) return std::nullopt;
  return static_cast<double>(current - previous) / static_cast<double>(previous);
}

int heatmapLevelFor(const BoundingBox& box) {
  // Average S2 cell edge: about 1.22 km at level 13, halving per level.
  constexpr double kEdgeKmAtLevel13 = 1.22;
  const double midLat = (box.minLat + box.maxLat) / 2 * M_PI / 180;
  const double widthKm = (box.maxLon - box.minLon) * 111.2 * std::max(0.01, std::cos(midLat));
  const double heightKm = (box.maxLat - box.minLat) * 111.2;
  const double side = std::max({widthKm, heightKm, 0.001});
  const double level = 13 + std::log2(kEdgeKmAtLevel13 * 64 / side);
  return std::clamp(static_cast<int>(std::floor(level)), kMinHeatmapLevel, kMaxHeatmapLevel);
}

core::Result<StatsRequest> parseStatsRequest(StatsKind kind, std::string_view query, core::Timestamp now,
                                             const StatsCityLookup& cities) {
  std::set<std::string> known = {"since", "until", "category", "source", "city", "neighbourhood", "bbox"};
  if (kind == StatsKind::heatmap) known.insert("level");
  if (kind == StatsKind::trends) known.insert("interval");
  if (kind == StatsKind::neighbourhoods) known.insert("limit");

  // Decoded pairs in order; category may repeat, every other key may not.
  std::map<std::string, std::string> params;
  StatsRequest r;
  r.kind = kind;
  if (!query.empty()) {
    for (auto pair : splitOn(query, '&')) {
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      std::string key, value;
      if (!percentDecode(pair.substr(0, eq), key, true) ||
          !percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), value, true)) {
        return makeError("invalid_parameter", "malformed query string near '" + std::string(pair.substr(0, 40)) + "'");
      }
      if (!known.count(key)) {
        return makeError("unknown_parameter",
                         "unknown query parameter '" + key.substr(0, 40) + "' for /v1/stats/" + kKindNames[static_cast<int>(kind)],
                         key.substr(0, 40));
      }
      if (key == "category") {
        for (auto part : splitOn(value, ',')) {
          if (!isCitizenCategory(part)) {
            return makeError("invalid_parameter", "unknown category '" + std::string(part.substr(0, 40)) + "'", "category");
          }
          if (std::find(r.filter.categories.begin(), r.filter.categories.end(), part) == r.filter.categories.end()) {
            r.filter.categories.emplace_back(part);
          }
        }
        continue;
      }
      if (params.count(key)) return makeError("invalid_parameter", key + " is given more than once", key);
      params[key] = value;
    }
  }
  std::sort(r.filter.categories.begin(), r.filter.categories.end());
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };

  for (const char* key : {"since", "until"}) {
    if (auto t = get(key)) {
      auto ts = core::parseTimestamp(*t);
      if (!ts) return makeError("invalid_parameter", std::string(key) + " must be an RFC 3339 time with an offset", key);
      (std::string_view(key) == "since" ? r.filter.since : r.filter.until) = *ts;
    }
  }
  if (r.filter.since && r.filter.until && *r.filter.since >= *r.filter.until) {
    return makeError("invalid_parameter", "since must be before until", "since");
  }
  if (auto s = get("source")) {
    if (!core::isSourceName(*s)) {
      return makeError("invalid_parameter", "source must be a source name such as chicago or csv:new-york", "source");
    }
    r.filter.source = *s;
  }
  std::optional<StatsCity> city;
  if (auto c = get("city")) {
    if (!isSlug(*c)) return makeError("invalid_parameter", "city must be a city id like chicago or los-angeles", "city");
    if (cities) {
      city = cities(*c);
      if (!city) return makeError("invalid_parameter", "unknown city '" + c->substr(0, 64) + "' (GET /v1/cities lists them)", "city");
    }
    r.filter.city = *c;
  }
  if (auto n = get("neighbourhood")) {
    if (!r.filter.city) return makeError("invalid_parameter", "neighbourhood needs city= (names repeat across cities)", "neighbourhood");
    if (n->empty() || n->size() > 200) return makeError("invalid_parameter", "neighbourhood must be a name from GET /v1/cities", "neighbourhood");
    for (unsigned char ch : *n) {
      if (ch < 0x20 || ch == 0x7f) return makeError("invalid_parameter", "neighbourhood holds a control character", "neighbourhood");
    }
    std::string name = *n;
    if (city) {
      // The boundary files' spelling (upper case in the shipped ones), whatever case was asked for.
      auto it = std::find_if(city->neighbourhoods.begin(), city->neighbourhoods.end(),
                             [&](const std::string& h) { return upper(h) == upper(name); });
      if (it == city->neighbourhoods.end()) {
        return makeError("invalid_parameter", "city " + *r.filter.city + " has no neighbourhood '" + name.substr(0, 80) + "'",
                         "neighbourhood");
      }
      name = *it;
    }
    r.filter.neighbourhood = name;
  }
  if (auto b = get("bbox")) {
    auto parts = splitOn(*b, ',');
    BoundingBox box;
    if (parts.size() != 4 || !parseNumber(parts[0], box.minLon) || !parseNumber(parts[1], box.minLat) ||
        !parseNumber(parts[2], box.maxLon) || !parseNumber(parts[3], box.maxLat)) {
      return makeError("invalid_parameter", "bbox must be west,south,east,north in degrees", "bbox");
    }
    if (box.minLat < -90 || box.maxLat > 90 || box.minLon < -180 || box.maxLon > 180 || box.minLat > box.maxLat ||
        box.minLon > box.maxLon) {
      return makeError("invalid_parameter", "bbox is outside -180..180/-90..90 or its minimum exceeds its maximum", "bbox");
    }
    r.filter.bbox = box;
  }

  if (kind == StatsKind::heatmap) {
    if (auto l = get("level")) {
      int v = 0;
      auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
      if (ec != std::errc() || p != l->data() + l->size() || v < kMinHeatmapLevel || v > kMaxHeatmapLevel) {
        return makeError("invalid_parameter", "level must be an integer from 6 to 16", "level");
      }
      r.level = v;
    } else if (r.filter.bbox) {
      r.level = heatmapLevelFor(*r.filter.bbox);
    } else if (city) {
      r.level = heatmapLevelFor(city->bbox);
    } else {
      r.level = 10;
    }
  }
  if (kind == StatsKind::trends) {
    if (auto i = get("interval")) {
      if (*i == "month") r.interval = TrendInterval::month;
      else if (*i == "year") r.interval = TrendInterval::year;
      else return makeError("invalid_parameter", "interval must be month or year", "interval");
    }
  }
  if (kind == StatsKind::neighbourhoods) {
    if (auto l = get("limit")) {
      int v = 0;
      auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
      if (ec != std::errc() || p != l->data() + l->size() || v < 1 || v > kMaxNeighbourhoodLimit) {
        return makeError("invalid_parameter", "limit must be an integer from 1 to 500", "limit");
      }
      r.limit = v;
    }
  }
  if (kind == StatsKind::neighbourhoods || kind == StatsKind::change) {
    // Both compare two windows, so both ends must be known: the default is the last 365 days.
    // (now to the minute, so the same default asked twice is the same question)
    if (!r.filter.until) r.filter.until = std::chrono::floor<std::chrono::minutes>(now);
    if (!r.filter.since) r.filter.since = *r.filter.until - std::chrono::hours(24 * 365);
    if (*r.filter.since >= *r.filter.until) return makeError("invalid_parameter", "since must be before until", "since");
    if (kind == StatsKind::neighbourhoods) {
      r.previousUntil = *r.filter.since;
      r.previousSince = *r.filter.since - (*r.filter.until - *r.filter.since);
    } else {
      r.previousSince = minusOneYear(*r.filter.since);
      r.previousUntil = minusOneYear(*r.filter.until);
    }
  }
  return r;
}

bool usesDayCounts(const StatsRequest& r) { return fromDayCounts(r); }

SqlStatement statsSql(const StatsRequest& r) {
  if (fromDayCounts(r)) return dayCountsSql(r);
  SqlBuilder b;
  const StatsFilter& f = r.filter;
  std::string sql;
  switch (r.kind) {
    case StatsKind::heatmap: {
      // The stored level-16 cell, cut to the asked level: an S2 id's parent
      // keeps the bits above the level's lowest set bit (two's complement
      // bigint, as the processor stores them).
      std::string cell;
      if (r.level == 16) cell = "cell_l16";
      else if (r.level == 13) cell = "cell_l13";
      else if (r.level == 10) cell = "cell_l10";
      else {
        const std::int64_t lsb = std::int64_t{1} << (2 * (30 - r.level));
        const auto mask = b.param(std::to_string(-lsb));
        const auto bit = b.param(std::to_string(lsb));
        cell = "((cell_l16 & " + mask + "::bigint) | " + bit + "::bigint)";
      }
      std::string where = whereFilters(f, b) + " AND cell_l16 IS NOT NULL";
      window(where, f.since, f.until, b);
      sql = "SELECT " + cell + " AS cell, count(*) AS n FROM reports WHERE " + where +
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT " + std::to_string(kMaxHeatmapCells);
      break;
    }
    case StatsKind::trends: {
      // Months and years in the report's own zone (its city's), as the
      // dashboard's reader lives them.
      const char* unit = r.interval == TrendInterval::month ? "month" : "year";
      const char* format = r.interval == TrendInterval::month ? "YYYY-MM" : "YYYY";
      std::string where = whereFilters(f, b);
      window(where, f.since, f.until, b);
      sql = std::string("SELECT to_char(date_trunc('") + unit + "', occurred_at AT TIME ZONE coalesce(time_zone, 'UTC')), '" +
            format + "') AS period, count(*) AS n FROM reports WHERE " + where + " GROUP BY 1 ORDER BY 1";
      break;
    }
    case StatsKind::neighbourhoods: {
      const std::string where = whereFilters(f, b) + " AND neighbourhood IS NOT NULL";
      const std::string ps = b.param(core::formatTimestamp(r.previousSince));
      const std::string since = b.param(core::formatTimestamp(*f.since));
      const std::string until = b.param(core::formatTimestamp(*f.until));
      sql = "SELECT coalesce(city, '') AS city, neighbourhood, count(*) FILTER (WHERE occurred_at >= " + since +
            "::timestamptz) AS n, count(*) FILTER (WHERE occurred_at < " + since +
            "::timestamptz) AS previous FROM reports WHERE " + where + " AND occurred_at >= " + ps +
            "::timestamptz AND occurred_at < " + until +
            "::timestamptz GROUP BY 1, 2 HAVING count(*) FILTER (WHERE occurred_at >= " + since +
            "::timestamptz) > 0 ORDER BY 3 DESC, 1, 2 LIMIT " + std::to_string(r.limit);
      break;
    }
    case StatsKind::categories: {
      std::string where = whereFilters(f, b);
      window(where, f.since, f.until, b);
      sql = "SELECT category, count(*) AS n FROM reports WHERE " + where + " GROUP BY 1 ORDER BY 2 DESC, 1";
      break;
    }
    case StatsKind::hours: {
      // local_hour / local_weekday are the processor's, in the report's zone
      // (ISO weekday 1 = Monday; the API's 0 = Monday).
      std::string where = whereFilters(f, b) + " AND local_hour IS NOT NULL AND local_weekday BETWEEN 1 AND 7";
      window(where, f.since, f.until, b);
      sql = "SELECT local_weekday - 1 AS weekday, local_hour AS hour, count(*) AS n FROM reports WHERE " + where +
            " GROUP BY 1, 2 ORDER BY 1, 2";
      break;
    }
    case StatsKind::change: {
      const std::string where = whereFilters(f, b);
      const std::string since = b.param(core::formatTimestamp(*f.since));
      const std::string until = b.param(core::formatTimestamp(*f.until));
      const std::string ps = b.param(core::formatTimestamp(r.previousSince));
      const std::string pu = b.param(core::formatTimestamp(r.previousUntil));
      const std::string current = "occurred_at >= " + since + "::timestamptz AND occurred_at < " + until + "::timestamptz";
      const std::string previous = "occurred_at >= " + ps + "::timestamptz AND occurred_at < " + pu + "::timestamptz";
      sql = "SELECT category, count(*) FILTER (WHERE " + current + ") AS n, count(*) FILTER (WHERE " + previous +
            ") AS previous FROM reports WHERE " + where + " AND ((" + current + ") OR (" + previous +
            ")) GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1";
      break;
    }
  }
  return SqlStatement{std::move(sql), b.take()};
}

std::string statsJson(const StatsRequest& r, const std::vector<StatsRow>& rows) {
  std::string out;
  auto list = [&](const char* name, auto&& item) {
    out += std::string("\"") + name + "\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i) out += ',';
      item(rows[i]);
    }
    out += "]";
  };
  switch (r.kind) {
    case StatsKind::heatmap:
      out = "{\"level\":" + std::to_string(r.level) + ",";
      list("cells", [&](const StatsRow& row) {
        long long signedId = 0;
        std::from_chars(row.key.data(), row.key.data() + row.key.size(), signedId);
        const auto id = static_cast<std::uint64_t>(signedId);
        out += "{\"cell\":" + jsonString(core::cellToken(id)) + ",\"lat\":" + number(std::round(row.lat * 1e6) / 1e6) +
               ",\"lon\":" + number(std::round(row.lon * 1e6) / 1e6) + ",\"count\":" + std::to_string(row.count) + "}";
      });
      break;
    case StatsKind::trends:
      out = std::string("{\"interval\":\"") + (r.interval == TrendInterval::month ? "month" : "year") + "\",";
      list("points", [&](const StatsRow& row) {
        out += "{\"period\":" + jsonString(row.key) + ",\"count\":" + std::to_string(row.count) + "}";
      });
      break;
    case StatsKind::neighbourhoods:
      out = "{";
      list("neighbourhoods", [&](const StatsRow& row) {
        out += "{\"city\":" + (row.key2.empty() ? std::string("null") : jsonString(row.key2)) + ",\"name\":" +
               jsonString(row.key) + ",\"count\":" + std::to_string(row.count) + ",\"previous\":" +
               std::to_string(row.previous) + ",\"change\":" + changeJson(row.count, row.previous) + "}";
      });
      break;
    case StatsKind::categories:
      out = "{";
      list("categories", [&](const StatsRow& row) {
        out += "{\"category\":" + jsonString(row.key) + ",\"count\":" + std::to_string(row.count) + "}";
      });
      break;
    case StatsKind::hours:
      out = "{";
      list("cells", [&](const StatsRow& row) {
        out += "{\"weekday\":" + std::to_string(row.weekday) + ",\"hour\":" + std::to_string(row.hour) +
               ",\"count\":" + std::to_string(row.count) + "}";
      });
      break;
    case StatsKind::change:
      out = "{\"current\":{\"since\":" + jsonString(core::formatTimestamp(*r.filter.since)) +
            ",\"until\":" + jsonString(core::formatTimestamp(*r.filter.until)) +
            "},\"previous\":{\"since\":" + jsonString(core::formatTimestamp(r.previousSince)) +
            ",\"until\":" + jsonString(core::formatTimestamp(r.previousUntil)) + "},";
      list("categories", [&](const StatsRow& row) {
        out += "{\"category\":" + jsonString(row.key) + ",\"current\":" + std::to_string(row.count) +
               ",\"previous\":" + std::to_string(row.previous) + ",\"change\":" + changeJson(row.count, row.previous) + "}";
      });
      break;
  }
  return out + "}";
}

std::string statsCacheKey(const StatsRequest& r) {
  auto sql = statsSql(r);
  std::string key = std::to_string(static_cast<int>(r.kind)) + "\n" + sql.text;
  for (const auto& p : sql.params) key += "\n" + p;
  return key;
}

}  // namespace safestream::api
