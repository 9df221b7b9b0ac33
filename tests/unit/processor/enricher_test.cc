#include "processor/enricher.h"

#include <gtest/gtest.h>

#include "core/report_codec.h"
#include "core/report_id.h"
#include "tests/support/stack_env.h"

namespace safestream::processor {
namespace {

class FixedClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return *core::parseTimestamp("2026-01-01T00:00:00Z"); }
};

struct EnricherTest : ::testing::Test {
  Taxonomy taxonomy = Taxonomy::load(testing::sourcePath("schemas/taxonomy.v1.csv"));
  core::CityCatalog cities = core::CityCatalog::load(testing::sourcePath("deploy/cities.json"));
  FixedClock clock;
  Enricher enricher{taxonomy, &cities, clock};

  core::Report decode(const std::string& json) {
    auto r = core::decodeReport(json);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : core::Report{};
  }
};

std::string chicagoRow(const std::string& sourceId, const std::string& localTime, const std::string& extra) {
  return R"({"id":")" + core::reportIdFor("chicago", sourceId).value + R"(","source":"chicago","source_id":")" +
         sourceId + R"(","raw_type":"THEFT","raw_code":"0820","occurred_at":")" + localTime +
         R"(","time_zone":"America/Chicago")" + extra + "}";
}

TEST_F(EnricherTest, ChicagoLocalTimesBecomeUtcAcrossDaylightSaving) {
  // 2014-03-08 (CST, UTC-6) and 2014-03-10 (CDT, UTC-5): DST began 2014-03-09.
  auto before = decode(chicagoRow("1", "2014-03-08T23:52:00", ""));
  EXPECT_EQ(core::formatTimestamp(before.occurredAt), "2014-03-09T05:52:00Z");
  auto after = decode(chicagoRow("2", "2014-03-10T23:52:00", ""));
  EXPECT_EQ(core::formatTimestamp(after.occurredAt), "2014-03-11T04:52:00Z");
  enricher.enrich(before);
  enricher.enrich(after);
  // Local hour and ISO weekday are those of Chicago, not UTC.
  EXPECT_EQ(before.enrichment->localHour, 23);
  EXPECT_EQ(before.enrichment->localWeekday, 6);  // Saturday
  EXPECT_EQ(after.enrichment->localHour, 23);
  EXPECT_EQ(after.enrichment->localWeekday, 1);   // Monday
}

TEST_F(EnricherTest, AustinSpotCrimeTimeUsesCentralTime) {
  auto r = decode(R"({"id":")" + core::reportIdFor("spotcrime", "69098992").value +
                  R"(","source":"spotcrime","source_id":"69098992","raw_type":"Theft",)"
                  R"("occurred_at":"2015-10-19T21:07:00","time_zone":"America/Chicago","lat":30.2111386727,"lon":-97.8365453262})");
  EXPECT_EQ(core::formatTimestamp(r.occurredAt), "2015-10-20T02:07:00Z");
  auto o = enricher.enrich(r);
  EXPECT_EQ(r.enrichment->localHour, 21);
  EXPECT_EQ(r.enrichment->category, "theft");
  EXPECT_TRUE(o.geocoded);
  EXPECT_EQ(r.enrichment->city, "austin");
  EXPECT_TRUE(r.enrichment->neighbourhood.has_value());
}

TEST_F(EnricherTest, EnrichesCellsNeighbourhoodAndCategory) {
  auto r = decode(chicagoRow("3", "2014-03-14T23:52:00", R"(,"lat":41.93193179666549,"lon":-87.70464452726821)"));
  auto o = enricher.enrich(r);
  ASSERT_TRUE(r.enrichment.has_value());
  const auto& e = *r.enrichment;
  EXPECT_EQ(e.category, "theft");
  EXPECT_EQ(e.severity, 2);
  EXPECT_EQ(e.cellL13, cellIdsFor(*r.location).l13);
  EXPECT_NE(e.cellL10, 0u);
  EXPECT_NE(e.cellL16, 0u);
  EXPECT_EQ(e.neighbourhood, "LOGAN SQUARE");
  EXPECT_EQ(e.city, "chicago");
  EXPECT_EQ(e.classifiedBy, "source-type");  // IUCR 0820 has no rule of its own
  EXPECT_EQ(e.processedAt, clock.now());
  EXPECT_FALSE(o.unmappedType);
  EXPECT_FALSE(o.duplicate);
}

