// Mappings that fit real exports: two-column date + time of day, several
// formats per column, non-padded months and days, a byte order mark and
// CRLF, "0" as a missing coordinate, a district column, the arrest flag
// from a value list, and the committed mappings of ingest/config/ on the
// shared samples of data/.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/result.h"
#include "core/time.h"
#include "ingest/column_mapping.h"
#include "ingest/csv_reader.h"
#include "tests/support/stack_env.h"

namespace safestream::ingest {
namespace {

using Row = std::map<std::string, std::string>;

core::Result<core::Report> mapRow(const ColumnMapping& m, const Row& row) {
  return mapRecord(m, [&](const std::string& name) -> std::optional<std::string_view> {
    auto it = row.find(name);
    if (it == row.end()) return std::nullopt;
    return std::string_view(it->second);
  });
}

std::string utc(const core::Report& r) { return core::formatTimestamp(r.occurredAt); }

ColumnMapping laStyle() {
  ColumnMapping m;
  m.source = "csv:test";
  m.id = "id";
  m.time = "date";
  m.timeFormat = "%m/%d/%Y %I:%M:%S %p";
  m.moreTimeFormats = {"%m/%d/%Y %H:%M"};
  m.timeOfDay = "tod";
  m.timeZone = "America/Los_Angeles";
  m.type = "type";
  return m;
}

TEST(ColumnMapping, DateAndTimeOfDayInTwoColumnsHhmm) {
  const ColumnMapping m = laStyle();
  // Both date formats of the Los Angeles export; the date's own clock part
  // is ignored, the HHMM column gives the time (PST, UTC-8).
  auto a = mapRow(m, {{"id", "1"}, {"date", "01/08/2020 12:00:00 AM"}, {"tod", "2230"}, {"type", "X"}});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(utc(*a), "2020-01-09T06:30:00Z");
  auto b = mapRow(m, {{"id", "2"}, {"date", "01/08/2020 00:00"}, {"tod", "2230"}, {"type", "X"}});
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(utc(*b), "2020-01-09T06:30:00Z");
  // Non-padded months, days and HHMM ("5" is 00:05); summer time (PDT, UTC-7).
  auto c = mapRow(m, {{"id", "3"}, {"date", "7/4/2021 12:00:00 AM"}, {"tod", "5"}, {"type", "X"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(utc(*c), "2021-07-04T07:05:00Z");
  auto d = mapRow(m, {{"id", "4"}, {"date", "7/4/2021 00:00"}, {"tod", "130"}, {"type", "X"}});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(utc(*d), "2021-07-04T08:30:00Z");
  // An empty time of day keeps the date's time.
  auto e = mapRow(m, {{"id", "5"}, {"date", "01/08/2020 12:00:00 AM"}, {"tod", ""}, {"type", "X"}});
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(utc(*e), "2020-01-08T08:00:00Z");
  // Bad values are rejections naming both columns.
  for (const char* bad : {"2460", "2400", "12345", "ab", "-5"}) {
    auto r = mapRow(m, {{"id", "6"}, {"date", "01/08/2020 00:00"}, {"tod", bad}, {"type", "X"}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_time");
    EXPECT_NE(r.error().message.find("'date' + 'tod'"), std::string::npos) << r.error().message;
  }
  auto f = mapRow(m, {{"id", "7"}, {"date", "2020-01-08"}, {"tod", "2230"}, {"type", "X"}});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("nor any of the 1 other formats"), std::string::npos) << f.error().message;
}

TEST(ColumnMapping, DateAndTimeOfDayWithAClockFormatAcrossDaylightSaving) {
  ColumnMapping m = laStyle();
  m.timeFormat = "%m/%d/%Y";
  m.moreTimeFormats.clear();
  m.timeOfDayFormat = "%H:%M:%S";
  m.timeZone = "America/New_York";
  // 2010-03-14: clocks went from 02:00 EST to 03:00 EDT.
  auto before = mapRow(m, {{"id", "1"}, {"date", "03/14/2010"}, {"tod", "01:30:00"}, {"type", "X"}});
  auto after = mapRow(m, {{"id", "2"}, {"date", "03/14/2010"}, {"tod", "17:30:00"}, {"type", "X"}});
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(utc(*before), "2010-03-14T06:30:00Z");
  EXPECT_EQ(utc(*after), "2010-03-14T21:30:00Z");
  auto bad = mapRow(m, {{"id", "3"}, {"date", "03/14/2010"}, {"tod", "5pm"}, {"type", "X"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "bad_time");
}

TEST(ColumnMapping, MissingCoordinatesArrestValuesDistrictAndCity) {
  ColumnMapping m = laStyle();
  m.lat = "lat";
  m.lon = "lon";
  m.missingCoordinates = {"0"};
  m.arrest = "status";
  m.arrestValues = {"Adult Arrest", "Juv Arrest"};
  m.district = "area";
  m.city = "los-angeles";
  m.address = "where";
  Row row{{"id", "1"}, {"date", "01/08/2020 00:00"}, {"tod", "2230"}, {"type", "X"}, {"lat", "0"},
          {"lon", "-118.2"}, {"status", "juv arrest"}, {"area", "Southwest"}, {"where", "1100 W  39TH      PL"}};
  auto r = mapRow(m, row);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->location.has_value()) << "a 0 coordinate means not geocoded";
  EXPECT_EQ(r->arrest, true);
  EXPECT_EQ(r->district, "Southwest");
  EXPECT_EQ(r->city, "los-angeles");
  EXPECT_EQ(r->address, "1100 W 39TH PL");
  row["status"] = "Invest Cont";
  row["lat"] = "34.0141";
  r = mapRow(m, row);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->arrest, false) << "any other value of the column is not an arrest";
  ASSERT_TRUE(r->location.has_value());
  EXPECT_DOUBLE_EQ(r->location->lat, 34.0141);
  // An empty type falls back to the description.
  m.description = "desc";
  row["type"] = "";
  row["desc"] = "SALE OF UNAUTHORIZED RECORDING";
  r = mapRow(m, row);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rawType, "SALE OF UNAUTHORIZED RECORDING");
}

TEST(ColumnMapping, MappingFilesReadTheNewKeysAndRejectMistakes) {
  auto m = parseColumnMapping(R"({"source":"csv:x","id":"i","time":"d","time_format":["%m/%d/%Y %I:%M:%S %p","%m/%d/%Y %H:%M"],
    "time_of_day":"t","time_of_day_format":"hhmm","time_zone":"America/Los_Angeles","type":"y",
    "lat":"la","lon":"lo","missing_coordinates":["0"],"arrest":"s","arrest_values":["Adult Arrest"],
    "district":"a","city":"los-angeles","$comment":"notes"})",
                              "m.json");
  EXPECT_EQ(m.timeFormat, "%m/%d/%Y %I:%M:%S %p");
  EXPECT_EQ(m.moreTimeFormats, (std::vector<std::string>{"%m/%d/%Y %H:%M"}));
  EXPECT_EQ(m.timeOfDay, "t");
  EXPECT_EQ(m.missingCoordinates, (std::vector<std::string>{"0"}));
  EXPECT_EQ(m.arrestValues, (std::vector<std::string>{"Adult Arrest"}));
  EXPECT_EQ(m.district, "a");
  EXPECT_EQ(m.city, "los-angeles");
  auto fails = [](const std::string& json, const std::string& needle) {
    try {
      parseColumnMapping(json, "m.json");
      ADD_FAILURE() << "accepted: " << json;
    } catch (const core::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string base = R"("id":"i","time":"d","time_zone":"UTC","type":"y")";
  fails("{" + base + R"(,"time_of_day_format":"hhmm"})", "needs 'time_of_day'");
  fails("{" + base + R"(,"time_of_day":"t","time_of_day_format":"HH:MM"})", "time_of_day_format");
  fails("{" + base + R"(,"time_format":["%Y","bad"]})", "time_format");
  fails("{" + base + R"(,"city":"Los Angeles"})", "lower-case slug");
  fails("{" + base + R"(,"arrest_values":["A"]})", "needs 'arrest'");
  fails("{" + base + R"(,"disrict":"a"})", "disrict");
  // A number beyond a double was an uncaught nlohmann out_of_range (fuzzing).
  fails("{" + base + R"(,"x":1e999})", "number overflow");
  fails("288888888888588888888888E88888888888[22:", "m.json: not valid JSON");
}

TEST(ColumnMapping, ByteOrderMarkAndCrLfThroughTheReader) {
  std::istringstream in("\xEF\xBB\xBF" "id,date,tod,type\r\n1,01/01/2010,17:30:00,PETIT LARCENY\r\n");
  CsvReader reader(in);
  std::vector<std::string> header, fields;
  ASSERT_TRUE(reader.next(header));
  EXPECT_EQ(header.front(), "id") << "the BOM is not part of the first column's name";
  EXPECT_EQ(header.back(), "type") << "CR is not part of the last";
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields.back(), "PETIT LARCENY");
  ColumnMapping m = laStyle();
  m.timeFormat = "%m/%d/%Y";
  m.moreTimeFormats.clear();
  m.timeOfDayFormat = "%H:%M:%S";
  m.timeZone = "America/New_York";
  Row row;
  for (std::size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
  auto r = mapRow(m, row);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sourceId, "1");
  EXPECT_EQ(utc(*r), "2010-01-01T22:30:00Z");
}

// Every row of a shared sample through its committed mapping.
struct Imported {
  std::vector<core::Report> reports;
  std::vector<Row> rows;
  std::vector<std::string> rejections;
};

Imported importSample(const std::string& csv, const std::string& mapping) {
  const ColumnMapping m = loadColumnMapping(testing::sourcePath("ingest/config/" + mapping));
  std::ifstream in(testing::sourcePath("data/" + csv), std::ios::binary);
  CsvReader reader(in);
  std::vector<std::string> header, fields;
  EXPECT_TRUE(reader.next(header));
  Imported out;
  while (reader.next(fields)) {
    Row row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    auto r = mapRow(m, row);
    if (r) {
      out.reports.push_back(std::move(*r));
      out.rows.push_back(std::move(row));
    } else {
      out.rejections.push_back(r.error().message);
    }
  }
  return out;
}

TEST(CommittedMappings, LosAngelesEveryRowWithTwoColumnTimes) {
  auto la = importSample("la_crimes_sample.csv", "los_angeles_mapping.json");
  EXPECT_TRUE(la.rejections.empty()) << la.rejections.front();
  ASSERT_EQ(la.reports.size(), 10000u);
  // The first row: DATE OCC 01/08/2020 00:00, TIME OCC 2230, Los Angeles (PST).
  EXPECT_EQ(la.reports[0].sourceId, "010304468");
  EXPECT_EQ(utc(la.reports[0]), "2020-01-09T06:30:00Z");
  EXPECT_EQ(la.reports[0].city, "los-angeles");
  EXPECT_EQ(la.reports[0].district, "Southwest");
  // Local hour and minute equal TIME OCC on every row.
  std::size_t geocoded = 0, arrests = 0;
  for (std::size_t i = 0; i < la.reports.size(); ++i) {
    const auto& r = la.reports[i];
    auto parts = core::localParts(r.occurredAt, "America/Los_Angeles");
    ASSERT_TRUE(parts.ok());
    const int tod = std::stoi(la.rows[i]["TIME OCC"]);
    ASSERT_EQ(parts->hour, tod / 100) << r.sourceId;
    ASSERT_EQ(core::formatTimestamp(r.occurredAt).substr(14, 2), la.rows[i]["TIME OCC"].substr(2, 2)) << r.sourceId;
    geocoded += r.location.has_value();
    arrests += r.arrest.value_or(false);
  }
  EXPECT_EQ(geocoded, 9987u) << "13 rows have LAT/LON 0";
  EXPECT_EQ(arrests, 614u + 27u);
}

TEST(CommittedMappings, PhiladelphiaLocalTimesAgreeWithTheUtcColumn) {
  auto ph = importSample("philadelphia_crimes_sample.csv", "philadelphia_mapping.json");
  EXPECT_TRUE(ph.rejections.empty()) << ph.rejections.front();
  ASSERT_EQ(ph.reports.size(), 7874u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < ph.reports.size(); ++i) {
    ids.insert(ph.reports[i].sourceId);
    // dispatch_date_time is "2025-01-07 02:45:00+00": the same instant in UTC.
    std::string u = ph.rows[i]["dispatch_date_time"];
    ASSERT_EQ(u.size(), 22u);
    ASSERT_EQ(utc(ph.reports[i]), u.substr(0, 10) + "T" + u.substr(11, 8) + "Z") << ph.reports[i].sourceId;
  }
  EXPECT_EQ(ids.size(), 7874u) << "one report per row";
  EXPECT_EQ(ph.reports[0].district, "15");
  EXPECT_EQ(ph.reports[0].rawCode, "600");
}

TEST(CommittedMappings, NewYorkWithItsByteOrderMark) {
  auto ny = importSample("nyc_crimes_sample.csv", "new_york_mapping.json");
  EXPECT_TRUE(ny.rejections.empty()) << ny.rejections.front();
  ASSERT_EQ(ny.reports.size(), 2444u);
  EXPECT_EQ(ny.reports[0].sourceId, "692499668");
  EXPECT_EQ(utc(ny.reports[0]), "2010-01-01T22:30:00Z");  // 17:30 EST
  EXPECT_EQ(ny.reports[0].district, "QUEENS");
  EXPECT_EQ(ny.reports[0].description, "CRIMINAL MISCHIEF,UNCLASSIFIED 4");
  std::size_t emptyOffense = 0;
  for (std::size_t i = 0; i < ny.reports.size(); ++i) {
    if (ny.rows[i]["OFNS_DESC"].empty()) {
      ++emptyOffense;
      EXPECT_EQ(ny.reports[i].rawType, ny.rows[i]["PD_DESC"]);
    }
  }
  EXPECT_EQ(emptyOffense, 1u);
}

TEST(CommittedMappings, ChicagoAndAustinLoad) {
  auto chicago = loadColumnMapping(testing::sourcePath("ingest/config/chicago_mapping.json"));
  const ColumnMapping builtIn = chicagoMapping();
  EXPECT_EQ(chicago.source, builtIn.source);
  EXPECT_EQ(chicago.time, builtIn.time);
  EXPECT_EQ(chicago.timeFormat, builtIn.timeFormat);
  EXPECT_EQ(chicago.city, "chicago");
  auto ch = importSample("chicago_crimes_2014_sample.csv", "chicago_mapping.json");
  EXPECT_EQ(ch.reports.size(), 6957u);
  auto austin = loadColumnMapping(testing::sourcePath("ingest/config/austin_mapping.json"));
  EXPECT_EQ(austin.city, "austin");
  EXPECT_EQ(austin.timeZone, "America/Chicago");
}

}  // namespace
}  // namespace safestream::ingest
