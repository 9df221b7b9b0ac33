// Streams the real Chicago sample (data/chicago_crimes_2014_sample.csv) in
// event-time order through the alert sink, against real PostgreSQL and
// Redis. The number of alerts a subscription around the Loop receives is
// checked against a SQL query over the same rows, and a burst injected into
// one cell raises exactly one surge alert.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "core/redis_client.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "core/subscription.h"
#include "processor/alerting/alert_format.h"
#include "processor/alerting/redis_alert_sink.h"
#include "processor/alerting/subscription_store.h"
#include "tests/integration/alerting/stream_entries.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;
using namespace processor::alerting;
using nlohmann::json;

class FixedClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return core::parseTimestamp("2014-03-16T12:00:00Z").value(); }
};

// Splits one CSV line (quoted fields may hold commas).
std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  return out;
}

struct Row {
  std::string id;
  std::string primaryType;
  core::Timestamp occurred;
  core::GeoPoint where;
  std::string community;  // the CSV's Community Area, as the boundary file names it
};

// Community area number -> name, from the boundary file (area_numbe).
std::map<std::string, std::string> communityNames() {
  std::ifstream in(testing::sourcePath("data/chicago_community_areas.geojson"));
  const auto doc = json::parse(in);
  std::map<std::string, std::string> out;
  for (const auto& f : doc["features"]) {
    const auto& p = f["properties"];
    out[std::to_string(p["area_numbe"].get<int>())] = p["community"].get<std::string>();
  }
  return out;
}

std::vector<Row> chicagoRows() {
  std::ifstream in(testing::sourcePath("data/chicago_crimes_2014_sample.csv"));
  EXPECT_TRUE(in.good());
  std::string line;
  std::getline(in, line);
  const auto header = splitCsv(line);
  auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const auto cId = col("ID"), cDate = col("Date"), cType = col("Primary Type"), cLat = col("Latitude"),
             cLon = col("Longitude"), cArea = col("Community Area");
  const auto names = communityNames();
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    auto f = splitCsv(line);
    if (f.size() <= std::max({cLat, cLon}) || f[cLat].empty() || f[cLon].empty()) continue;  // not geocoded
    auto t = core::parseLocalTime(f[cDate], "%m/%d/%Y %I:%M:%S %p", "America/Chicago");
    if (!t) continue;
    auto name = names.find(f[cArea]);
    rows.push_back({f[cId], f[cType], *t, {std::stod(f[cLat]), std::stod(f[cLon])},
                    name == names.end() ? std::string() : name->second});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.occurred < b.occurred; });
  return rows;
}

