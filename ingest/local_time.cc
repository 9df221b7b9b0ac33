#include "ingest/local_time.h"

#include <absl/time/time.h>

namespace safestream::ingest {

std::string formatLocal(core::Timestamp t, std::string_view zone, std::string_view format) {
  absl::TimeZone tz = absl::UTCTimeZone();
  if (!zone.empty()) absl::LoadTimeZone(std::string(zone), &tz);
  return absl::FormatTime(std::string(format), absl::FromUnixMillis(core::toEpochMillis(t)), tz);
}

}  // namespace safestream::ingest
