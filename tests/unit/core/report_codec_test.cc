#include "core/report_codec.h"

#include <gtest/gtest.h>

#include "core/report_id.h"

namespace safestream::core {
namespace {

const Timestamp kNow = fromEpochMillis(1'790'000'000'000);  // 2026-09-21

std::string validJson() {
  return R"({"id":"6f1c2a8e-5b7d-5c1e-9a3f-0d2b4c6e8f10","source":"chicago","source_id":"9512345",
  "raw_type":"THEFT","raw_code":"0820","description":"$500 AND UNDER",
  "occurred_at":"2014-03-14T23:52:00","time_zone":"America/Chicago",
  "lat":41.88,"lon":-87.63,"address":"001XX W MADISON ST","arrest":false,"raw":{"ID":"9512345"}})";
}

DecodeOptions opts() {
  DecodeOptions o;
  o.now = kNow;
  return o;
}

TEST(ReportCodec, DecodesLocalTimeThroughTheZone) {
  auto r = decodeReport(validJson(), opts());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source, "chicago");
  EXPECT_EQ(r->rawCode, "0820");
  // 2014-03-14 is after the 9 March DST switch: CDT, UTC-5.
  EXPECT_EQ(formatTimestamp(r->occurredAt), "2014-03-15T04:52:00Z");
  ASSERT_TRUE(r->location);
  EXPECT_DOUBLE_EQ(r->location->lat, 41.88);
  EXPECT_EQ(r->arrest, false);
  EXPECT_EQ(r->rawJson, R"({"ID":"9512345"})");
}

TEST(ReportCodec, RoundTripsEveryField) {
  auto r = decodeReport(validJson(), opts());
  ASSERT_TRUE(r.ok());
  Report rep = *r;
  Enrichment e;
  e.category = "theft";
  e.severity = 2;
  e.cellL10 = 0x880e2c0000000000ULL;
  e.cellL13 = 0x880e2cb000000000ULL;
  e.cellL16 = 0x880e2cb5c0000000ULL;
  e.neighbourhood = "LOOP";
  e.localHour = 23;
  e.localWeekday = 5;
  e.duplicateOf = ReportId{"0b6f1c2a-8e5b-4d5c-9a3f-0d2b4c6e8f10"};
  e.processedAt = kNow;
  rep.enrichment = e;
  rep.ingestedAt = kNow;
  auto back = decodeReport(encodeReport(rep), opts());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, rep);
}

TEST(ReportCodec, PublicEncodingDropsPrivateFields) {
  auto r = decodeReport(validJson(), opts());
  ASSERT_TRUE(r.ok());
  r->contact = "555-0100";
  const std::string pub = encodeReport(*r, /*includePrivate=*/false);
  EXPECT_EQ(pub.find("555-0100"), std::string::npos);
  EXPECT_EQ(pub.find("\"raw\""), std::string::npos);
  EXPECT_NE(encodeReport(*r, true).find("555-0100"), std::string::npos);
}

struct BadCase {
  std::string name;
  std::string json;
  std::string code;
  std::string field;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ReportCodecRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ReportCodecRejects, NamesTheProblem) {
  const BadCase& c = GetParam();
  auto r = decodeReport(c.json, opts());
  ASSERT_FALSE(r.ok()) << c.name;
  EXPECT_EQ(r.error().code, c.code) << r.error().message;
  EXPECT_EQ(r.error().field, c.field) << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}

std::string with(const std::string& key, const std::string& value) {
  std::string j = R"({"id":"6f1c2a8e-5b7d-5c1e-9a3f-0d2b4c6e8f10","source":"chicago","source_id":"1",)"
                  R"("raw_type":"THEFT","occurred_at":"2014-03-14T23:52:00Z","lat":41.8,"lon":-87.6})";
  // Replace or add `key`.
  auto pos = j.find("\"" + key + "\":");
  if (pos == std::string::npos) {
    j.insert(j.size() - 1, ",\"" + key + "\":" + value);
  } else {
    auto start = pos + key.size() + 3;
    auto end = j.find_first_of(",}", start);
    j.replace(start, end - start, value);
  }
  return j;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReportCodecRejects,
    ::testing::Values(
        BadCase{"binary", std::string("\x00\xff\xfe", 3), "invalid_json", ""},
        BadCase{"truncated", R"({"id":"6f1c2a8e)", "invalid_json", ""},
        BadCase{"array", "[1,2]", "invalid_json", ""},
        BadCase{"lat 91", with("lat", "91"), "invalid_field", "lat"},
        BadCase{"lon string", with("lon", "\"x\""), "invalid_field", "lon"},
        BadCase{"lat without lon", with("lon", "null"), "invalid_field", "lon"},
        BadCase{"missing source", with("source", "null"), "invalid_field", "source"},
        BadCase{"bad source", with("source", "\"Chicago Police\""), "invalid_field", "source"},
        BadCase{"bad id", with("id", "\"42\""), "invalid_field", "id"},
        BadCase{"raw_type number", with("raw_type", "7"), "invalid_field", "raw_type"},
        BadCase{"missing time", with("occurred_at", "null"), "invalid_field", "occurred_at"},
        BadCase{"garbage time", with("occurred_at", "\"yesterday\""), "invalid_field", "occurred_at"},
        BadCase{"local time without zone", with("occurred_at", "\"2014-03-14T23:52:00\""), "invalid_field",
                "occurred_at"},
        BadCase{"year zero", with("occurred_at", "\"0000-01-01T00:00:00Z\""), "invalid_field", "occurred_at"},
        BadCase{"before 1900", with("reported_at", "\"1850-06-01T00:00:00Z\""), "invalid_field", "reported_at"},
        BadCase{"far future", with("occurred_at", "\"2030-01-01T00:00:00Z\""), "invalid_field", "occurred_at"},
        BadCase{"unknown zone", with("time_zone", "\"Mars/Olympus\""), "invalid_field", "time_zone"},
        BadCase{"arrest string", with("arrest", "\"yes\""), "invalid_field", "arrest"},
        BadCase{"bad category", with("category", "\"DROP TABLE\""), "invalid_field", "category"},
        BadCase{"oversized", with("description", "\"" + std::string(2 << 20, 'a') + "\""), "too_large", ""},
        BadCase{"long description", with("description", "\"" + std::string(9000, 'a') + "\""), "invalid_field",
                "description"},
        BadCase{"bad cell", with("enrichment", R"({"category":"theft","cell_l13":"zz"})"), "invalid_field",
                "enrichment.cell_l13"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string n = info.param.name;
      for (auto& ch : n) if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(CellToken, MatchesS2TokenRules) {
  EXPECT_EQ(cellToken(0), "X");
  EXPECT_EQ(cellToken(0x880e2cb000000000ULL), "880e2cb");
  EXPECT_EQ(cellFromToken("880e2cb"), 0x880e2cb000000000ULL);
  EXPECT_EQ(cellFromToken("not a token"), 0u);
  for (std::uint64_t id : {0x1ULL, 0x8000000000000000ULL, 0x89c25a3f0b000000ULL}) {
    EXPECT_EQ(cellFromToken(cellToken(id)), id);
  }
}

}  // namespace
}  // namespace safestream::core