TEST_F(EnricherTest, RowsWithoutCoordinatesStayUngeocoded) {
  auto r = decode(chicagoRow("4", "2014-03-15T00:00:00", ""));
  auto o = enricher.enrich(r);
  EXPECT_FALSE(o.geocoded);
  EXPECT_EQ(r.enrichment->cellL13, 0u);
  EXPECT_FALSE(r.enrichment->neighbourhood.has_value());
  EXPECT_FALSE(r.enrichment->city.has_value()) << "no point, no declared city";
  EXPECT_EQ(r.enrichment->localHour, 0);
}

std::string cityRow(const std::string& sourceId, const std::string& extra) {
  return R"({"id":")" + core::reportIdFor("csv:test", sourceId).value + R"(","source":"csv:test","source_id":")" +
         sourceId + R"(","raw_type":"ROBBERY","occurred_at":"2024-07-01T12:00:00Z")" + extra + "}";
}

TEST_F(EnricherTest, HydeParkIsQualifiedByItsCity) {
  auto chicago = decode(cityRow("h1", R"(,"lat":41.7940,"lon":-87.5845)"));
  auto austin = decode(cityRow("h2", R"(,"lat":30.3099,"lon":-97.7260,"city":"chicago")"));
  enricher.enrich(chicago);
  enricher.enrich(austin);
  EXPECT_EQ(chicago.enrichment->city, "chicago");
  EXPECT_EQ(chicago.enrichment->neighbourhood, "HYDE PARK");
  EXPECT_EQ(austin.enrichment->city, "austin") << "the polygon containing the point wins over a declared city";
  EXPECT_EQ(austin.enrichment->neighbourhood, "HYDE PARK");
}

TEST_F(EnricherTest, CityWithoutBoundaryFileTakesTheDistrictAndItsZone) {
  // New York has no boundary file: the borough column is the neighbourhood,
  // and a report without time_zone gets the city's zone for local parts.
  auto r = decode(cityRow("n1", R"(,"lat":40.7321,"lon":-73.8139,"district":"QUEENS")"));
  enricher.enrich(r);
  EXPECT_EQ(r.enrichment->city, "new-york");
  EXPECT_EQ(r.enrichment->neighbourhood, "QUEENS");
  EXPECT_EQ(r.enrichment->localHour, 8) << "12:00Z is 08:00 EDT";
  // Chicago has a boundary file: a district text never replaces its polygons.
  auto lake = decode(cityRow("n2", R"(,"lat":41.98,"lon":-87.60,"district":"WATER")"));
  enricher.enrich(lake);
  EXPECT_EQ(lake.enrichment->city, "chicago");
  EXPECT_FALSE(lake.enrichment->neighbourhood.has_value());
  // Not geocoded: the declared city and its district.
  auto bare = decode(cityRow("n3", R"(,"city":"new-york","district":"BRONX")"));
  enricher.enrich(bare);
  EXPECT_EQ(bare.enrichment->city, "new-york");
  EXPECT_EQ(bare.enrichment->neighbourhood, "BRONX");
  // Not geocoded, a city with polygons: the district counts when it names one.
  auto division = decode(cityRow("n5", R"(,"city":"los-angeles","district":"Southwest")"));
  enricher.enrich(division);
  EXPECT_EQ(division.enrichment->neighbourhood, "SOUTHWEST");
  auto unknown = decode(cityRow("n6", R"(,"city":"los-angeles","district":"West LA")"));
  enricher.enrich(unknown);
  EXPECT_FALSE(unknown.enrichment->neighbourhood.has_value());
  // A point outside every polygon and bbox keeps the declared city.
  auto far = decode(cityRow("n4", R"(,"lat":10,"lon":10,"city":"philadelphia")"));
  enricher.enrich(far);
  EXPECT_EQ(far.enrichment->city, "philadelphia");
}

