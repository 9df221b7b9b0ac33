// The whole Chicago and SpotCrime samples through the real stack: PostgreSQL
// rows, S3 archive contents and reports.enriched checked against the input.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "core/kafka.h"
#include "core/report_codec.h"
#include "tests/integration/processor/processor_harness.h"
#include "tests/integration/processor/sample_reports.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

TEST(ProcessorEndToEnd, ChicagoAndSpotCrimeSamplesReachEverySink) {
  auto run = testing::startProcessor("e2e");
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  auto chicago = testing::chicagoSample(run.tag);
  auto spot = testing::spotcrimeSample(run.tag);
  ASSERT_EQ(chicago.size(), 6957u);
  ASSERT_EQ(spot.size(), 1582u);
  std::size_t ungeocoded = 0;
  for (const auto& m : chicago) ungeocoded += m.geocoded ? 0 : 1;
  ASSERT_EQ(ungeocoded, 73u);
  std::vector<testing::SampleMessage> all = chicago;
  all.insert(all.end(), spot.begin(), spot.end());
  testing::produceAll(bootstrap, all);
  const long long total = static_cast<long long>(all.size());
  const std::string mine = "source_id LIKE '" + run.tag + "%'";

  // ---- PostgreSQL: every report once, un-geocoded rows stored without cells
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine) >= total; },
                                 180s, 500ms))
      << "rows: " << testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine) << "\n" << run.daemon->logTail();
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine), total);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE source = 'chicago' AND " + mine), 6957);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE source = 'spotcrime' AND " + mine), 1582);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE lat IS NULL AND " + mine), 73);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE lat IS NULL AND (cell_l13 IS NOT NULL OR "
                              "neighbourhood IS NOT NULL) AND " + mine), 0);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE lat IS NOT NULL AND cell_l13 IS NULL AND " + mine), 0);
  // Taxonomy: every sample type maps; THEFT rows are theft.
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE raw_type = 'THEFT' AND category = 'theft' AND " + mine), 1284);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE category = 'vehicle-theft' AND source = 'chicago' AND " + mine), 323);
  // Time zone: 9531700 "03/14/2014 11:52:00 PM" Chicago (CDT) is 04:52 UTC.
  EXPECT_EQ(testing::pgScalar("SELECT extract(epoch FROM occurred_at)::bigint FROM reports WHERE source_id = '" +
                              run.tag + "9531700'"),
            core::toEpochMillis(*core::parseTimestamp("2014-03-15T04:52:00Z")) / 1000);
  EXPECT_EQ(testing::pgScalar("SELECT local_hour FROM reports WHERE source_id = '" + run.tag + "9531700'"), 23);
  // Neighbourhoods: most Chicago rows fall in a community area; the row of
  // 030XX W DIVERSEY AVE (community area 22) is in LOGAN SQUARE.
  EXPECT_GT(testing::pgScalar("SELECT count(*) FROM reports WHERE source = 'chicago' AND neighbourhood IS NOT NULL AND " + mine), 6800);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE source_id = '" + run.tag +
                              "9532593' AND neighbourhood = 'LOGAN SQUARE'"), 1);
  EXPECT_GT(testing::pgScalar("SELECT count(*) FROM reports WHERE source = 'spotcrime' AND neighbourhood IS NOT NULL AND " + mine), 1000);
  // Near-duplicates: the TAHOE TRL pair (two cdids, same minute, ~44 m) ends
  // in one group (both may link to a third report of the same incident,
  // depending on which arrived first).
  const std::string tahoe = "source_id IN ('" + run.tag + "69111803', '" + run.tag + "69099741')";
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE " + tahoe), 2);
  EXPECT_EQ(testing::pgScalar("SELECT count(DISTINCT coalesce(duplicate_of, id)) FROM reports WHERE " + tahoe), 1);
  EXPECT_GE(testing::pgScalar("SELECT count(*) FROM reports WHERE duplicate_of IS NOT NULL AND " + tahoe), 1);
  const long long linked = testing::pgScalar("SELECT count(*) FROM reports WHERE duplicate_of IS NOT NULL AND " + mine);
  EXPECT_GT(linked, 0);
  // A link points at a stored report of the same category.
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports d LEFT JOIN reports o ON o.id = d.duplicate_of "
                              "WHERE d.duplicate_of IS NOT NULL AND (o.id IS NULL OR o.category <> d.category) AND d." + mine),
            0);

  // ---- S3: the public fields of every report exactly once
  std::map<std::string, int> seen;
  std::size_t objects = 0;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        seen.clear();
        objects = 0;
        for (const auto& [key, lines] : testing::s3Lines(run.s3Prefix)) {
          EXPECT_NE(key.find("/dt="), std::string::npos) << key;
          EXPECT_NE(key.find("/hour="), std::string::npos) << key;
          EXPECT_NE(key.find(".ndjson.gz"), std::string::npos) << key;
          ++objects;
          for (const auto& l : lines) {
            auto j = nlohmann::json::parse(l);
            const std::string sid = j.value("source_id", "");
            if (sid.rfind(run.tag, 0) == 0) ++seen[sid];
            EXPECT_FALSE(j.contains("contact"));
          }
        }
        return seen.size() >= all.size();
      },
      60s, 500ms));
  EXPECT_EQ(seen.size(), all.size());
  for (const auto& [sid, n] : seen) EXPECT_EQ(n, 1) << sid << " archived " << n << " times";
  EXPECT_GT(objects, 0u);

  // ---- reports.enriched: every report, keyed by its level-13 cell
  core::KafkaConsumer c({bootstrap, {}}, {.groupId = "it-" + run.tag + "enriched", .topics = {"reports.enriched"}});
  std::map<std::string, std::string> keyOf;  // source_id -> key
  std::size_t geocodedSeen = 0;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        for (const auto& m : c.poll(5000, 200ms)) {
          auto r = core::decodeReport(m.value);
          if (!r.ok() || r->sourceId.rfind(run.tag, 0) != 0) continue;
          if (!r->enrichment) { ADD_FAILURE() << "no enrichment"; continue; }
          if (r->location) {
            EXPECT_EQ(m.key, core::cellToken(r->enrichment->cellL13));
            ++geocodedSeen;
          } else {
            EXPECT_EQ(m.key, r->id.value);
          }
          EXPECT_FALSE(r->contact.has_value());
          keyOf.emplace(r->sourceId, m.key);
        }
        return keyOf.size() >= all.size();
      },
      120s, 0ms));
  EXPECT_EQ(keyOf.size(), all.size());

  // ---- metrics
  EXPECT_GE(testing::metricValue(run.metricsUrl(), "safestream_processor_valid_total"), static_cast<double>(total));
  EXPECT_GE(testing::metricValue(run.metricsUrl(), "safestream_processor_ungeocoded_total"), 73);
  EXPECT_GE(testing::metricValue(run.metricsUrl(), "safestream_processor_duplicates_linked_total"), static_cast<double>(linked));
  EXPECT_GT(testing::metricValue(run.metricsUrl(), "safestream_processor_sink_batch_seconds_count", "sink=\"postgres\""), 0);
  // Ready again soon after the work (a probe or a write may time out for a
  // moment on a loaded machine; then the body says which).
  std::string readyBody;
  EXPECT_TRUE(testing::waitUntil(
      [&] {
        auto [status, body] = testing::httpGet(run.metricsUrl() + "/readyz");
        readyBody = body;
        return status == 200;
      },
      15s, 200ms))
      << readyBody << "\n" << run.daemon->logTail();
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
}

