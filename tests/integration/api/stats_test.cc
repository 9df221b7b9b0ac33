// GET /v1/stats/* against the real PostgreSQL: each endpoint's numbers equal
// plain SQL counts of the same filter on rows this test inserted (scoped by
// a source of its own), duplicates are left out, and bad input is a 400
// JSON error that never reaches the database.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>
#include <map>
#include <random>

#include "api/s2_cells.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "core/time.h"
#include "tests/integration/api/api_client.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

using nlohmann::json;
using testing::httpRequest;

const char* kCategories[] = {"theft", "assault", "burglary", "robbery", "vandalism"};
const char* kHoods[] = {"HYDE PARK", "AUSTIN", "LOOP"};

class StatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string url = testing::requireStackEnv("SAFESTREAM_PG_URL");
    conn_ = new pqxx::connection(url);
    source_ = new std::string("it-stats-" + core::randomUuid().substr(0, 8));
    seed();
    // No answer cache, so each request sees the rows as they are.
    api_ = new testing::ApiDaemon({"--stats-cache-seconds", "0"});
  }
  static void TearDownTestSuite() {
    delete api_;
    pqxx::work tx(*conn_);
    tx.exec_params("DELETE FROM reports WHERE source = $1", *source_);
    tx.commit();
    delete conn_;
    delete source_;
  }

  // 400 reports over 2013-2015 in and around Chicago, a tenth of them
  // marked as duplicates, some in Austin's zone; deterministic.
  static void seed() {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> pick(0, 1 << 30);
    pqxx::work tx(*conn_);
    std::string firstId;
    for (int i = 0; i < 400; ++i) {
      const bool austin = i % 8 == 0;
      const double lat = austin ? 30.27 + (pick(rng) % 1000) / 1e5 : 41.80 + (pick(rng) % 20000) / 1e5;
      const double lon = austin ? -97.74 + (pick(rng) % 1000) / 1e5 : -87.70 + (pick(rng) % 20000) / 1e5;
      const auto occurred = core::fromEpochMillis(1357020000000LL /* 2013-01-01T06:00Z, local midnight */ +
                                                  static_cast<long long>(pick(rng) % (3 * 365 * 24)) * 3600000LL +
                                                  (pick(rng) % 3600) * 1000LL);
      const std::string zone = "America/Chicago";  // Austin's zone too
      auto local = core::localParts(occurred, zone);
      const std::string sourceId = "s" + std::to_string(i);
      const std::string id = core::reportIdFor(*source_, sourceId).value;
      if (i == 0) firstId = id;
      const std::string category = kCategories[pick(rng) % 5];
      const std::string hood = austin ? "ZILKER" : kHoods[pick(rng) % 3];
      const std::string city = austin ? "austin" : "chicago";
      tx.exec_params(
          "INSERT INTO reports (id, source, source_id, raw_type, category, severity, description, occurred_at, "
          "reported_at, time_zone, lat, lon, cell_l10, cell_l13, cell_l16, neighbourhood, local_hour, local_weekday, "
          "duplicate_of, city) VALUES ($1, $2, $3, 'T', $4, 2, 'stats test', $5::timestamptz, $5::timestamptz, $6, $7, $8, "
          "$9, $10, $11, $12, $13, $14, NULLIF($15, '')::uuid, $16)",
          id, *source_, sourceId, category, core::formatTimestamp(occurred), zone, lat, lon,
          static_cast<long long>(api::cellIdAt(lat, lon, 10)), static_cast<long long>(api::cellIdAt(lat, lon, 13)),
          static_cast<long long>(api::cellIdAt(lat, lon, 16)), hood, local->hour, local->weekday,
          i % 10 == 9 ? firstId : std::string(), city);
    }
    tx.commit();
  }

  static long long sqlCount(const std::string& where) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec_params1("SELECT count(*) FROM reports WHERE source = $1 AND duplicate_of IS NULL AND " + where, *source_)[0]
        .as<long long>();
  }
  static json get(const std::string& path, const std::string& query, int expectStatus = 200) {
    auto r = httpRequest(api_->port(), "GET", path + "?source=" + *source_ + (query.empty() ? "" : "&" + query));
    EXPECT_EQ(r.status, expectStatus) << path << "?" << query << ": " << r.body;
    auto doc = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.body;
    return doc;
  }

  static pqxx::connection* conn_;
  static std::string* source_;
  static testing::ApiDaemon* api_;
};
pqxx::connection* StatsTest::conn_ = nullptr;
std::string* StatsTest::source_ = nullptr;
testing::ApiDaemon* StatsTest::api_ = nullptr;

