#pragma once
// Which field of a flat source record (a CSV row, a Socrata or RapidAPI JSON
// object) holds which report field, plus the time format and zone of the
// place. One mapping turns any city's export into report messages, so adding
// a similar source needs a mapping file, not code.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "ingest/record.h"

namespace safestream::ingest {

struct ColumnMapping {
  std::string source;        // report source name, e.g. "chicago", "csv:austin"
  std::string id;            // required: the source's record id
  std::string time;          // required: when it occurred
  // Abseil/strptime format of `time` in `timeZone`, or "iso" for ISO 8601 /
  // RFC 3339 text (a value without offset is local time in `timeZone`).
  std::string timeFormat = "iso";
  std::string timeZone;      // required IANA zone of the place
  std::string type;          // raw_type; when empty, `description` is used
  std::string code;          // raw_code (optional)
  std::string description;   // optional
  std::string lat, lon;      // optional pair; rows without both are published un-geocoded
  std::string address;       // optional
  std::string arrest;        // optional: true/false/Y/N/1/0
  std::string url;           // optional
  std::string updated;       // optional: reported_at, same format as `time`
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
