// /v1/stats/*: parameter validation, the SQL each statistic builds (only
// placeholders carry request values), the JSON of the answers, the cache,
// and the handlers through ApiService on a fake StatsStore.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/api_service.h"
#include "api/s2_cells.h"
#include "api/stats_query.h"
#include "core/report_codec.h"
#include "tests/unit/api/fakes.h"

namespace safestream::api {
namespace {

using nlohmann::json;

const core::Timestamp kNow = *core::parseTimestamp("2026-12-01T12:34:56Z");

core::Result<StatsRequest> parse(StatsKind kind, std::string_view q, const StatsCityLookup& cities = {}) {
  return parseStatsRequest(kind, q, kNow, cities);
}

StatsCityLookup chicagoOnly() {
  return [](const std::string& id) -> std::optional<StatsCity> {
    if (id != "chicago") return std::nullopt;
    return StatsCity{BoundingBox{-87.94, 41.64, -87.52, 42.03}, {"HYDE PARK", "AUSTIN", "LOOP"}};
  };
}

class FakeStatsStore : public StatsStore {
 public:
  core::Result<std::vector<StatsRow>> stats(const StatsRequest& request) override {
    ++calls;
    last = request;
    if (fail) return core::makeError("postgres_unreachable", "down", "", true);
    return rows;
  }
  std::vector<StatsRow> rows;
  std::optional<StatsRequest> last;
  int calls = 0;
  bool fail = false;
};

class FakeClock : public core::Clock {
 public:
  core::Timestamp now() const override { return t; }
  core::Timestamp t = kNow;
};

TEST(StatsParse, CommonFilters) {
  auto r = parse(StatsKind::categories,
                 "since=2014-01-01T00:00:00Z&until=2015-01-01T00:00:00-06:00&category=theft,assault&category=burglary"
                 "&source=chicago&city=chicago&neighbourhood=HYDE%20PARK&bbox=-87.7,41.7,-87.5,41.9");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(core::formatTimestamp(*r->filter.since), "2014-01-01T00:00:00Z");
  EXPECT_EQ(core::formatTimestamp(*r->filter.until), "2015-01-01T06:00:00Z");
  EXPECT_EQ(r->filter.categories, (std::vector<std::string>{"assault", "burglary", "theft"}));
  EXPECT_EQ(*r->filter.source, "chicago");
  EXPECT_EQ(*r->filter.city, "chicago");
  EXPECT_EQ(*r->filter.neighbourhood, "HYDE PARK");
  EXPECT_DOUBLE_EQ(r->filter.bbox->minLon, -87.7);
  EXPECT_DOUBLE_EQ(r->filter.bbox->maxLat, 41.9);
  auto none = parse(StatsKind::hours, "");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->filter.since);
  EXPECT_TRUE(none->filter.categories.empty());
}

TEST(StatsParse, BadInputNamesTheParameter) {
  struct Case {
    StatsKind kind;
    const char* query;
    const char* code;
    const char* field;
  };
  const Case cases[] = {
      {StatsKind::categories, "since=yesterday", "invalid_parameter", "since"},
      {StatsKind::categories, "until=2014-01-01T00:00:00", "invalid_parameter", "until"},
      {StatsKind::categories, "since=2015-01-01T00:00:00Z&until=2014-01-01T00:00:00Z", "invalid_parameter", "since"},
      {StatsKind::categories, "category=theft,nonsense", "invalid_parameter", "category"},
      {StatsKind::categories, "category=", "invalid_parameter", "category"},
      {StatsKind::categories, "source=DROP%20TABLE", "invalid_parameter", "source"},
      {StatsKind::categories, "city=Chicago", "invalid_parameter", "city"},
      {StatsKind::categories, "city=chi'cago", "invalid_parameter", "city"},
      {StatsKind::categories, "neighbourhood=LOOP", "invalid_parameter", "neighbourhood"},
      {StatsKind::categories, "city=chicago&neighbourhood=", "invalid_parameter", "neighbourhood"},
      {StatsKind::categories, "city=chicago&neighbourhood=a%0Ab", "invalid_parameter", "neighbourhood"},
      {StatsKind::categories, "bbox=1,2,3", "invalid_parameter", "bbox"},
      {StatsKind::categories, "bbox=-87,42,-88,41", "invalid_parameter", "bbox"},
      {StatsKind::categories, "bbox=-200,41,-87,42", "invalid_parameter", "bbox"},
      {StatsKind::categories, "bbox=a,b,c,d", "invalid_parameter", "bbox"},
      {StatsKind::categories, "bbox=nan,1,2,3", "invalid_parameter", "bbox"},
      {StatsKind::categories, "source=a&source=b", "invalid_parameter", "source"},
      {StatsKind::categories, "source=Chicago", "invalid_parameter", "source"},
      {StatsKind::categories, "source=9lives", "invalid_parameter", "source"},
      {StatsKind::categories, "level=10", "unknown_parameter", "level"},
      {StatsKind::categories, "limit=3", "unknown_parameter", "limit"},
      {StatsKind::categories, "sinse=2014-01-01T00:00:00Z", "unknown_parameter", "sinse"},
      {StatsKind::categories, "since=%zz", "invalid_parameter", ""},
      {StatsKind::heatmap, "level=5", "invalid_parameter", "level"},
      {StatsKind::heatmap, "level=17", "invalid_parameter", "level"},
      {StatsKind::heatmap, "level=ten", "invalid_parameter", "level"},
      {StatsKind::heatmap, "level=10.5", "invalid_parameter", "level"},
      {StatsKind::trends, "interval=week", "invalid_parameter", "interval"},
      {StatsKind::trends, "interval=", "invalid_parameter", "interval"},
      {StatsKind::neighbourhoods, "limit=0", "invalid_parameter", "limit"},
      {StatsKind::neighbourhoods, "limit=501", "invalid_parameter", "limit"},
      {StatsKind::neighbourhoods, "limit=-1", "invalid_parameter", "limit"},
      {StatsKind::neighbourhoods, "until=2000-01-01T00:00:00Z&since=2001-01-01T00:00:00Z", "invalid_parameter", "since"},
      {StatsKind::hours, "interval=month", "unknown_parameter", "interval"},
      {StatsKind::change, "level=3", "unknown_parameter", "level"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.kind, c.query);
    ASSERT_FALSE(r) << c.query;
    EXPECT_EQ(r.error().code, c.code) << c.query << ": " << r.error().message;
    EXPECT_EQ(r.error().field, c.field) << c.query;
    EXPECT_FALSE(r.error().message.empty());
  }
}

// The filters take every source name a report can carry (core::isSourceName),
// those of the shipped ingest configs among them: csv:new-york once got a 400.
TEST(SourceFilter, StatisticsAndSearchTakeTheSourcesReportsCarry) {
  for (const std::string source : {"chicago", "spotcrime", "citizen", "csv:new-york", "csv:los-angeles",
                                   "rapidapi:crimedata", "socrata.data_v2"}) {
    auto stats = parse(StatsKind::categories, "source=" + source);
    ASSERT_TRUE(stats) << source << ": " << stats.error().message;
    EXPECT_EQ(stats->filter.source, source);
    auto search = parseReportQuery({{"source", source}});
    ASSERT_TRUE(search) << source << ": " << search.error().message;
    EXPECT_EQ(search->source, source);
  }
  for (const std::string& bad : std::vector<std::string>{"", "Chicago", "csv new-york", "-chicago", std::string(65, 'a')}) {
    auto search = parseReportQuery({{"source", bad}});
    ASSERT_FALSE(search) << bad;
    EXPECT_EQ(search.error().field, "source") << bad;
  }
}

TEST(StatsParse, CitiesAreCheckedAndNamesCanonical) {
  auto r = parse(StatsKind::categories, "city=chicago&neighbourhood=hyde%20park", chicagoOnly());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r->filter.neighbourhood, "HYDE PARK");
  auto unknownCity = parse(StatsKind::categories, "city=atlantis", chicagoOnly());
  ASSERT_FALSE(unknownCity);
  EXPECT_EQ(unknownCity.error().field, "city");
  auto unknownHood = parse(StatsKind::categories, "city=chicago&neighbourhood=SOHO", chicagoOnly());
  ASSERT_FALSE(unknownHood);
  EXPECT_EQ(unknownHood.error().field, "neighbourhood");
  // Without a catalog any slug passes (the SQL then finds nothing).
  EXPECT_TRUE(parse(StatsKind::categories, "city=atlantis&neighbourhood=SOHO"));
}

