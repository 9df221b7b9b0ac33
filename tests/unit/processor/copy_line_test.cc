// The COPY text line the PostgreSQL sink sends per report: column order of
// kColumns, tab-separated, \N for NULL, backslash escapes, coordinates with
// ten significant digits.
#include <gtest/gtest.h>

#include "core/report_id.h"
#include "core/time.h"
#include "processor/postgres_sink.h"

namespace safestream::processor {
namespace {

std::vector<std::string> columns(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    if (line[i] == '\t') out.emplace_back();
    else out.back() += line[i];
  }
  return out;
}

TEST(CopyLine, WritesEveryColumnInOrderWithEscapes) {
  core::Report r;
  r.source = "chicago";
  r.sourceId = "95\t12";
  r.id = core::reportIdFor(r.source, r.sourceId);
  r.rawType = "THEFT";
  r.rawCode = "0820";
  r.description = "line\nbreak \\ and\rreturn";
  r.occurredAt = *core::parseTimestamp("2014-03-15T04:52:00Z");
  r.reportedAt = *core::parseTimestamp("2014-03-16T00:00:00.250Z");
  r.ingestedAt = *core::parseTimestamp("2026-11-23T10:00:00Z");
  r.timeZone = "America/Chicago";
  r.location = core::GeoPoint{41.881832123456789, -87.6};
  r.address = "001XX W MADISON ST";
  r.arrest = true;
  r.contact = "555-0100";
  r.rawJson = R"({"a":"\u0000"})";
  core::Enrichment e;
  e.category = "theft";
  e.severity = 2;
  e.cellL10 = 0x880e2c0000000000ULL;  // above INT64_MAX: stored as two's complement
  e.cellL13 = 0x080e2cb000000000ULL;
  e.neighbourhood = "LOOP";
  e.city = "chicago";
  e.localHour = 23;
  e.localWeekday = 5;
  e.duplicateOf = core::ReportId{"0b6f1c2a-8e5b-4d5c-9a3f-0d2b4c6e8f10"};
  e.processedAt = *core::parseTimestamp("2026-11-23T10:00:01Z");
  r.enrichment = e;
  const auto c = columns(copyLine(r));
  const std::vector<std::string> want{r.id.value,
                                      "chicago",
                                      "95\\t12",
                                      "THEFT",
                                      "0820",
                                      "theft",
                                      "2",
                                      "line\\nbreak \\\\ and\\rreturn",
                                      "2014-03-15T04:52:00Z",
                                      "2014-03-16T00:00:00.250Z",
                                      "2026-11-23T10:00:00Z",
                                      "2026-11-23T10:00:01Z",
                                      "America/Chicago",
                                      "41.88183212",
                                      "-87.6",
                                      "001XX W MADISON ST",
                                      "\\N",
                                      "t",
                                      std::to_string(static_cast<long long>(0x880e2c0000000000ULL)),
                                      std::to_string(0x080e2cb000000000LL),
                                      "\\N",
                                      "LOOP",
                                      "23",
                                      "5",
                                      "0b6f1c2a-8e5b-4d5c-9a3f-0d2b4c6e8f10",
                                      "555-0100",
                                      R"({"a":"\\ufffd"})",
                                      "chicago"};
  EXPECT_EQ(c, want);
}

TEST(CopyLine, AbsentFieldsAreNullAndDefaultsApply) {
  core::Report r;
  r.source = "citizen";
  r.sourceId = "1";
  r.id = core::reportIdFor(r.source, r.sourceId);
  r.rawType = "noise";
  r.occurredAt = *core::parseTimestamp("2026-01-01T00:00:00Z");
  r.reportedAt = r.occurredAt;
  const auto c = columns(copyLine(r));
  ASSERT_EQ(c.size(), 28u);
  EXPECT_EQ(c[5], "other");  // no enrichment: category other, severity 1
  EXPECT_EQ(c[6], "1");
  for (std::size_t i : {4u, 10u, 12u, 13u, 14u, 15u, 16u, 17u, 18u, 19u, 20u, 21u, 22u, 23u, 24u, 25u, 26u, 27u}) {
    EXPECT_EQ(c[i], "\\N") << "column " << i;
  }
  EXPECT_TRUE(core::parseTimestamp(c[11]).ok()) << "processed_at defaults to now: " << c[11];
}

}  // namespace
}  // namespace safestream::processor