std::string exact(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

std::uint64_t cellL13(core::GeoPoint p) { return S2CellId(S2LatLng::FromDegrees(p.lat, p.lon)).parent(13).id(); }

core::Report toReport(const std::string& source, const Row& row) {
  core::Report r;
  r.source = source;
  r.sourceId = row.id;
  r.id = core::reportIdFor(r.source, r.sourceId);
  r.rawType = row.primaryType;
  r.occurredAt = row.occurred;
  r.reportedAt = row.occurred;
  r.location = row.where;
  core::Enrichment e;
  // The test's own small mapping: only the categories it asserts on matter.
  e.category = row.primaryType == "THEFT" ? "theft" : row.primaryType == "ARSON" ? "arson" : "other";
  e.severity = 3;
  e.cellL13 = cellL13(row.where);
  if (!row.community.empty()) e.neighbourhood = row.community;
  e.city = "chicago";
  r.enrichment = e;
  return r;
}

std::vector<json> streamAlerts(core::RedisClient& redis, const std::string& subscriptionId) {
  return testing::streamEntries(redis, streamKey(subscriptionId));
}

void insertCircle(pqxx::connection& c, const std::string& id, core::GeoPoint center, double radius,
                  const std::string& categories) {
  pqxx::work tx(c);
  tx.exec_params(
      "INSERT INTO subscriptions (id, token_hash, area_type, center_lat, center_lon, radius_m, categories) "
      "VALUES ($1::uuid, $2, 'circle', $3, $4, $5, $6::text[])",
      id, core::hashToken(core::generateToken()), center.lat, center.lon, radius, categories);
  tx.commit();
}

TEST(ChicagoSample, AlertsMatchSqlAndAnInjectedBurstRaisesExactlyOneSurge) {
  const std::string pgUrl = testing::requireStackEnv("SAFESTREAM_PG_URL");
  const std::string redisUrl = testing::requireStackEnv("SAFESTREAM_REDIS_URL");
  const std::string run = core::randomUuid().substr(0, 8);
  const std::string source = "chicago-alerting-" + run;  // fresh report ids per run
  const core::GeoPoint loop{41.8819, -87.6278};

  auto rows = chicagoRows();
  ASSERT_GT(rows.size(), 6800u);
  // The injected burst: 12 arsons within 11 minutes at the Loop, at night.
  const auto burstStart = core::parseLocalTime("03/10/2014 03:00:00 AM", "%m/%d/%Y %I:%M:%S %p", "America/Chicago");
  ASSERT_TRUE(burstStart.ok());
  for (int i = 0; i < 12; ++i) {
    rows.push_back({"burst-" + std::to_string(i), "ARSON", *burstStart + std::chrono::minutes(i),
                    {loop.lat + 0.00001 * i, loop.lon}, "LOOP"});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.occurred < b.occurred; });

  pqxx::connection pg(pgUrl);
  const std::string thefts = core::randomUuid(), everything = core::randomUuid();
  insertCircle(pg, thefts, loop, 1500, "{theft}");
  insertCircle(pg, everything, loop, 600, "{}");
  // And the busiest community area of the sample by name.
  std::map<std::string, long> perArea;
  for (const auto& r : rows) ++perArea[r.community];
  perArea.erase("");
  const auto busiest = std::max_element(perArea.begin(), perArea.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  const std::string hood = core::randomUuid();
  {
    pqxx::work tx(pg);
    tx.exec_params("INSERT INTO subscriptions (id, token_hash, area_type, neighbourhood, city) VALUES ($1::uuid, $2, "
                   "'neighbourhood', $3, 'chicago')",
                   hood, core::hashToken(core::generateToken()), busiest);
    tx.commit();
  }

  prometheus::Registry prom;
  AlertMetrics metrics(prom);
  auto registry = std::make_shared<SubscriptionRegistry>(
      std::make_shared<const core::CityCatalog>(core::CityCatalog::load(testing::sourcePath("deploy/cities.json"))),
      &metrics);
  SubscriptionListener listener(pgUrl, *registry, metrics, 100ms);
  listener.start();
  ASSERT_TRUE(listener.waitUntilLoaded(20s));
  ASSERT_TRUE(testing::waitUntil(
      [&] { return registry->find(thefts) && registry->find(everything) && registry->find(hood); }, 5000ms));

  FixedClock clock;
  RedisAlertSinkOptions options;
  options.streamMaxLen = 100000;
  options.surgeKeyPrefix = "test:surge:" + run + ":";
  RedisAlertSink sink(options, registry, std::make_unique<core::RedisClient>(core::RedisSettings{redisUrl}), metrics,
                      clock);
  for (std::size_t i = 0; i < rows.size(); i += 500) {
    processor::SinkBatch batch;
    for (std::size_t k = i; k < std::min(rows.size(), i + 500); ++k) {
      batch.reports.push_back({toReport(source, rows[k]), {"reports.raw", 0}, static_cast<std::int64_t>(k)});
    }
    auto s = sink.write(batch);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  listener.stop();

  // The same rows in PostgreSQL, counted with SQL (haversine on the sphere
  // of radius 6371008.8 m, as the matcher measures).
  pqxx::work tx(pg);
  tx.exec0(
      "CREATE TEMP TABLE chicago_rows (id text PRIMARY KEY, primary_type text, lat float8, lon float8, community text)");
  for (std::size_t i = 0; i < rows.size(); i += 1000) {
    std::string sql = "INSERT INTO chicago_rows VALUES ";
    for (std::size_t k = i; k < std::min(rows.size(), i + 1000); ++k) {
      if (k > i) sql += ',';
      sql += "(" + tx.quote(rows[k].id) + "," + tx.quote(rows[k].primaryType) + "," +
             exact(rows[k].where.lat) + "," + exact(rows[k].where.lon) + "," + tx.quote(rows[k].community) + ")";
    }
    tx.exec0(sql);
  }
  auto countWithin = [&](double radius, const std::string& typeFilter) {
    return tx
        .exec_params1("SELECT count(*) FROM chicago_rows WHERE " + typeFilter +
                          " 2 * 6371008.8 * asin(sqrt(power(sin(radians(lat - $1) / 2), 2) + "
                          "cos(radians($1)) * cos(radians(lat)) * power(sin(radians(lon - $2) / 2), 2))) <= $3",
                      loop.lat, loop.lon, radius)[0]
        .as<long>();
  };
  const long expectedThefts = countWithin(1500, "primary_type = 'THEFT' AND");
  const long expectedAll = countWithin(600, "");
  const long expectedHood = tx.exec_params1("SELECT count(*) FROM chicago_rows WHERE community = $1", busiest)[0].as<long>();
  tx.abort();

  core::RedisClient redis({redisUrl});
  // Only alerts of this test's reports count: a processor of another test
  // running at the same time on the stack matches its own reports (the same
  // sample, other ids) against every subscription, these included.
  std::set<std::string> ours;
  for (const auto& r : rows) ours.insert(core::reportIdFor(source, r.id).value);
  auto reportAlerts = [&](const std::string& id) {
    long n = 0;
    for (const auto& a : streamAlerts(redis, id)) {
      n += a["type"] == "report" && ours.count(a.value("report_id", "")) ? 1 : 0;
    }
    return n;
  };
  std::cout << "[ measure  ] " << rows.size() << " rows; thefts within 1.5 km of the Loop: " << expectedThefts
            << "; all reports within 600 m: " << expectedAll << "\n";
  EXPECT_GT(expectedThefts, 20) << "the subscription should sit on a busy area";
  EXPECT_EQ(reportAlerts(thefts), expectedThefts);
  EXPECT_EQ(reportAlerts(everything), expectedAll);
  std::cout << "[ measure  ] busiest community area " << busiest << ": " << expectedHood << " geocoded reports\n";
  EXPECT_GT(expectedHood, 100);
  EXPECT_EQ(reportAlerts(hood), expectedHood);

  std::vector<json> surges;
  for (const auto& a : streamAlerts(redis, everything)) {
    if (a["type"] == "surge" && a["category"] == "arson") surges.push_back(a);
  }
  ASSERT_EQ(surges.size(), 1u) << "the injected burst should raise exactly one surge alert";
  EXPECT_EQ(surges[0]["cell"], core::cellToken(cellL13(loop)));
  EXPECT_GE(surges[0]["count"].get<int>(), 5);
  for (const auto& a : streamAlerts(redis, thefts)) {
    EXPECT_FALSE(a["type"] == "surge" && a["category"] == "arson") << "arson surge sent to a theft-only subscription";
  }

  pqxx::work cleanup(pg);
  cleanup.exec_params("DELETE FROM subscriptions WHERE id = ANY($1::uuid[])", "{" + thefts + "," + everything + "," + hood + "}");
  cleanup.commit();
}

}  // namespace
}  // namespace safestream