TEST(StatsParse, HeatmapLevelFromZoom) {
  // About 64 cells across the larger side: a city (~43 km) gets ~1 km cells,
  // a few streets ~150 m cells, a state (~600 km) ~10 km cells.
  EXPECT_EQ(heatmapLevelFor({-87.94, 41.64, -87.52, 42.03}), 13);
  EXPECT_EQ(heatmapLevelFor({-87.64, 41.87, -87.62, 41.89}), 16);
  EXPECT_EQ(heatmapLevelFor({-91.5, 37.0, -87.5, 42.5}), 10);
  EXPECT_EQ(heatmapLevelFor({-180, -90, 180, 90}), 6);
  EXPECT_EQ(parse(StatsKind::heatmap, "bbox=-87.64,41.87,-87.62,41.89")->level, 16);
  EXPECT_EQ(parse(StatsKind::heatmap, "city=chicago", chicagoOnly())->level, 13);
  EXPECT_EQ(parse(StatsKind::heatmap, "")->level, 10);
  EXPECT_EQ(parse(StatsKind::heatmap, "level=14&bbox=-87.64,41.87,-87.62,41.89")->level, 14);
}

TEST(StatsParse, ComparisonWindows) {
  auto n = parse(StatsKind::neighbourhoods, "since=2014-03-01T00:00:00Z&until=2014-04-01T00:00:00Z");
  ASSERT_TRUE(n);
  EXPECT_EQ(core::formatTimestamp(n->previousUntil), "2014-03-01T00:00:00Z");
  EXPECT_EQ(core::formatTimestamp(n->previousSince), "2014-01-29T00:00:00Z");  // 31 days before
  EXPECT_EQ(n->limit, 10);
  auto c = parse(StatsKind::change, "since=2016-02-29T10:00:00Z&until=2016-03-31T00:00:00Z");
  ASSERT_TRUE(c);
  EXPECT_EQ(core::formatTimestamp(c->previousSince), "2015-02-28T10:00:00Z");
  EXPECT_EQ(core::formatTimestamp(c->previousUntil), "2015-03-31T00:00:00Z");
  // Defaults: the last 365 days up to now (to the minute).
  auto d = parse(StatsKind::change, "");
  ASSERT_TRUE(d);
  EXPECT_EQ(core::formatTimestamp(*d->filter.until), "2026-12-01T12:34:00Z");
  EXPECT_EQ(core::formatTimestamp(*d->filter.since), "2025-12-01T12:34:00Z");
  EXPECT_EQ(core::formatTimestamp(d->previousSince), "2024-12-01T12:34:00Z");
}

