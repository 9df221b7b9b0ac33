#pragma once
// Formats a UTC time as local wall-clock text of an IANA zone, for source
// query parameters (RapidAPI's M/D/YYYY dates, Socrata's floating times).
#include <string>
#include <string_view>

#include "core/time.h"

namespace safestream::ingest {

// `format` is strftime-like (Abseil). An unknown zone formats in UTC.
std::string formatLocal(core::Timestamp t, std::string_view zone, std::string_view format);

}  // namespace safestream::ingest
