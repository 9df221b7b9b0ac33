#pragma once
// Parsers of what HTTP sources serve, as pure functions of the response body
// (no I/O): SpotCrime, RapidAPI-shaped incident feeds and Socrata JSON (both
// through a ColumnMapping), and RapidAPI "Crime Data By ZipCode" grades.
// A body that is not the expected document (HTML error page, truncated JSON,
// wrong shape) is an error for the whole response; a bad record inside a good
// document is a Rejection and the other records go on.
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"
#include "ingest/column_mapping.h"
#include "ingest/record.h"

namespace safestream::ingest {

// {"crimes":[{cdid, type, date "MM/DD/YY hh:mm AM", address, link, lat, lon}]}
// with dates in local time of the watched area's `timeZone`.
core::Result<ParsedBatch> parseSpotCrime(std::string_view body, const std::string& timeZone,
                                         const std::string& source = "spotcrime");

// A JSON array of flat objects (or an object holding the array under
// `recordsKey`), each mapped with `mapping`. Numbers and booleans are read as
// their JSON text. The raw record is kept in the report.
core::Result<ParsedBatch> parseJsonRecords(std::string_view body, const ColumnMapping& mapping,
                                           const std::string& recordsKey = {});

// Crime grades of one ZIP code ("Crime Data By ZipCode" API): all values are
// strings in the source. Stored as area context, not as incidents.
struct ZipGrades {
  std::string zip;
  std::map<std::string, std::string> overall;  // e.g. "Overall Crime Grade" -> "D-"
  std::string overallGrade;                    // "" when the source has none
  std::string breakdownJson;                   // the "Crime BreakDown" part, JSON text
  std::string rawJson;                         // the whole response
};
core::Result<ZipGrades> parseZipGrades(std::string_view body, const std::string& zip);

// Classifies a body that is not JSON for the error message ("HTML page",
// "truncated JSON", ...), so operators see what the source really sent.
std::string describeBadBody(std::string_view body);

}  // namespace safestream::ingest