TEST(ReportSearchSql, ValuesOnlyInParametersAndTimeBoundsOnBothSteps) {
  auto q = parseReportQuery({{"bbox", "-87.66,41.87,-87.62,41.9"},
                             {"since", "2026-11-01T00:00:00Z"},
                             {"category", "theft"},
                             {"source", "chicago"},
                             {"cursor", "1764547200000_00000000-0000-5000-8000-000000000001"}});
  ASSERT_TRUE(q);
  const auto lower = core::parseTimestamp("2026-11-20T00:00:00Z");
  const auto sql = reportSearchSql(*q, *lower, std::nullopt);
  for (const char* v : {"-87.66", "41.87", "theft", "chicago", "2026", "00000000-0000"}) {
    EXPECT_EQ(sql.text.find(v), std::string::npos) << v << " in " << sql.text;
  }
  // Keys from the index-only step, rows by primary key, the partitions of
  // both pruned by the same bounds (since, the window's lower end, the cursor).
  EXPECT_NE(sql.text.find("FROM (SELECT id, occurred_at FROM reports WHERE duplicate_of IS NULL"), std::string::npos) << sql.text;
  EXPECT_NE(sql.text.find("JOIN reports r ON r.id = k.id AND r.occurred_at = k.occurred_at"), std::string::npos) << sql.text;
  for (const char* b : {"occurred_at >= $", "occurred_at <= $"}) {
    const auto first = sql.text.find(b);
    ASSERT_NE(first, std::string::npos) << b;
    EXPECT_NE(sql.text.find(std::string("r.") + b), std::string::npos) << b << " in " << sql.text;
  }
  EXPECT_NE(sql.text.find("LIMIT 101"), std::string::npos);
  for (std::size_t i = 1; i <= sql.params.size(); ++i) {
    EXPECT_NE(sql.text.find("$" + std::to_string(i)), std::string::npos) << i;
  }
  EXPECT_EQ(sql.text.find("$" + std::to_string(sql.params.size() + 1)), std::string::npos);
  // A horizon bounds a search without an upper end.
  const auto horizon = core::parseTimestamp("2026-12-03T00:00:00Z");
  const auto open = reportSearchSql(*parseReportQuery({{"near", "41.88,-87.63"}}), std::nullopt, *horizon);
  EXPECT_NE(open.text.find("r.occurred_at < $"), std::string::npos) << open.text;
  EXPECT_NE(open.text.find("AS distance_m"), std::string::npos);
  EXPECT_EQ(open.params.back(), "2026-12-03T00:00:00Z");
}

