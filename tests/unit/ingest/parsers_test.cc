// Source parsers on the real samples in data/ and on hand-made bad records.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/report_codec.h"
#include "core/report_id.h"
#include "ingest/column_mapping.h"
#include "ingest/csv_reader.h"
#include "ingest/publisher.h"
#include "ingest/source_parsers.h"
#include "tests/support/stack_env.h"

namespace safestream::ingest {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const core::Report* findById(const ParsedBatch& b, const std::string& sourceId) {
  for (const auto& r : b.reports) {
    if (r.sourceId == sourceId) return &r;
  }
  return nullptr;
}

TEST(SpotCrime, RealSampleParsesEveryRecordWithTwelveHourClockInAreaZone) {
  auto batch = parseSpotCrime(readFile(testing::sourcePath("data/spotcrime_austin_2015_sample.json")), "America/Chicago");
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  EXPECT_EQ(batch->reports.size(), 1582u);
  EXPECT_TRUE(batch->rejections.empty());

  // "10/19/15 09:07 PM" in Austin (CDT, UTC-5) is 02:07 UTC the next day; %H would give 09:07.
  const core::Report* r = findById(*batch, "69098992");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(core::formatTimestamp(r->occurredAt), "2015-10-20T02:07:00Z");
  EXPECT_EQ(r->id, core::reportIdFor("spotcrime", "69098992"));
  EXPECT_EQ(r->rawType, "Theft");
  EXPECT_EQ(r->address.value_or(""), "3700 BLOCK OF KANDY DR");
  EXPECT_EQ(r->timeZone.value_or(""), "America/Chicago");
  ASSERT_TRUE(r->location);
  EXPECT_DOUBLE_EQ(r->location->lat, 30.2111386727);
  EXPECT_DOUBLE_EQ(r->location->lon, -97.8365453262);
  EXPECT_EQ(r->url.value_or(""), "http://spotcrime.com/crime/69098992-47f96dfb371686289c6415639b76305e");
  ASSERT_TRUE(r->rawJson);
  EXPECT_NE(r->rawJson->find("\"cdid\":69098992"), std::string::npos);
  // 12 AM is midnight, 12 PM is noon.
  const core::Report* midnight = findById(*batch, "69111803");  // "10/18/15 12:01 AM"
  ASSERT_NE(midnight, nullptr);
  EXPECT_EQ(core::formatTimestamp(midnight->occurredAt), "2015-10-18T05:01:00Z");
  const core::Report* noon = findById(*batch, "69074249");  // "10/18/15 12:15 PM"
  ASSERT_NE(noon, nullptr);
  EXPECT_EQ(core::formatTimestamp(noon->occurredAt), "2015-10-18T17:15:00Z");
}

TEST(SpotCrime, EveryParsedRecordEncodesToAValidMessage) {
  auto batch = parseSpotCrime(readFile(testing::sourcePath("data/spotcrime_austin_2015_sample.json")), "America/Chicago");
  ASSERT_TRUE(batch.ok());
  for (const auto& r : batch->reports) {
    auto back = core::decodeReport(core::encodeReport(r));
    ASSERT_TRUE(back.ok()) << r.sourceId << ": " << back.error().message;
    EXPECT_EQ(back->occurredAt, r.occurredAt);
    EXPECT_EQ(back->id, r.id);
  }
}

TEST(SpotCrime, BadRecordsAreRejectedWithReasonsAndGoodOnesKept) {
  const std::string body = R"({"crimes":[
    {"cdid":1,"type":"Theft","date":"10/19/15 09:07 PM","address":"A","link":"l","lat":30.2,"lon":-97.8},
    {"type":"Theft","date":"10/19/15 09:07 PM","lat":30.2,"lon":-97.8},
    {"cdid":3,"type":"Theft","date":"19/10/15 21:07","lat":30.2,"lon":-97.8},
    {"cdid":4,"type":"Theft","date":"10/19/15 09:07 PM","lat":123.0,"lon":-97.8},
    {"cdid":5,"type":"Theft","date":"10/19/15 09:07 PM","lat":"abc","lon":-97.8},
    {"cdid":6,"date":"10/19/15 09:07 PM","lat":30.2,"lon":-97.8},
    {"cdid":7,"type":"Theft","date":"10/19/15 09:07 PM","lat":30.2},
    "not an object",
    {"cdid":"9","type":"Assault","date":"10/19/15 09:07 AM"}
  ]})";
  auto batch = parseSpotCrime(body, "America/Chicago");
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  ASSERT_EQ(batch->reports.size(), 2u);
  EXPECT_EQ(batch->reports[0].sourceId, "1");
  EXPECT_EQ(batch->reports[1].sourceId, "9");
  EXPECT_FALSE(batch->reports[1].location);  // no coordinates: published un-geocoded
  std::vector<std::string> reasons;
  for (const auto& r : batch->rejections) reasons.push_back(r.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{"missing_id", "bad_time", "bad_coordinates", "bad_coordinates",
                                               "missing_type", "bad_coordinates", "not_an_object"}));
  EXPECT_NE(batch->rejections[1].message.find("19/10/15 21:07"), std::string::npos) << batch->rejections[1].message;
  EXPECT_EQ(batch->rejections[2].sourceId, "4");
}