const std::string kYear = "since=2014-01-01T00:00:00-06:00&until=2015-01-01T00:00:00-06:00";
const std::string kYearSql =
    "occurred_at >= '2014-01-01T00:00:00-06:00' AND occurred_at < '2015-01-01T00:00:00-06:00'";

TEST_F(StatsTest, CategoriesEqualSqlCounts) {
  auto doc = get("/v1/stats/categories", kYear + "&city=chicago");
  long long total = 0;
  ASSERT_FALSE(doc["categories"].empty());
  long long last = 1 << 30;
  for (const auto& c : doc["categories"]) {
    const auto n = c["count"].get<long long>();
    EXPECT_EQ(n, sqlCount(kYearSql + " AND city = 'chicago' AND category = '" + c["category"].get<std::string>() + "'"))
        << c.dump();
    EXPECT_LE(n, last);  // busiest first
    last = n;
    total += n;
  }
  EXPECT_EQ(total, sqlCount(kYearSql + " AND city = 'chicago'"));
  auto two = get("/v1/stats/categories", kYear + "&category=theft&category=assault");
  long long both = 0;
  for (const auto& c : two["categories"]) both += c["count"].get<long long>();
  EXPECT_EQ(both, sqlCount(kYearSql + " AND category IN ('theft', 'assault')"));
}

TEST_F(StatsTest, TrendsPerLocalMonthAndYear) {
  auto months = get("/v1/stats/trends", "interval=month");
  EXPECT_EQ(months["interval"], "month");
  long long total = 0;
  for (const auto& p : months["points"]) {
    const std::string m = p["period"];  // "2014-03"
    const std::string from = m + "-01 00:00:00";
    EXPECT_EQ(p["count"].get<long long>(),
              sqlCount("occurred_at >= ('" + from + "'::timestamp AT TIME ZONE 'America/Chicago') AND occurred_at < (('" +
                       from + "'::timestamp + interval '1 month') AT TIME ZONE 'America/Chicago')"))
        << m;
    total += p["count"].get<long long>();
  }
  EXPECT_EQ(total, sqlCount("true"));
  EXPECT_GE(months["points"].size(), 30u);
  auto years = get("/v1/stats/trends", "interval=year&category=theft");
  ASSERT_EQ(years["points"].size(), 3u) << years.dump();
  EXPECT_EQ(years["points"][1]["period"], "2014");
  EXPECT_EQ(years["points"][1]["count"].get<long long>(), sqlCount(kYearSql + " AND category = 'theft'"));
}

TEST_F(StatsTest, HoursInLocalTime) {
  auto doc = get("/v1/stats/hours", kYear);
  long long total = 0;
  for (const auto& c : doc["cells"]) {
    const int wd = c["weekday"], h = c["hour"];
    ASSERT_GE(wd, 0);
    ASSERT_LE(wd, 6);
    // The independent check: weekday/hour of occurred_at in the zone (ISO dow 1 = Monday).
    EXPECT_EQ(c["count"].get<long long>(),
              sqlCount(kYearSql + " AND extract(isodow from occurred_at AT TIME ZONE 'America/Chicago') = " +
                       std::to_string(wd + 1) + " AND extract(hour from occurred_at AT TIME ZONE 'America/Chicago') = " +
                       std::to_string(h)))
        << c.dump();
    total += c["count"].get<long long>();
  }
  EXPECT_EQ(total, sqlCount(kYearSql));
}