TEST(ReportSearchSql, AreaFirstScansEachCoveringRange) {
  auto q = parseReportQuery({{"bbox", "-87.59375,41.875,-87.5625,41.90625"}, {"category", "theft"}});
  ASSERT_TRUE(q);
  const auto ranges = coverBox(*q->bbox, 8);
  ASSERT_FALSE(ranges.empty());
  std::vector<std::pair<std::int64_t, std::int64_t>> cells;
  for (const auto& r : ranges) cells.emplace_back(r.min, r.max);
  const auto sql = reportAreaSearchSql(*q, cells, *core::parseTimestamp("2026-12-03T00:00:00Z"));
  std::size_t branches = 0;
  for (auto pos = sql.text.find("cell_l16 BETWEEN $"); pos != std::string::npos; pos = sql.text.find("cell_l16 BETWEEN $", pos + 1)) {
    ++branches;
  }
  EXPECT_EQ(branches, cells.size()) << sql.text;
  EXPECT_NE(sql.text.find("AND cell_l16 IS NULL"), std::string::npos) << sql.text;  // rows written without cells
  EXPECT_EQ(sql.text.find(std::to_string(cells.front().first)), std::string::npos);  // ids are parameters
  EXPECT_NE(std::find(sql.params.begin(), sql.params.end(), std::to_string(cells.front().first)), sql.params.end());
  EXPECT_NE(sql.text.find("ORDER BY occurred_at DESC, id DESC LIMIT 101"), std::string::npos) << sql.text;
  EXPECT_NE(sql.text.find("JOIN reports r ON r.id = k.id"), std::string::npos);
  for (std::size_t i = 1; i <= sql.params.size(); ++i) EXPECT_NE(sql.text.find("$" + std::to_string(i)), std::string::npos) << i;
  EXPECT_EQ(sql.text.find("$" + std::to_string(sql.params.size() + 1)), std::string::npos);
  // The covering holds the whole bbox: a point inside is in one of its ranges.
  const auto inside = static_cast<std::int64_t>(cellIdAt(41.89, -87.58, 16));
  EXPECT_TRUE(std::any_of(cells.begin(), cells.end(), [&](const auto& r) { return r.first <= inside && inside <= r.second; }));
}

TEST(StatsSql, RequestValuesOnlyInParameters) {
  auto r = parse(StatsKind::categories,
                 "since=2014-01-01T00:00:00Z&category=theft&source=x_y&city=chicago&neighbourhood=O'HARE&bbox=-88,41,-87,42");
  ASSERT_TRUE(r);
  auto sql = statsSql(*r);
  EXPECT_EQ(sql.text.find("O'HARE"), std::string::npos) << sql.text;
  EXPECT_EQ(sql.text.find("chicago"), std::string::npos) << sql.text;
  EXPECT_EQ(sql.text.find("theft"), std::string::npos) << sql.text;
  EXPECT_EQ(sql.text.find("2014"), std::string::npos) << sql.text;
  EXPECT_NE(sql.text.find("duplicate_of IS NULL"), std::string::npos);
  EXPECT_NE(sql.text.find("category = ANY($1::text[])"), std::string::npos) << sql.text;
  EXPECT_EQ(sql.params, (std::vector<std::string>{"{theft}", "x_y", "chicago", "O'HARE", "41", "42", "-88", "-87",
                                                  "2014-01-01T00:00:00Z"}));
  // Every placeholder has its value and no more.
  for (std::size_t i = 1; i <= sql.params.size(); ++i) {
    EXPECT_NE(sql.text.find("$" + std::to_string(i)), std::string::npos) << i;
  }
  EXPECT_EQ(sql.text.find("$" + std::to_string(sql.params.size() + 1)), std::string::npos);
}

