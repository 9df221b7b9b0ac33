// A city the project had no rules for, through the real stack with only its
// committed mapping and city entry: `safestream-ingest import` of the Los
// Angeles sample -> Kafka -> safestream-processor -> PostgreSQL. Every row
// once, times right in Los Angeles' zone, the city and the LAPD division on
// the rows, and few left in "other".
#include <gtest/gtest.h>

#include <filesystem>

#include "core/time.h"
#include "tests/integration/processor/processor_harness.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

TEST(CityImport, LosAngelesThroughItsMappingReachesPostgresWithCityDivisionAndLocalTimes) {
  auto run = testing::startProcessor("la");
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  const std::string file = testing::sourcePath("data/la_crimes_sample.csv");
  // A source of this run only: the rows of earlier runs and other tests are not counted.
  const std::string source = "csv:la.test" + run.tag.substr(0, 8);
  const auto stateDir = std::filesystem::temp_directory_path() / ("la-import-" + run.tag);
  const std::string cmd = "SAFESTREAM_KAFKA_BOOTSTRAP=" + bootstrap + " " +
                          testing::binaryPath("ingest/safestream-ingest") + " import --file " + file +
                          " --mapping " + testing::sourcePath("ingest/config/los_angeles_mapping.json") +
                          " --source " + source + " --state-dir " + stateDir.string() + " 2>/dev/null";
  auto out = testing::runCommand(cmd, 120);
  ASSERT_EQ(out.exitCode, 0) << out.output;
  EXPECT_NE(out.output.find("\"published\":10000"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("\"rejected\":0"), std::string::npos) << out.output;

  const std::string mine = "source = '" + source + "'";
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine) >= 10000; },
                                 120s, 500ms))
      << "rows: " << testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine) << "\n" << run.daemon->logTail();
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine), 10000);
  EXPECT_EQ(testing::pgScalar("SELECT count(DISTINCT source_id) FROM reports WHERE " + mine), 10000);

  // City and neighbourhood: every geocoded row is in Los Angeles, and its
  // LAPD division is filled for at least 95 % of them.
  const long long geocoded = testing::pgScalar("SELECT count(*) FROM reports WHERE lat IS NOT NULL AND " + mine);
  EXPECT_EQ(geocoded, 9987) << "13 rows have LAT/LON 0";
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE city = 'los-angeles' AND " + mine), 10000)
      << "the un-geocoded rows keep the mapping's city";
  const long long withDivision =
      testing::pgScalar("SELECT count(*) FROM reports WHERE lat IS NOT NULL AND neighbourhood IS NOT NULL AND " + mine);
  EXPECT_GE(withDivision * 100, geocoded * 95) << withDivision << " of " << geocoded;
  // The division polygons agree with the export's own AREA NAME column
  // (upper-cased; the export abbreviates a few: "N Hollywood", "West LA").
  EXPECT_GT(testing::pgScalar("SELECT count(*) FROM reports WHERE neighbourhood = upper(raw->>'AREA NAME') AND " + mine),
            8000);

  // Times: the local hour and minute stored are TIME OCC's on every row.
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine +
                              " AND (local_hour <> (raw->>'TIME OCC')::int / 100 OR "
                              "extract(minute FROM occurred_at AT TIME ZONE 'America/Los_Angeles')::int <> "
                              "(raw->>'TIME OCC')::int % 100)"),
            0);
  // DR_NO 010304468: DATE OCC 01/08/2020 00:00, TIME OCC 2230 (PST) is 06:30 UTC the next day.
  EXPECT_EQ(testing::pgScalar("SELECT extract(epoch FROM occurred_at)::bigint FROM reports WHERE source_id = '010304468' AND " + mine),
            core::toEpochMillis(*core::parseTimestamp("2020-01-09T06:30:00Z")) / 1000);

  // Classification by the general rules: the top type is a theft, and the
  // catch-all aside, little is left in "other".
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE raw_type = "
                              "'THEFT FROM MOTOR VEHICLE - GRAND ($950.01 AND OVER)' AND category = 'theft' AND " + mine),
            3077);
  const long long other = testing::pgScalar("SELECT count(*) FROM reports WHERE category = 'other' AND raw_type <> "
                                            "'OTHER MISCELLANEOUS CRIME' AND " + mine);
  EXPECT_LT(other, 10000 * 5 / 100) << other << " rows in other";
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE arrest AND " + mine), 614 + 27);
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
  std::filesystem::remove_all(stateDir);
}

}  // namespace
}  // namespace safestream