TEST(SpotCrime, NonJsonBodiesAreErrorsThatSayWhatCame) {
  auto html = parseSpotCrime("<html><body>502 Bad Gateway</body></html>", "America/Chicago");
  ASSERT_FALSE(html.ok());
  EXPECT_NE(html.error().message.find("HTML"), std::string::npos) << html.error().message;
  auto truncated = parseSpotCrime(R"({"crimes":[{"cdid":1,"type":"Th)", "America/Chicago");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find("truncated"), std::string::npos) << truncated.error().message;
  auto shape = parseSpotCrime(R"({"error":"bad key"})", "America/Chicago");
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.error().message.find("crimes"), std::string::npos);
  // nlohmann ends its input at a NUL byte: without the check, the document
  // before it parsed and whatever followed was silently dropped.
  const std::string nul = std::string(R"({"crimes":[]})") + '\0' + R"(,"more":[{"cdid":2}]})";
  ASSERT_FALSE(parseSpotCrime(nul, "America/Chicago").ok());
  ASSERT_FALSE(parseJsonRecords(std::string("[]") + '\0' + "garbage", chicagoMapping()).ok());
  // A record nested 100,000 deep: its raw JSON would be dumped recursively.
  std::string deep = R"({"crimes":[{"cdid":1,"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}]}";
  auto tooDeep = parseSpotCrime(deep, "America/Chicago");
  ASSERT_FALSE(tooDeep.ok());
  EXPECT_NE(tooDeep.error().message.find("nested"), std::string::npos) << tooDeep.error().message;
}

TEST(Chicago, RealSampleMapsEveryRowWithZoneAndDst) {
  std::ifstream in(testing::sourcePath("data/chicago_crimes_2014_sample.csv"), std::ios::binary);
  ASSERT_TRUE(in);
  CsvReader reader(in);
  std::vector<std::string> header, row;
  ASSERT_TRUE(reader.next(header));
  ASSERT_EQ(header.size(), 22u);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  const ColumnMapping m = chicagoMapping();
  std::size_t rows = 0, mapped = 0, geocoded = 0;
  std::map<std::string, core::Report> byId;
  while (reader.next(row)) {
    ++rows;
    ASSERT_FALSE(reader.malformed()) << reader.line() << ": " << reader.error();
    ASSERT_EQ(row.size(), 22u) << "line " << reader.line();
    auto r = mapRecord(m, [&](const std::string& n) -> std::optional<std::string_view> {
      auto it = col.find(n);
      if (it == col.end()) return std::nullopt;
      return std::string_view(row[it->second]);
    });
    ASSERT_TRUE(r.ok()) << "line " << reader.line() << ": " << r.error().message;
    ++mapped;
    if (r->location) ++geocoded;
    byId[r->sourceId] = *r;
  }
  EXPECT_EQ(rows, 6957u);
  EXPECT_EQ(mapped, 6957u);
  EXPECT_EQ(geocoded, 6957u - 73u);  // data/README.md: 73 rows have no coordinates

  // 03/15/2014 is after the 2014-03-09 DST change: CDT, UTC-5.
  const auto& a = byId.at("9532593");
  EXPECT_EQ(core::formatTimestamp(a.occurredAt), "2014-03-15T05:00:00Z");
  EXPECT_EQ(a.rawType, "THEFT");
  EXPECT_EQ(a.rawCode.value_or(""), "0820");
  EXPECT_EQ(a.description, "$500 AND UNDER");
  EXPECT_EQ(a.address.value_or(""), "030XX W DIVERSEY AVE");
  EXPECT_EQ(a.arrest, std::optional<bool>(false));
  ASSERT_TRUE(a.location);
  EXPECT_NEAR(a.location->lat, 41.93193179666549, 1e-12);
  EXPECT_EQ(a.id, core::reportIdFor("chicago", "9532593"));
  // No coordinates: still a report, just not geocoded.
  const auto& b = byId.at("9567561");
  EXPECT_FALSE(b.location);
  // "Updated On" becomes reported_at.
  EXPECT_EQ(core::formatTimestamp(b.reportedAt), "2014-04-11T05:40:05Z");
}