TEST(StatsSql, DayCountsTooTakeValuesOnlyInParameters) {
  for (auto kind : {StatsKind::categories, StatsKind::trends, StatsKind::hours, StatsKind::change}) {
    auto r = parse(kind, "since=2014-01-01T13:00:00Z&until=2014-03-02T07:00:00Z&category=theft&source=x_y&city=chicago");
    ASSERT_TRUE(r);
    ASSERT_TRUE(usesDayCounts(*r));
    auto sql = statsSql(*r);
    for (const char* v : {"chicago", "theft", "x_y", "2014"}) EXPECT_EQ(sql.text.find(v), std::string::npos) << v << ": " << sql.text;
    EXPECT_NE(sql.text.find("FROM report_day_counts c"), std::string::npos) << sql.text;
    // The two cut days at the window's ends are read from reports, duplicates left out.
    EXPECT_NE(sql.text.find("FROM reports WHERE duplicate_of IS NULL"), std::string::npos) << sql.text;
    for (std::size_t i = 1; i <= sql.params.size(); ++i) {
      EXPECT_NE(sql.text.find("$" + std::to_string(i)), std::string::npos) << i << ": " << sql.text;
    }
    EXPECT_EQ(sql.text.find("$" + std::to_string(sql.params.size() + 1)), std::string::npos);
    // The edge ranges: 26 h after since, 26 h before until.
    EXPECT_NE(std::find(sql.params.begin(), sql.params.end(), "2014-01-02T15:00:00Z"), sql.params.end());
    EXPECT_NE(std::find(sql.params.begin(), sql.params.end(), "2014-03-01T05:00:00Z"), sql.params.end());
  }
}

TEST(StatsSql, EachStatisticGroupsByItsKey) {
  // A window's whole local days from report_day_counts, the reports of the
  // days it cuts through from reports, in the same grouping.
  auto years = statsSql(*parse(StatsKind::trends, "interval=year&since=2014-03-01T12:00:00Z"));
  EXPECT_NE(years.text.find("to_char(c.day, 'YYYY')"), std::string::npos) << years.text;
  EXPECT_NE(years.text.find("date_trunc('year'"), std::string::npos) << years.text;
  EXPECT_NE(statsSql(*parse(StatsKind::trends, "")).text.find("'YYYY-MM'"), std::string::npos);
  // Without an end of the window, every day is whole: no report rows are read.
  EXPECT_EQ(statsSql(*parse(StatsKind::trends, "")).text.find("FROM reports"), std::string::npos);
  auto hours = statsSql(*parse(StatsKind::hours, "until=2015-01-01T06:00:00Z"));
  EXPECT_NE(hours.text.find("d.weekday - 1"), std::string::npos) << hours.text;
  EXPECT_NE(hours.text.find("local_weekday - 1, local_hour"), std::string::npos) << hours.text;
  EXPECT_TRUE(usesDayCounts(*parse(StatsKind::categories, "city=chicago&category=theft&source=x")));
  EXPECT_TRUE(usesDayCounts(*parse(StatsKind::change, "")));
  // Neighbourhood and bbox are not in those rows; heatmap and neighbourhoods never are.
  EXPECT_FALSE(usesDayCounts(*parse(StatsKind::categories, "city=chicago&neighbourhood=LOOP")));
  EXPECT_FALSE(usesDayCounts(*parse(StatsKind::categories, "bbox=-88,41,-87,42")));
  EXPECT_FALSE(usesDayCounts(*parse(StatsKind::heatmap, "")));
  EXPECT_FALSE(usesDayCounts(*parse(StatsKind::neighbourhoods, "")));
  EXPECT_NE(statsSql(*parse(StatsKind::heatmap, "level=13")).text.find("SELECT cell_l13 AS cell"), std::string::npos);
  auto l11 = statsSql(*parse(StatsKind::heatmap, "level=11"));
  EXPECT_NE(l11.text.find("cell_l16 &"), std::string::npos) << l11.text;
  // Level 11: lowest bit 2^(2*(30-11)) = 2^38.
  EXPECT_EQ(l11.params.at(0), std::to_string(-(std::int64_t{1} << 38)));
  EXPECT_EQ(l11.params.at(1), std::to_string(std::int64_t{1} << 38));
  auto n = statsSql(*parse(StatsKind::neighbourhoods, "limit=3&since=2014-03-01T00:00:00Z&until=2014-04-01T00:00:00Z"));
  EXPECT_NE(n.text.find("LIMIT 3"), std::string::npos);
  EXPECT_NE(n.text.find("GROUP BY 1, 2"), std::string::npos);
}