TEST_F(StatsTest, HeatmapCellsAndBbox) {
  const std::string bbox = "-87.70,41.80,-87.55,41.95";
  const std::string bboxSql = "lat BETWEEN 41.80 AND 41.95 AND lon BETWEEN -87.70 AND -87.55";
  auto doc = get("/v1/stats/heatmap", "level=13&bbox=" + bbox);
  EXPECT_EQ(doc["level"], 13);
  long long total = 0;
  ASSERT_FALSE(doc["cells"].empty());
  // The stored level-13 cells, by token.
  std::map<std::string, long long> expected;
  {
    pqxx::nontransaction tx(*conn_);
    for (const auto& row : tx.exec_params("SELECT cell_l13, count(*) FROM reports WHERE source = $1 AND duplicate_of IS NULL AND " +
                                              bboxSql + " GROUP BY cell_l13",
                                          *source_)) {
      expected[core::cellToken(static_cast<std::uint64_t>(row[0].as<long long>()))] = row[1].as<long long>();
    }
  }
  EXPECT_EQ(doc["cells"].size(), expected.size());
  for (const auto& c : doc["cells"]) {
    ASSERT_TRUE(expected.count(c["cell"].get<std::string>())) << c.dump();
    EXPECT_EQ(expected[c["cell"].get<std::string>()], c["count"].get<long long>()) << c.dump();
    EXPECT_GT(c["lat"].get<double>(), 41.7);
    EXPECT_LT(c["lon"].get<double>(), -87.5);
    total += c["count"].get<long long>();
  }
  EXPECT_EQ(total, sqlCount(bboxSql));
  // Level 11 is cut from the level-16 ids: same total, fewer cells.
  auto coarse = get("/v1/stats/heatmap", "level=11&bbox=" + bbox);
  long long coarseTotal = 0;
  for (const auto& c : coarse["cells"]) coarseTotal += c["count"].get<long long>();
  EXPECT_EQ(coarseTotal, total);
  EXPECT_LT(coarse["cells"].size(), doc["cells"].size());
}

TEST_F(StatsTest, NeighbourhoodsWithThePreviousPeriod) {
  auto doc = get("/v1/stats/neighbourhoods", kYear + "&city=chicago&limit=2");
  ASSERT_EQ(doc["neighbourhoods"].size(), 2u) << doc.dump();
  const std::string prevSql =
      "occurred_at >= '2013-01-01T00:00:00-06:00' AND occurred_at < '2014-01-01T00:00:00-06:00'";
  for (const auto& n : doc["neighbourhoods"]) {
    EXPECT_EQ(n["city"], "chicago");
    const std::string hood = n["name"];
    EXPECT_EQ(n["count"].get<long long>(), sqlCount(kYearSql + " AND city = 'chicago' AND neighbourhood = '" + hood + "'"));
    EXPECT_EQ(n["previous"].get<long long>(), sqlCount(prevSql + " AND city = 'chicago' AND neighbourhood = '" + hood + "'"));
    const double expected = (n["count"].get<double>() - n["previous"].get<double>()) / n["previous"].get<double>();
    EXPECT_NEAR(n["change"].get<double>(), expected, 1e-4);
  }
  EXPECT_GE(doc["neighbourhoods"][0]["count"].get<long long>(), doc["neighbourhoods"][1]["count"].get<long long>());
  auto one = get("/v1/stats/neighbourhoods", kYear + "&city=chicago&neighbourhood=LOOP");
  ASSERT_EQ(one["neighbourhoods"].size(), 1u);
  EXPECT_EQ(one["neighbourhoods"][0]["name"], "LOOP");
}

TEST_F(StatsTest, ChangeAgainstTheYearBefore) {
  auto doc = get("/v1/stats/change", kYear);
  EXPECT_EQ(doc["current"]["since"], "2014-01-01T06:00:00Z");
  EXPECT_EQ(doc["previous"]["since"], "2013-01-01T06:00:00Z");
  EXPECT_EQ(doc["previous"]["until"], "2014-01-01T06:00:00Z");
  const std::string prevSql = "occurred_at >= '2013-01-01T06:00:00Z' AND occurred_at < '2014-01-01T06:00:00Z'";
  ASSERT_FALSE(doc["categories"].empty());
  for (const auto& c : doc["categories"]) {
    const std::string cat = c["category"];
    EXPECT_EQ(c["current"].get<long long>(), sqlCount(kYearSql + " AND category = '" + cat + "'")) << cat;
    EXPECT_EQ(c["previous"].get<long long>(), sqlCount(prevSql + " AND category = '" + cat + "'")) << cat;
  }
}

