#include "core/time.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <mutex>
#include <unordered_map>

namespace safestream::core {
namespace {

// absl::LoadTimeZone reads tzdata from disk; cache zones (they are immutable).
std::optional<absl::TimeZone> loadZone(std::string_view name) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::optional<absl::TimeZone>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, inserted] = cache.try_emplace(std::string(name));
  if (inserted) {
    absl::TimeZone tz;
    if (absl::LoadTimeZone(std::string(name), &tz)) it->second = tz;
  }
  return it->second;
}

Timestamp fromAbsl(absl::Time t) {
  return Timestamp(std::chrono::milliseconds(absl::ToUnixMillis(t)));
}

bool hasOffset(std::string_view s) {
  // After the 'T' separator, an offset is 'Z' or a '+'/'-' sign.
  auto tpos = s.find_first_of("Tt ");
  if (tpos == std::string_view::npos) return false;
  auto rest = s.substr(tpos);
  return rest.find_first_of("Zz+") != std::string_view::npos || rest.find('-') != std::string_view::npos;
}

// The common shape, as formatTimestamp writes it: YYYY-MM-DDTHH:MM:SS[.fff]Z.
// Anything else (offsets, other precisions, leap seconds, invalid dates) is
// left to Abseil, so results never differ.
std::optional<Timestamp> parseUtcFast(std::string_view s) {
  if (s.size() != 20 && s.size() != 24) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') {
    return std::nullopt;
  }
  bool ok = true;
  auto num = [&](std::size_t at, std::size_t digits) {
    int v = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (s[i] < '0' || s[i] > '9') ok = false;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  const int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  int ms = 0;
  if (s.size() == 24) {
    if (s[19] != '.') return std::nullopt;
    ms = num(20, 3);
  }
  if (!ok || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  return Timestamp(std::chrono::sys_days(ymd)) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second) + std::chrono::milliseconds(ms);
}

}  // namespace

bool isKnownTimeZone(std::string_view zone) { return !zone.empty() && loadZone(zone).has_value(); }

Result<Timestamp> parseTimestamp(std::string_view text, std::string_view zone) {
  std::string err;
  absl::Time t;
  if (auto fast = parseUtcFast(text)) return *fast;
  if (hasOffset(text)) {
    if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return fromAbsl(t);
    return makeError("invalid_time", "'" + std::string(text) + "' is not an RFC 3339 time: " + err);
  }
  if (zone.empty()) {
    return makeError("invalid_time", "'" + std::string(text) +
                                         "' has no UTC offset and no time zone was given");
  }
  auto tz = loadZone(zone);
  if (!tz) return makeError("invalid_time_zone", "unknown time zone '" + std::string(zone) + "'");
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", std::string(text), *tz, &t, &err)) return fromAbsl(t);
  return makeError("invalid_time", "'" + std::string(text) + "' is not an ISO local time: " + err);
}

Result<Timestamp> parseLocalTime(std::string_view text, std::string_view format,
                                 std::string_view zone) {
  auto tz = loadZone(zone);
  if (!tz) return makeError("invalid_time_zone", "unknown time zone '" + std::string(zone) + "'");
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(std::string(format), std::string(text), *tz, &t, &err)) {
    return makeError("invalid_time", "'" + std::string(text) + "' does not match '" +
                                         std::string(format) + "': " + err);
  }
  return fromAbsl(t);
}

std::string formatTimestamp(Timestamp t) {
  // Hot path (several times per report in every sink): plain calendar
  // arithmetic for four-digit years; Abseil for anything else.
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const int year = static_cast<int>(ymd.year());
  if (year >= 0 && year <= 9999) {
    const long long msOfDay = (t - day).count();
    const int ms = static_cast<int>(msOfDay % 1000);
    const int sec = static_cast<int>(msOfDay / 1000);
    char buf[32];
    auto put = [&buf](int at, int value, int digits) {
      for (int i = digits - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, year, 4);
    buf[4] = '-';
    put(5, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
    buf[7] = '-';
    put(8, static_cast<int>(static_cast<unsigned>(ymd.day())), 2);
    buf[10] = 'T';
    put(11, sec / 3600, 2);
    buf[13] = ':';
    put(14, sec / 60 % 60, 2);
    buf[16] = ':';
    put(17, sec % 60, 2);
    std::size_t n = 19;
    if (ms != 0) {
      buf[19] = '.';
      put(20, ms, 3);
      n = 23;
    }
    buf[n++] = 'Z';
    return std::string(buf, n);
  }
  absl::Time at = absl::FromUnixMillis(toEpochMillis(t));
  const bool wholeSecond = toEpochMillis(t) % 1000 == 0;
  return absl::FormatTime(wholeSecond ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%E3SZ", at,
                          absl::UTCTimeZone());
}

Result<LocalParts> localParts(Timestamp t, std::string_view zone) {
  auto tz = loadZone(zone);
  if (!tz) return makeError("invalid_time_zone", "unknown time zone '" + std::string(zone) + "'");
  absl::Time at = absl::FromUnixMillis(toEpochMillis(t));
  absl::CivilSecond cs = absl::ToCivilSecond(at, *tz);
  LocalParts p;
  p.hour = cs.hour();
  switch (absl::GetWeekday(cs)) {
    case absl::Weekday::monday: p.weekday = 1; break;
    case absl::Weekday::tuesday: p.weekday = 2; break;
    case absl::Weekday::wednesday: p.weekday = 3; break;
    case absl::Weekday::thursday: p.weekday = 4; break;
    case absl::Weekday::friday: p.weekday = 5; break;
    case absl::Weekday::saturday: p.weekday = 6; break;
    case absl::Weekday::sunday: p.weekday = 7; break;
  }
  p.date = absl::FormatCivilTime(absl::CivilDay(cs));
  return p;
}

}  // namespace safestream::core