TEST(StatsSql, HeatmapParentMatchesS2) {
  // The SQL's (id & -lsb) | lsb is the S2 parent: checked on a real leaf id
  // (the level-16 cell of a Chicago point, its level-11 parent from the token).
  const auto ranges = coverBox({-87.6301, 41.8801, -87.63, 41.8802});
  ASSERT_FALSE(ranges.empty());
  const std::uint64_t l16 = static_cast<std::uint64_t>(ranges.front().min);
  const std::int64_t lsb = std::int64_t{1} << (2 * (30 - 11));
  const auto parent = static_cast<std::uint64_t>((static_cast<std::int64_t>(l16) & -lsb) | lsb);
  const auto c16 = cellCentre(l16), c11 = cellCentre(parent);
  EXPECT_NEAR(c16.lat, 41.88, 0.01);
  EXPECT_NEAR(c11.lat, 41.88, 0.05);
  EXPECT_NEAR(c11.lon, -87.63, 0.05);
  EXPECT_NE(parent, l16);
  EXPECT_EQ(core::cellToken(l16).rfind(core::cellToken(parent).substr(0, 5), 0), 0u);  // same leading bits
}

TEST(StatsJson, ShapesOfTheContract) {
  auto trends = json::parse(statsJson(*parse(StatsKind::trends, ""), {{"2014-03", "", 0, 0, 1234, 0}}));
  EXPECT_EQ(trends, json::parse(R"({"interval":"month","points":[{"period":"2014-03","count":1234}]})"));
  auto cats = json::parse(statsJson(*parse(StatsKind::categories, ""), {{"theft", "", 0, 0, 900, 0}}));
  EXPECT_EQ(cats, json::parse(R"({"categories":[{"category":"theft","count":900}]})"));
  StatsRow hour;
  hour.weekday = 0;
  hour.hour = 13;
  hour.count = 42;
  EXPECT_EQ(json::parse(statsJson(*parse(StatsKind::hours, ""), {hour})),
            json::parse(R"({"cells":[{"weekday":0,"hour":13,"count":42}]})"));
  auto hoods = json::parse(statsJson(*parse(StatsKind::neighbourhoods, ""),
                                     {{"AUSTIN", "chicago", 0, 0, 120, 100}, {"LOOP", "chicago", 0, 0, 5, 0}}));
  EXPECT_EQ(hoods["neighbourhoods"][0], json::parse(R"({"city":"chicago","name":"AUSTIN","count":120,"previous":100,"change":0.2})"));
  EXPECT_TRUE(hoods["neighbourhoods"][1]["change"].is_null());
  auto change = json::parse(statsJson(*parse(StatsKind::change, "since=2014-03-01T00:00:00Z&until=2014-04-01T00:00:00Z"),
                                      {{"theft", "", 0, 0, 10, 8}}));
  EXPECT_EQ(change, json::parse(R"({"current":{"since":"2014-03-01T00:00:00Z","until":"2014-04-01T00:00:00Z"},
    "previous":{"since":"2013-03-01T00:00:00Z","until":"2013-04-01T00:00:00Z"},
    "categories":[{"category":"theft","current":10,"previous":8,"change":0.25}]})"));
  const auto leaf = coverBox({-87.6301, 41.8801, -87.63, 41.8802}).front().min;
  std::vector<StatsRow> cells = {{std::to_string(leaf), "", 0, 0, 12, 0}};
  withCellCentres(cells);
  auto heat = json::parse(statsJson(*parse(StatsKind::heatmap, "level=16"), cells));
  EXPECT_EQ(heat["level"], 16);
  EXPECT_EQ(heat["cells"][0]["cell"], core::cellToken(static_cast<std::uint64_t>(leaf)));
  EXPECT_NEAR(heat["cells"][0]["lat"].get<double>(), 41.88, 0.001);
  EXPECT_NEAR(heat["cells"][0]["lon"].get<double>(), -87.63, 0.001);
  EXPECT_EQ(heat["cells"][0]["count"], 12);
  EXPECT_EQ(relativeChange(0, 0), std::nullopt);
  EXPECT_DOUBLE_EQ(*relativeChange(0, 4), -1.0);
}

