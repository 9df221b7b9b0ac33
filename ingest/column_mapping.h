#pragma once
// Which field of a flat source record (a CSV row, a Socrata or RapidAPI JSON
// object) holds which report field, plus the time format and zone of the
// place. One mapping turns any city's export into report messages, so adding
// a similar source needs a mapping file, not code.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ingest/record.h"

namespace safestream::ingest {

struct ColumnMapping {
  std::string source;        // report source name, e.g. "chicago", "csv:austin"
  std::string id;            // required: the source's record id
  std::string time;          // required: when it occurred (or its date, with `timeOfDay`)
  // Abseil/strptime format of `time` in `timeZone`, or "iso" for ISO 8601 /
  // RFC 3339 text (a value without offset is local time in `timeZone`).
  // %m and %d accept months and days without a leading zero ("1/8/2020").
  std::string timeFormat = "iso";
  // More formats of `time` and `updated`, tried in order after `timeFormat`
  // (exports that mix "01/08/2020 12:00:00 AM" and "01/08/2020 00:00").
  std::vector<std::string> moreTimeFormats;
  // Optional column with the time of day when `time` holds the date only
  // (its clock part, if any, is ignored): Los Angeles' TIME OCC "2230",
  // New York's CMPLNT_FR_TM "17:30:00". An empty value keeps the date's time.
  std::string timeOfDay;
  // "hhmm" (1-4 digits, hours * 100 + minutes: "2230", "5" = 00:05) or a
  // strptime format of the clock time ("%H:%M:%S").
  std::string timeOfDayFormat = "hhmm";
  std::string timeZone;      // required IANA zone of the place
  std::string type;          // raw_type; when empty (or a row's value is), `description` is used
  std::string code;          // raw_code (optional)
  std::string description;   // optional
  std::string lat, lon;      // optional pair; rows without both are published un-geocoded
  // Coordinate texts that mean "not geocoded" besides the empty one and
  // the (0, 0) pair, e.g. "0" (either coordinate).
  std::vector<std::string> missingCoordinates;
  std::string address;       // optional
  std::string arrest;        // optional: true/false/Y/N/1/0, or one of `arrestValues`
  // When given: the arrest flag is true for these values of `arrest` (any
  // case, e.g. "Adult Arrest", "Juv Arrest") and false for any other value.
  std::vector<std::string> arrestValues;
  std::string url;           // optional
  std::string updated;       // optional: reported_at, same format(s) as `time`
  // Optional column with the source's neighbourhood, district or borough
  // (report `district`): the neighbourhood of a city without a boundary file.
  std::string district;
  // Optional city id of deploy/cities.json every record of this source
  // belongs to (report `city`; the processor prefers the city whose
  // boundaries contain the point).
  std::string city;
};

// The City of Chicago "Crimes - 2001 to Present" export (22 columns).
ColumnMapping chicagoMapping();

// Looks up a field of the current record by name; nullopt when the record has
// no such field (an empty string is a present-but-empty value).
using FieldGetter = std::function<std::optional<std::string_view>(const std::string& name)>;

// Builds one report from a record. Errors carry a reason code in `code`
// (see Rejection) and a message naming the field and value.
core::Result<core::Report> mapRecord(const ColumnMapping& mapping, const FieldGetter& get);

// Parses a source time: `format` is "iso" (RFC 3339, or local ISO time in
// `zone` when it has no offset) or an Abseil strptime format in `zone`.
core::Result<core::Timestamp> parseSourceTime(const std::string& text, const std::string& format,
                                              const std::string& zone);
// The mapping's time of a record: `dateText` in the first of its formats
// that reads it, with the clock time of `timeOfDayText` when the mapping
// has a time-of-day column (and the value is not empty).
core::Result<core::Timestamp> parseMappedTime(const ColumnMapping& mapping, const std::string& dateText,
                                              const std::optional<std::string>& timeOfDayText);

// ^[a-z][a-z0-9_.:-]{0,63}$, the report schema's rule for `source`.
bool isValidSourceName(std::string_view name);

// Loads a mapping file (JSON: {"source", "id", "time", "time_format",
// "time_zone", "type", ...}). Throws core::ConfigError naming the file, the
// line and the key on any problem.
ColumnMapping loadColumnMapping(const std::string& path);
// Same checks on an already parsed mapping object given as JSON text (used by
// the config file, which embeds mappings); `where` prefixes error messages.
ColumnMapping parseColumnMapping(std::string_view jsonText, const std::string& where);

}  // namespace safestream::ingest
