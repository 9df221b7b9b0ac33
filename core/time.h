#pragma once
// Time handling: every stored time is UTC milliseconds; local times from
// sources are resolved through IANA zones (tzdata via Abseil).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace safestream::core {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Parses RFC 3339 ("2014-03-14T23:52:00Z", "...-06:00", fractional seconds).
// A time without offset ("2014-03-14T23:52:00") is local time in `zone`, which
// must then be given. Errors name the value and why it is wrong.
Result<Timestamp> parseTimestamp(std::string_view text, std::string_view zone = {});

// Parses `text` with a strptime-like `format` (Abseil syntax, e.g.
// "%m/%d/%Y %I:%M:%S %p") as local time in the IANA `zone`.
Result<Timestamp> parseLocalTime(std::string_view text, std::string_view format,
                                 std::string_view zone);

// "2014-03-15T05:52:00Z" (milliseconds shown only when not zero).
std::string formatTimestamp(Timestamp t);

struct LocalParts {
  int hour = 0;      // 0..23
  int weekday = 0;   // ISO: 1 = Monday .. 7 = Sunday
  std::string date;  // YYYY-MM-DD local
};
// Local wall-clock parts of `t` in `zone`; an unknown zone is an error.
Result<LocalParts> localParts(Timestamp t, std::string_view zone);

bool isKnownTimeZone(std::string_view zone);

// Milliseconds since the epoch, for metrics and wire formats.
inline long long toEpochMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp fromEpochMillis(long long ms) { return Timestamp(std::chrono::milliseconds(ms)); }
inline Timestamp nowUtc() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// Injected clock so tests control time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};
class SystemClock final : public Clock {
 public:
  Timestamp now() const override { return nowUtc(); }
};

}  // namespace safestream::core