TEST(StatsCache, ReusesAnswersForTheTtlAndNeverFailures) {
  FakeStatsStore inner;
  FakeClock clock;
  inner.rows = {{"theft", "", 0, 0, 3, 0}};
  AnswerCache<std::vector<StatsRow>> answers(clock, std::chrono::seconds(30), 2);
  struct {
    AnswerCache<std::vector<StatsRow>>& c;
    FakeStatsStore& inner;
    core::Result<std::vector<StatsRow>> stats(const StatsRequest& r) {
      return c.get(statsCacheKey(r), [&] { return inner.stats(r); });
    }
  } cache{answers, inner};
  auto q = *parse(StatsKind::categories, "category=theft");
  EXPECT_EQ(cache.stats(q)->at(0).count, 3);
  inner.rows[0].count = 4;
  EXPECT_EQ(cache.stats(q)->at(0).count, 3);
  EXPECT_EQ(inner.calls, 1);
  EXPECT_EQ(cache.stats(*parse(StatsKind::categories, "category=assault"))->at(0).count, 4);  // another question
  clock.t += std::chrono::seconds(31);
  EXPECT_EQ(cache.stats(q)->at(0).count, 4);
  inner.fail = true;
  clock.t += std::chrono::seconds(31);
  EXPECT_FALSE(cache.stats(q));
  inner.fail = false;
  EXPECT_TRUE(cache.stats(q));
  EXPECT_EQ(inner.calls, 5);
  // Bounded: a third key evicts the oldest.
  (void)cache.stats(*parse(StatsKind::hours, ""));
  (void)cache.stats(*parse(StatsKind::trends, ""));
  const int before = inner.calls;
  (void)cache.stats(q);
  EXPECT_EQ(inner.calls, before + 1);
}

// A store whose query blocks until released, to hold a miss in flight.
class GateStatsStore : public StatsStore {
 public:
  core::Result<std::vector<StatsRow>> stats(const StatsRequest&) override {
    calls.fetch_add(1);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    return std::vector<StatsRow>{{"theft", "", 0, 0, 7, 0}};
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  std::atomic<int> calls{0};
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
};

TEST(StatsCache, ConcurrentMissesShareOneQuery) {
  GateStatsStore inner;
  FakeClock clock;
  AnswerCache<std::vector<StatsRow>> cache(clock, std::chrono::seconds(30));
  const auto q = *parse(StatsKind::categories, "");
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = cache.get(statsCacheKey(q), [&] { return inner.stats(q); });
      if (r && r->at(0).count == 7) answered.fetch_add(1);
    });
  }
  // Every thread is either the one asking or waiting on it before the gate opens.
  for (int i = 0; i < 2000 && cache.hits() + cache.misses() < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  inner.release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(inner.calls.load(), 1);
  EXPECT_EQ(answered.load(), 8);
  EXPECT_EQ(cache.misses(), 1u);
}

class StatsServiceTest : public ::testing::Test {
 protected:
  StatsServiceTest() {
    d_.publisher = &publisher_;
    d_.reports = &reports_;
    d_.subscriptions = &subscriptions_;
    d_.alerts = &alerts_;
    d_.stats = &stats_;
    d_.clock = &clock_;
    d_.statsCities = chicagoOnly();
  }
  HttpResponse get(const std::string& path, const std::string& query) {
    ApiService service(d_);
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    HttpResponse out;
    int calls = 0;
    service.handle(req, [&](HttpResponse r) {
      out = std::move(r);
      ++calls;
    });
    EXPECT_EQ(calls, 1);
    return out;
  }
  testing::FakePublisher publisher_;
  testing::FakeReportStore reports_;
  testing::FakeSubscriptionStore subscriptions_;
  testing::FakeAlertHistory alerts_;
  FakeStatsStore stats_;
  FakeClock clock_;
  ServiceDeps d_;
};