TEST(Chicago, TwelveHourClockBeforeDst) {
  const ColumnMapping m = chicagoMapping();
  std::map<std::string, std::string> rec{{"ID", "1"}, {"Date", "02/28/2014 11:52:00 PM"}, {"Primary Type", "THEFT"}};
  auto r = mapRecord(m, [&](const std::string& n) -> std::optional<std::string_view> {
    auto it = rec.find(n);
    if (it == rec.end()) return std::nullopt;
    return std::string_view(it->second);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(core::formatTimestamp(r->occurredAt), "2014-03-01T05:52:00Z");  // CST, UTC-6
}

TEST(RapidApi, IncidentFeedThroughAFieldMapping) {
  ColumnMapping m;
  m.source = "rapidapi:crimedata";
  m.id = "id";
  m.time = "date";
  m.timeFormat = "%Y-%m-%dT%H:%M:%S";
  m.timeZone = "America/Los_Angeles";
  m.description = "description";
  m.lat = "lat";
  m.lon = "long";
  const std::string body = R"([
    {"id": 1001, "description": "BURGLARY", "lat": 37.77, "long": -122.41, "date": "2023-07-01T22:15:00"},
    {"id": 1002, "description": "ROBBERY", "lat": "37.78", "long": "-122.40", "date": "2023-07-02T01:00:00"},
    {"id": 1003, "description": "", "lat": 37.78, "long": -122.40, "date": "2023-07-02T01:00:00"}
  ])";
  auto b = parseJsonRecords(body, m);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(b->reports.size(), 2u);
  EXPECT_EQ(b->reports[0].source, "rapidapi:crimedata");
  EXPECT_EQ(b->reports[0].sourceId, "1001");
  EXPECT_EQ(b->reports[0].rawType, "BURGLARY");  // no type field: description is the type
  EXPECT_EQ(core::formatTimestamp(b->reports[0].occurredAt), "2023-07-02T05:15:00Z");  // PDT
  ASSERT_TRUE(b->reports[1].location);
  EXPECT_DOUBLE_EQ(b->reports[1].location->lon, -122.40);
  ASSERT_EQ(b->rejections.size(), 1u);
  EXPECT_EQ(b->rejections[0].reason, "missing_type");
  EXPECT_EQ(b->rejections[0].sourceId, "1003");

  auto err = parseJsonRecords(R"({"message":"You are not subscribed to this API."})", m);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("not subscribed"), std::string::npos) << err.error().message;
}