// A window that cuts days in the middle: its whole local days come from
// report_day_counts, the cut ones from the reports; the sum is the SQL count.
TEST_F(StatsTest, WindowCuttingDaysEqualsSqlCounts) {
  const std::string q = "since=2014-03-15T13:37:00Z&until=2014-09-02T07:11:00Z";
  const std::string where = "occurred_at >= '2014-03-15T13:37:00Z' AND occurred_at < '2014-09-02T07:11:00Z'";
  long long total = 0;
  const auto categories = get("/v1/stats/categories", q);
  for (const auto& c : categories["categories"]) {
    EXPECT_EQ(c["count"].get<long long>(), sqlCount(where + " AND category = '" + c["category"].get<std::string>() + "'"));
    total += c["count"].get<long long>();
  }
  EXPECT_EQ(total, sqlCount(where)) << categories.dump();
  ASSERT_GT(total, 0);
  // (Each answer is kept in a variable: a range-for over a member of a
  // temporary reads freed memory.)
  long long hours = 0;
  const auto cells = get("/v1/stats/hours", q + "&city=chicago");
  for (const auto& c : cells["cells"]) hours += c["count"].get<long long>();
  EXPECT_EQ(hours, sqlCount(where + " AND city = 'chicago'"));
  const auto trends = get("/v1/stats/trends", q);
  for (const auto& p : trends["points"]) {
    const std::string m = p["period"];
    EXPECT_EQ(p["count"].get<long long>(),
              sqlCount(where + " AND to_char(occurred_at AT TIME ZONE 'America/Chicago', 'YYYY-MM') = '" + m + "'"))
        << m;
  }
  // A window shorter than two days: no whole day at all.
  const std::string day = "since=2014-05-05T20:00:00Z&until=2014-05-06T19:00:00Z";
  long long short_ = 0;
  const auto shortDoc = get("/v1/stats/categories", day);
  for (const auto& c : shortDoc["categories"]) short_ += c["count"].get<long long>();
  EXPECT_EQ(short_, sqlCount("occurred_at >= '2014-05-05T20:00:00Z' AND occurred_at < '2014-05-06T19:00:00Z'"));
}

// The day counts follow the rows: a report that changes category moves its
// count, one marked as a duplicate leaves it, and rewriting a row unchanged
// (a retried batch) counts nothing twice.
TEST_F(StatsTest, DayCountsFollowUpsertsAndDuplicates) {
  auto count = [&](const std::string& category) {
    const auto doc = get("/v1/stats/categories", kYear);
    for (const auto& c : doc["categories"]) {
      if (c["category"] == category) return c["count"].get<long long>();
    }
    return 0LL;
  };
  std::string id, category;
  {
    pqxx::nontransaction tx(*conn_);
    auto row = tx.exec_params1("SELECT id::text, category FROM reports WHERE source = $1 AND duplicate_of IS NULL AND " +
                                   kYearSql + " AND category <> 'arson' ORDER BY id LIMIT 1",
                               *source_);
    id = row[0].as<std::string>();
    category = row[1].as<std::string>();
  }
  const long long before = count(category);
  ASSERT_EQ(before, sqlCount(kYearSql + " AND category = '" + category + "'"));
  auto exec = [&](const std::string& sql) {
    pqxx::work tx(*conn_);
    tx.exec_params(sql, id);
    tx.commit();
  };
  exec("UPDATE reports SET category = 'arson' WHERE id = $1::uuid");
  EXPECT_EQ(count(category), before - 1);
  EXPECT_EQ(count("arson"), 1);
  exec("UPDATE reports SET category = category, description = description WHERE id = $1::uuid");  // the same row again
  EXPECT_EQ(count("arson"), 1);
  exec("UPDATE reports SET duplicate_of = id WHERE id = $1::uuid");
  EXPECT_EQ(count("arson"), 0);
  exec("UPDATE reports SET duplicate_of = NULL, category = '" + category + "' WHERE id = $1::uuid");
  EXPECT_EQ(count(category), before);
  EXPECT_EQ(count(category), sqlCount(kYearSql + " AND category = '" + category + "'"));
}

TEST_F(StatsTest, BadInputIs400Json) {
  for (const auto& [path, query, field] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/v1/stats/categories", "since=2014-13-01T00:00:00Z", "since"},
           {"/v1/stats/heatmap", "level=99", "level"},
           {"/v1/stats/trends", "interval=decade", "interval"},
           {"/v1/stats/neighbourhoods", "limit=100000", "limit"},
           {"/v1/stats/hours", "bbox=1,2", "bbox"},
           {"/v1/stats/change", "neighbourhood=LOOP", "neighbourhood"},
           {"/v1/stats/categories", "category=theft%27%3B%20DROP%20TABLE%20reports%3B--", "category"},
           {"/v1/stats/categories", "city=%27%20OR%201%3D1", "city"},
       }) {
    auto doc = get(path, query, 400);
    EXPECT_EQ(doc["error"]["field"], field) << path << "?" << query;
  }
  // The server is fine afterwards, and the table too.
  EXPECT_EQ(get("/v1/stats/categories", "").contains("categories"), true);
  EXPECT_GT(sqlCount("true"), 0);
}

}  // namespace
}  // namespace safestream