TEST_F(StatsServiceTest, EveryEndpointAnswersAndRefusesBadInput) {
  for (const char* path : {"/v1/stats/heatmap", "/v1/stats/trends", "/v1/stats/neighbourhoods", "/v1/stats/categories",
                           "/v1/stats/hours", "/v1/stats/change"}) {
    auto ok = get(path, "city=chicago&since=2014-01-01T00:00:00Z&until=2015-01-01T00:00:00Z");
    EXPECT_EQ(ok.status, 200) << path << ": " << ok.body;
    EXPECT_FALSE(json::parse(ok.body, nullptr, false).is_discarded()) << path;
    EXPECT_EQ(*stats_.last->filter.city, "chicago");
    const int before = stats_.calls;
    auto bad = get(path, "since=not-a-time");
    EXPECT_EQ(bad.status, 400) << path;
    auto doc = json::parse(bad.body);
    EXPECT_EQ(doc["error"]["code"], "invalid_parameter") << path;
    EXPECT_EQ(doc["error"]["field"], "since") << path;
    EXPECT_EQ(get(path, "city=atlantis").status, 400) << path;
    EXPECT_EQ(get(path, "bogus=1").status, 400) << path;
    EXPECT_EQ(stats_.calls, before) << path << ": a refused request reached the store";
  }
}

TEST_F(StatsServiceTest, RenderedAnswersAreReusedWhenConfigured) {
  stats_.rows = {{"theft", "", 0, 0, 3, 0}};
  d_.statsCacheTtl = std::chrono::seconds(30);
  ApiService service(d_);
  auto call = [&](const std::string& query) {
    HttpRequest req;
    req.method = "GET";
    req.path = "/v1/stats/categories";
    req.query = query;
    HttpResponse out;
    service.handle(req, [&](HttpResponse r) { out = std::move(r); });
    return out;
  };
  EXPECT_EQ(json::parse(call("city=chicago").body)["categories"][0]["count"], 3);
  stats_.rows[0].count = 4;
  EXPECT_EQ(json::parse(call("city=chicago").body)["categories"][0]["count"], 3);
  EXPECT_EQ(stats_.calls, 1);
  EXPECT_EQ(json::parse(call("city=chicago&category=theft").body)["categories"][0]["count"], 4);
  clock_.t += std::chrono::seconds(31);
  EXPECT_EQ(json::parse(call("city=chicago").body)["categories"][0]["count"], 4);
  EXPECT_EQ(stats_.calls, 3);
}

TEST_F(StatsServiceTest, StoreDownIs503) {
  stats_.fail = true;
  auto r = get("/v1/stats/categories", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unavailable");
  d_.stats = nullptr;
  EXPECT_EQ(get("/v1/stats/hours", "").status, 503);
}

}  // namespace
TEST_F(StatsServiceTest, ReportSearchBodiesAreReusedForTheTtlOnly) {
  PublicReport r;
  r.id = "00000000-0000-5000-8000-000000000001";
  reports_.rows = {r};
  d_.reportsCacheTtl = std::chrono::milliseconds(1000);
  ApiService service(d_);
  auto call = [&](const std::string& path, const std::string& query, const std::string& accept = "") {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    if (!accept.empty()) req.headers["accept"] = accept;
    HttpResponse out;
    service.handle(req, [&](HttpResponse resp) { out = std::move(resp); });
    return out;
  };
  auto count = [&](const std::string& query) {
    auto body = json::parse(call("/v1/reports", query).body);
    return body["reports"].size();
  };
  EXPECT_EQ(count("near=41.88,-87.63&radius=500"), 1u);
  reports_.rows.clear();
  EXPECT_EQ(count("near=41.88,-87.63&radius=500"), 1u);  // reused
  EXPECT_EQ(count("near=41.88,-87.63&radius=501"), 0u);  // another question
  // The GeoJSON rendering of the same search is another answer.
  auto geo = call("/v1/reports", "near=41.88,-87.63&radius=500", "application/geo+json");
  EXPECT_EQ(geo.contentType, "application/geo+json");
  EXPECT_EQ(json::parse(geo.body)["features"].size(), 0u);
  clock_.t += std::chrono::milliseconds(1001);
  EXPECT_EQ(count("near=41.88,-87.63&radius=500"), 0u);  // expired
  // Single reports are always read fresh.
  reports_.rows = {r};
  EXPECT_EQ(call("/v1/reports/" + r.id, "").status, 200);
  reports_.rows.clear();
  EXPECT_EQ(call("/v1/reports/" + r.id, "").status, 404);
}

}  // namespace safestream::api
