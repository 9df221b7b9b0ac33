#pragma once
// The dashboard's statistics (GET /v1/stats/*): their parameters, the
// parametrised SQL that answers each, and the JSON of the answers. Pure: no
// I/O, no vendor headers (the S2 cell centre comes from api/s2_cells.h).
//
// Every statistic counts distinct incidents: rows the processor marked as a
// duplicate of another (duplicate_of) are left out, as in the analyst views
// and GET /v1/reports.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/report_query.h"
#include "core/result.h"
#include "core/time.h"

namespace safestream::api {

enum class StatsKind { heatmap, trends, neighbourhoods, categories, hours, change };
enum class TrendInterval { month, year };

// The filters every statistic takes: since (inclusive), until (exclusive),
// category (repeatable or a comma list), source, city, neighbourhood (with
// city), bbox=w,s,e,n.
struct StatsFilter {
  std::optional<core::Timestamp> since;
  std::optional<core::Timestamp> until;
  std::vector<std::string> categories;
  std::optional<std::string> source;
  std::optional<std::string> city;
  std::optional<std::string> neighbourhood;
  std::optional<BoundingBox> bbox;
};

struct StatsRequest {
  StatsKind kind = StatsKind::categories;
  StatsFilter filter;
  int level = 10;  // heatmap: S2 level 6..16
  TrendInterval interval = TrendInterval::month;
  int limit = 10;  // neighbourhoods
  // neighbourhoods and change: the window compared with `filter`'s
  // [since, until) (both are then always set).
  core::Timestamp previousSince{};
  core::Timestamp previousUntil{};
};

// What the parser needs to know about a city (from core/cities): its bbox
// chooses the heatmap level, and its neighbourhood names are canonical.
struct StatsCity {
  BoundingBox bbox;
  std::vector<std::string> neighbourhoods;
};
using StatsCityLookup = std::function<std::optional<StatsCity>(const std::string& id)>;

inline constexpr int kMinHeatmapLevel = 6;
inline constexpr int kMaxHeatmapLevel = 16;
inline constexpr int kMaxHeatmapCells = 20000;  // the busiest cells when more have reports
inline constexpr int kMaxNeighbourhoodLimit = 500;

// `query` is the raw query string: category may repeat (category=a&category=b).
// `now` ends the default window of neighbourhoods and change (the last 365
// days). `cities` may be empty: then any slug is accepted as city and the
// heatmap level comes from the bbox alone. Errors: unknown_parameter or
// invalid_parameter naming the field (400).
core::Result<StatsRequest> parseStatsRequest(StatsKind kind, std::string_view query, core::Timestamp now,
                                             const StatsCityLookup& cities = {});

// The S2 level whose cells are about 1/64 of the bbox's larger side (6..16).
int heatmapLevelFor(const BoundingBox& box);

// The statement answering `request` (see SqlStatement in report_query.h).
// categories, trends, hours and change without neighbourhood= or bbox= read
// report_day_counts (schemas/sql/0720_report_day_counts.sql) plus the
// reports of the days the window cuts through; the others read reports.
SqlStatement statsSql(const StatsRequest& request);
bool usesDayCounts(const StatsRequest& request);

// The rows each statement returns, as the store hands them back.
struct StatsRow {
  std::string key;             // heatmap: cell id as a decimal int64; trends: period; categories/change: category
  std::string key2;            // neighbourhoods: city (key = name)
  int weekday = 0, hour = 0;   // hours
  long long count = 0;         // current
  long long previous = 0;      // neighbourhoods, change
  double lat = 0, lon = 0;     // heatmap: the cell's centre (withCellCentres)
};

// Fills lat/lon of heatmap rows from their cell ids (S2), once per query
// rather than once per response, so cached answers are rendered quickly.
void withCellCentres(std::vector<StatsRow>& rows);

// The response body of `request` from its rows (the shapes in schemas/openapi.yaml).
std::string statsJson(const StatsRequest& request, const std::vector<StatsRow>& rows);

// (current - previous) / previous, or null when previous is 0.
std::optional<double> relativeChange(long long current, long long previous);

// A canonical text of the request (same statistic and filters: same key),
// for caching answers.
std::string statsCacheKey(const StatsRequest& request);

}  // namespace safestream::api