// The first Chicago sample report, and a later version of it as `change` makes it.
std::pair<std::vector<testing::SampleMessage>, std::vector<testing::SampleMessage>> reportAndLaterVersion(
    const std::string& tag, const std::function<void(nlohmann::json&)>& change) {
  auto first = testing::chicagoSample(tag);
  first.resize(1);
  auto later = first;
  nlohmann::json j = nlohmann::json::parse(later[0].json);
  change(j);
  later[0].json = j.dump();
  return {first, later};
}

TEST(ProcessorEndToEnd, ALaterVersionUpdatesTheRowEvenWhenItsMonthChanges) {
  auto run = testing::startProcessor("version");
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  const auto [first, later] = reportAndLaterVersion(run.tag, [](nlohmann::json& j) {
    j["occurred_at"] = "2014-02-27T10:00:00";  // moved to the previous month (another partition)
    j["raw_type"] = "ROBBERY";
  });
  testing::produceAll(bootstrap, first);
  const std::string where = "source_id = '" + first[0].sourceId + "'";
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE " + where) == 1; }, 60s));
  testing::produceAll(bootstrap, later);
  ASSERT_TRUE(testing::waitUntil(
      [&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE category = 'robbery' AND " + where) == 1; }, 60s));
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE " + where), 1) << "the old row must be gone";
  EXPECT_EQ(testing::pgScalar("SELECT extract(month FROM occurred_at)::int FROM reports WHERE " + where), 2);
}

// New ids take plain INSERTs; a row that is in `reports` but not in
// report_ids (restored from the archive, written by hand) makes that insert
// fail, and the shard is written again as an upsert instead of retrying
// forever.
TEST(ProcessorEndToEnd, ARowStoredOutsideTheProcessorsBookkeepingIsUpdatedNotDuplicated) {
  auto run = testing::startProcessor("outside");
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  const auto [first, later] = reportAndLaterVersion(run.tag, [](nlohmann::json& j) { j["raw_type"] = "ROBBERY"; });
  testing::produceAll(bootstrap, first);
  const std::string where = "source_id = '" + first[0].sourceId + "'";
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE " + where) == 1; }, 60s));
  testing::pgExec("DELETE FROM report_ids WHERE id = (SELECT id FROM reports WHERE " + where + ")");
  ASSERT_EQ(testing::pgScalar("SELECT count(*) FROM report_ids WHERE id = (SELECT id FROM reports WHERE " + where + ")"), 0);
  testing::produceAll(bootstrap, later);
  ASSERT_TRUE(testing::waitUntil(
      [&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE category = 'robbery' AND " + where) == 1; }, 60s))
      << run.daemon->logTail();
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM reports WHERE " + where), 1);
  EXPECT_EQ(testing::pgScalar("SELECT count(*) FROM report_ids WHERE id = (SELECT id FROM reports WHERE " + where + ")"), 1);
}

}  // namespace
}  // namespace safestream
