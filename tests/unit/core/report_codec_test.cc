#include "core/report_codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

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

TEST(ReportCodec, TakesIntegerCoordinatesAndKeepsTheRawRecordAsSent) {
  auto r = decodeReport(with("lat", "41"), opts());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->location);
  EXPECT_DOUBLE_EQ(r->location->lat, 41.0);
  std::string j = with("lon", "-87");
  j.insert(j.size() - 1, R"(,"raw":{ "z" : [1, 2.5, "x\"y", null], "a": {"k": true} })");
  r = decodeReport(j, opts());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->location->lon, -87.0);
  EXPECT_EQ(r->rawJson, R"({"z":[1,2.5,"x\"y",null],"a":{"k":true}})");
}

TEST(CellToken, MatchesS2TokenRules) {
  EXPECT_EQ(cellToken(0), "X");
  EXPECT_EQ(cellToken(0x880e2cb000000000ULL), "880e2cb");
  EXPECT_EQ(cellFromToken("880e2cb"), 0x880e2cb000000000ULL);
  EXPECT_EQ(cellFromToken("not a token"), 0u);
  for (std::uint64_t id : {0x1ULL, 0x8000000000000000ULL, 0x89c25a3f0b000000ULL}) {
    EXPECT_EQ(cellFromToken(cellToken(id)), id);
  }
}

// The reference: how encodeReport built its text with nlohmann::json before
// it wrote the text itself. The two agree byte for byte except in how a
// double is spelled (std::to_chars writes the shortest text that reads back
// to the same double, nlohmann sometimes one digit more), so with a location
// they must parse to the same JSON, and the coordinates read back exactly.
std::string referenceEncoding(const Report& r, bool includePrivate) {
  using nlohmann::json;
  json j;
  j["id"] = r.id.value;
  j["source"] = r.source;
  j["source_id"] = r.sourceId;
  j["raw_type"] = r.rawType;
  if (r.rawCode) j["raw_code"] = *r.rawCode;
  if (r.category) j["category"] = *r.category;
  j["description"] = r.description;
  j["occurred_at"] = formatTimestamp(r.occurredAt);
  if (r.timeZone) j["time_zone"] = *r.timeZone;
  j["reported_at"] = formatTimestamp(r.reportedAt);
  if (r.ingestedAt) j["ingested_at"] = formatTimestamp(*r.ingestedAt);
  if (r.location) {
    j["lat"] = r.location->lat;
    j["lon"] = r.location->lon;
  }
  if (r.address) j["address"] = *r.address;
  if (r.url) j["url"] = *r.url;
  if (r.arrest) j["arrest"] = *r.arrest;
  if (includePrivate) {
    if (r.contact) j["contact"] = *r.contact;
    if (r.rawJson) {
      json raw = json::parse(*r.rawJson, nullptr, false);
      j["raw"] = raw.is_discarded() ? json(*r.rawJson) : raw;
    }
  }
  if (r.enrichment) {
    const Enrichment& e = *r.enrichment;
    json x;
    x["category"] = e.category;
    x["severity"] = e.severity;
    if (e.cellL10) x["cell_l10"] = cellToken(e.cellL10);
    if (e.cellL13) x["cell_l13"] = cellToken(e.cellL13);
    if (e.cellL16) x["cell_l16"] = cellToken(e.cellL16);
    if (e.neighbourhood) x["neighbourhood"] = *e.neighbourhood;
    x["local_hour"] = e.localHour;
    x["local_weekday"] = e.localWeekday;
    if (e.duplicateOf) x["duplicate_of"] = e.duplicateOf->value;
    if (e.processedAt) x["processed_at"] = formatTimestamp(*e.processedAt);
    j["enrichment"] = std::move(x);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(ReportCodec, EncodingAgreesWithTheNlohmannReference) {
  std::mt19937_64 rng(11);
  auto coin = [&] { return rng() % 2 == 0; };
  const std::vector<std::string> pieces{"THEFT", " ", "a\"b", "back\\slash", "tab\t", "nl\n", "\x01", "\x7f",
                                        "caf\xc3\xa9", "\xe6\xbc\xa2", "\xf0\x9f\x9a\x93", "\xff", "\x80x",
                                        "\xc3", "/", "<&>", "0"};
  auto text = [&] {
    std::string s;
    for (int n = static_cast<int>(rng() % 5); n > 0; --n) s += pieces[rng() % pieces.size()];
    return s;
  };
  auto opt = [&]() -> std::optional<std::string> { return coin() ? std::optional<std::string>(text()) : std::nullopt; };
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180);
  std::uniform_int_distribution<long long> ms(-2208988800000LL, 253402300799999LL);
  const std::vector<double> special{0.0, -0.0, 41.0, -87.5, 1e-7, -3.25e-5, 89.99999999999999, 180.0};
  for (int i = 0; i < 5000; ++i) {
    Report r;
    r.id = reportIdFor("test", std::to_string(i));
    r.source = text();
    r.sourceId = text();
    r.rawType = text();
    r.rawCode = opt();
    r.category = opt();
    r.description = text();
    r.occurredAt = fromEpochMillis(ms(rng));
    r.timeZone = opt();
    r.reportedAt = fromEpochMillis(ms(rng));
    if (coin()) r.ingestedAt = fromEpochMillis(ms(rng));
    if (coin()) {
      r.location = i % 7 == 0 ? GeoPoint{special[rng() % special.size()], special[rng() % special.size()]}
                              : GeoPoint{lat(rng), lon(rng)};
    }
    r.address = opt();
    r.url = opt();
    if (coin()) r.arrest = coin();
    r.contact = opt();
    if (coin()) r.rawJson = coin() ? R"({"z":1,"a":["x",2.5,null],"m":{"k":"\u00e9"}})" : text();
    if (coin()) {
      Enrichment e;
      e.category = text();
      e.severity = static_cast<int>(rng() % 6);
      if (coin()) e.cellL10 = rng() | 1;
      if (coin()) e.cellL13 = rng() | 1;
      if (coin()) e.cellL16 = rng() | 1;
      e.neighbourhood = opt();
      e.localHour = static_cast<int>(rng() % 25) - 1;
      e.localWeekday = static_cast<int>(rng() % 8);
      if (coin()) e.duplicateOf = reportIdFor("dup", std::to_string(i));
      if (coin()) e.processedAt = fromEpochMillis(ms(rng));
      r.enrichment = e;
    }
    for (bool priv : {false, true}) {
      const std::string got = encodeReport(r, priv), want = referenceEncoding(r, priv);
      if (!r.location) {
        ASSERT_EQ(got, want) << "report " << i << (priv ? " private" : "");
        continue;
      }
      const auto parsed = nlohmann::json::parse(got);
      ASSERT_EQ(parsed, nlohmann::json::parse(want)) << "report " << i << (priv ? " private" : "");
      ASSERT_EQ(parsed["lat"].get<double>(), r.location->lat);
      ASSERT_EQ(parsed["lon"].get<double>(), r.location->lon);
    }
  }
}

}  // namespace
}  // namespace safestream::core