TEST_F(EnricherTest, UnmappedTypeIsOtherAndCounted) {
  auto r = decode(R"({"id":")" + core::reportIdFor("chicago", "5").value +
                  R"(","source":"chicago","source_id":"5","raw_type":"SPACE PIRACY","occurred_at":"2014-03-15T00:00:00Z"})");
  auto o = enricher.enrich(r);
  EXPECT_TRUE(o.unmappedType);
  EXPECT_EQ(r.enrichment->category, "other");
}

// An index that always fails (Redis down, for the enricher).
class FailingIndex final : public DuplicateIndex {
 public:
  core::Result<std::vector<std::optional<core::ReportId>>> checkAll(std::span<const DuplicateQuery> q) override {
    calls += q.size();
    return core::makeError("dedupe_redis", "near-duplicate index: connection refused", "", true);
  }
  std::size_t calls = 0;
};

// A poll's reports are decided in one index call, in order: the second
// report of a pair in the same poll links to the first; a report without
// coordinates is not asked about.
TEST_F(EnricherTest, APollIsDecidedInOneCallInOrder) {
  DedupeWindow fake;
  Enricher batched{taxonomy, &cities, clock, {}, &fake};
  const std::string at = R"(,"lat":41.8800,"lon":-87.6300)";
  auto first = decode(chicagoRow("pair-1", "2014-03-08T23:52:00", at));
  auto second = decode(chicagoRow("pair-2", "2014-03-08T23:58:00", at));
  auto nowhere = decode(chicagoRow("pair-3", "2014-03-08T23:59:00", ""));
  std::vector<core::Report*> poll{&first, &nowhere, &second};
  const auto outcomes = batched.enrichAll(poll);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(first.enrichment->duplicateOf.has_value());
  EXPECT_FALSE(nowhere.enrichment->duplicateOf.has_value());
  ASSERT_TRUE(second.enrichment->duplicateOf.has_value());
  EXPECT_EQ(second.enrichment->duplicateOf->value, first.id.value);
  EXPECT_TRUE(outcomes[2].duplicate);
  EXPECT_FALSE(outcomes[1].geocoded);
  EXPECT_EQ(fake.size(), 2u) << "only reports with coordinates are asked about";
}

// The index failing leaves the reports unlinked and says so (the pipeline
// counts and logs it); everything else is enriched as usual.
TEST_F(EnricherTest, AFailingIndexLeavesReportsUnlinkedAndSaysSo) {
  FailingIndex failing;
  Enricher degraded{taxonomy, &cities, clock, {}, &failing};
  const std::string at = R"(,"lat":41.8800,"lon":-87.6300)";
  auto a = decode(chicagoRow("down-1", "2014-03-08T23:52:00", at));
  auto b = decode(chicagoRow("down-2", "2014-03-08T23:53:00", at));
  std::vector<core::Report*> poll{&a, &b};
  const auto outcomes = degraded.enrichAll(poll);
  EXPECT_EQ(failing.calls, 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(outcomes[i].dedupeUnavailable);
    EXPECT_FALSE(outcomes[i].duplicate);
  }
  EXPECT_FALSE(b.enrichment->duplicateOf.has_value());
  EXPECT_EQ(b.enrichment->category, "theft");
  EXPECT_EQ(b.enrichment->city, "chicago");
  EXPECT_NE(degraded.lastDedupeError().find("connection refused"), std::string::npos);
}

}  // namespace
}  // namespace safestream::processor
