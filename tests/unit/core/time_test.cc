#include "core/time.h"

#include <absl/time/time.h>
#include <gtest/gtest.h>

#include <random>

namespace safestream::core {
namespace {

TEST(Time, ParsesRfc3339WithOffsets) {
  auto a = parseTimestamp("2014-03-14T23:52:00Z");
  auto b = parseTimestamp("2014-03-14T18:52:00-05:00");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  auto ms = parseTimestamp("2014-03-14T23:52:00.250Z");
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(formatTimestamp(*ms), "2014-03-14T23:52:00.250Z");
}

TEST(Time, FormatAgreesWithAbseilAcrossTheCalendar) {
  // formatTimestamp does its own calendar arithmetic for years 0-9999; Abseil
  // is the reference (leap days, centuries, before 1970, milliseconds).
  std::mt19937_64 rng(42);
  const long long lo = -2208988800000LL;   // 1900-01-01
  const long long hi = 253402300799999LL;  // 9999-12-31T23:59:59.999
  std::uniform_int_distribution<long long> any(lo, hi);
  std::vector<long long> cases{lo, hi, 0, -1, 951782400000LL /* 2000-02-29 */, 4107542400000LL /* 2100-03-01 */};
  for (int i = 0; i < 20000; ++i) cases.push_back(i % 2 ? any(rng) : any(rng) / 1000 * 1000);
  for (long long ms : cases) {
    const absl::Time at = absl::FromUnixMillis(ms);
    const std::string want = absl::FormatTime(ms % 1000 == 0 ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%E3SZ", at,
                                              absl::UTCTimeZone());
    ASSERT_EQ(formatTimestamp(fromEpochMillis(ms)), want) << ms;
  }
}

TEST(Time, ParseAgreesWithAbseilOnUtcTimes) {
  // parseTimestamp reads the common UTC shape itself; Abseil's RFC 3339
  // parser is the reference for valid and invalid texts alike.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<long long> any(-2208988800000LL, 253402300799999LL);
  std::vector<std::string> texts{"2014-02-29T00:00:00Z", "2016-02-29T23:59:59.999Z", "2014-13-01T00:00:00Z",
                                 "2014-03-01T24:00:00Z", "2014-03-01T00:60:00Z", "2014-03-01T00:00:60Z",
                                 "2014-03-01T00:00:0xZ", "2014-03-01 00:00:00Z", "2014-03-01T00:00:00.5Z",
                                 "0000-01-01T00:00:00Z", "2014-03-01T00:00:00.12xZ"};
  for (int i = 0; i < 20000; ++i) {
    const long long ms = i % 2 ? any(rng) : any(rng) / 1000 * 1000;
    texts.push_back(formatTimestamp(fromEpochMillis(ms)));
  }
  for (const auto& text : texts) {
    absl::Time want;
    std::string err;
    const bool valid = absl::ParseTime(absl::RFC3339_full, text, &want, &err);
    const auto got = parseTimestamp(text);
    ASSERT_EQ(got.ok(), valid) << text;
    if (valid) {
      ASSERT_EQ(toEpochMillis(*got), absl::ToUnixMillis(want)) << text;
    }
  }
}

TEST(Time, LocalTimeNeedsAZoneAndHonoursDst) {
  EXPECT_FALSE(parseTimestamp("2014-03-14T23:52:00").ok());
  // Chicago: CST (UTC-6) before 2014-03-09 02:00, CDT (UTC-5) after.
  auto before = parseTimestamp("2014-03-08T12:00:00", "America/Chicago");
  auto after = parseTimestamp("2014-03-10T12:00:00", "America/Chicago");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(formatTimestamp(*before), "2014-03-08T18:00:00Z");
  EXPECT_EQ(formatTimestamp(*after), "2014-03-10T17:00:00Z");
}

TEST(Time, ParsesSourceFormatsWithTwelveHourClock) {
  // SpotCrime: MM/DD/YY hh:mm AM/PM; 12:05 AM is just after midnight.
  auto t = parseLocalTime("10/19/15 12:05 AM", "%m/%d/%y %I:%M %p", "America/Chicago");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(formatTimestamp(*t), "2015-10-19T05:05:00Z");
  auto pm = parseLocalTime("03/14/2014 11:52:00 PM", "%m/%d/%Y %I:%M:%S %p", "America/Chicago");
  ASSERT_TRUE(pm.ok());
  EXPECT_EQ(formatTimestamp(*pm), "2014-03-15T04:52:00Z");
  EXPECT_FALSE(parseLocalTime("13/45/2014", "%m/%d/%Y", "America/Chicago").ok());
  EXPECT_FALSE(parseLocalTime("03/14/2014", "%m/%d/%Y", "Nowhere/Land").ok());
}

TEST(Time, LocalPartsGiveHourAndIsoWeekday) {
  auto t = parseTimestamp("2014-03-15T04:52:00Z");  // Friday 23:52 in Chicago
  ASSERT_TRUE(t.ok());
  auto p = localParts(*t, "America/Chicago");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hour, 23);
  EXPECT_EQ(p->weekday, 5);
  EXPECT_EQ(p->date, "2014-03-14");
  EXPECT_FALSE(localParts(*t, "Bad/Zone").ok());
}

}  // namespace
}  // namespace safestream::core