TEST(Socrata, ChicagoShapedJsonWithFloatingTimestamps) {
  ColumnMapping m = chicagoMapping();
  m.source = "socrata:chicago";
  m.id = "id";
  m.time = "date";
  m.timeFormat = "iso";
  m.type = "primary_type";
  m.code = "iucr";
  m.description = "description";
  m.lat = "latitude";
  m.lon = "longitude";
  m.address = "block";
  m.arrest = "arrest";
  m.updated = "updated_on";
  const std::string body = R"([{"id":"9532593","date":"2014-03-15T00:00:00.000","block":"030XX W DIVERSEY AVE",
    "iucr":"0820","primary_type":"THEFT","description":"$500 AND UNDER","arrest":false,
    "latitude":"41.93193179666549","longitude":"-87.70464452726821","updated_on":"2014-03-22T00:39:11.000"}])";
  auto b = parseJsonRecords(body, m);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(b->reports.size(), 1u);
  EXPECT_EQ(core::formatTimestamp(b->reports[0].occurredAt), "2014-03-15T05:00:00Z");
  EXPECT_EQ(b->reports[0].arrest, std::optional<bool>(false));
  EXPECT_EQ(b->reports[0].rawCode.value_or(""), "0820");
}

TEST(ZipGrades, GradesAreReadAsStrings) {
  const std::string body = R"({"Overall":{"Zipcode":"60601","Overall Crime Grade":"D-","Violent Crime Grade":"F",
    "Property Crime Grade":"D","Other Crime Grade":"C","Fact":"A crime occurs every 2 hours"},
    "Crime BreakDown":[{"Violent Crime Rates":{"Assault":"6.931","Robbery":"3.125"}}]})";
  auto g = parseZipGrades(body, "60601");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->overallGrade, "D-");
  EXPECT_EQ(g->overall.at("Violent Crime Grade"), "F");
  EXPECT_NE(g->breakdownJson.find("6.931"), std::string::npos);
  EXPECT_FALSE(parseZipGrades(body, "10001").ok());  // answer for another ZIP
  EXPECT_FALSE(parseZipGrades("<html></html>", "60601").ok());
}

class FakeSink final : public core::MessageSink {
 public:
  bool fail = false;
  std::vector<core::OutMessage> sent;
  std::vector<core::DeliveryResult> sendAndWait(const std::vector<core::OutMessage>& batch,
                                                std::chrono::milliseconds) override {
    std::vector<core::DeliveryResult> out;
    for (const auto& m : batch) {
      if (!fail) sent.push_back(m);
      out.push_back(core::DeliveryResult{!fail, fail ? "broker down" : "", fail, 0, 0});
    }
    return out;
  }
};

TEST(Publisher, ValidatesKeysByIdAndReportsDeliveryFailures) {
  auto batch = parseSpotCrime(readFile(testing::sourcePath("data/spotcrime_austin_2015_sample.json")), "America/Chicago");
  ASSERT_TRUE(batch.ok());
  std::vector<core::Report> reports(batch->reports.begin(), batch->reports.begin() + 10);
  // A report far in the future is refused by the codec, so it is rejected here.
  reports[3].occurredAt = core::nowUtc() + std::chrono::hours(24 * 30);
  FakeSink sink;
  Publisher p(sink, "reports.raw", nullptr, std::chrono::seconds(1), 4);
  auto out = p.publish("spotcrime", reports);
  EXPECT_EQ(out.published, 9u);
  ASSERT_EQ(out.rejections.size(), 1u);
  EXPECT_EQ(out.rejections[0].reason, "invalid_report");
  EXPECT_NE(out.rejections[0].message.find("future"), std::string::npos) << out.rejections[0].message;
  ASSERT_EQ(sink.sent.size(), 9u);
  EXPECT_EQ(sink.sent[0].key, reports[0].id.value);
  EXPECT_EQ(sink.sent[0].topic, "reports.raw");
  EXPECT_TRUE(out.allDelivered());

  FakeSink down;
  down.fail = true;
  Publisher q(down, "reports.raw", nullptr);
  auto failed = q.publish("spotcrime", reports);
  EXPECT_EQ(failed.published, 0u);
  EXPECT_EQ(failed.failed, 9u);
  EXPECT_FALSE(failed.allDelivered());
  EXPECT_EQ(failed.firstError, "broker down");
}

}  // namespace
}  // namespace safestream::ingest
