#pragma once
// The report model shared by every daemon: the fields of
// schemas/report.v1.json. Raw fields come from ingest or the API; the
// enrichment block is filled by the processor.
#include <cstdint>
#include <optional>
#include <string>

#include "core/time.h"

namespace safestream::core {

// A report id is a UUID string: v5 from (source, source_id) so re-scrapes and
// replays upsert the same row.
struct ReportId {
  std::string value;
  bool operator==(const ReportId&) const = default;
};

struct GeoPoint {
  double lat = 0;
  double lon = 0;
  bool operator==(const GeoPoint&) const = default;
};

struct Enrichment {
  std::string category;  // taxonomy category, e.g. "theft"
  int severity = 0;      // 1..5
  // Which rule decided the category, e.g. "source-type", "nibrs-code",
  // "keyword:larceny" (processor/classifier.h); empty when unknown.
  std::string classifiedBy;
  std::optional<std::string> city;  // city id from core/cities (deploy/cities.json)
  std::uint64_t cellL10 = 0;  // S2 cell ids (0 = not geocoded)
  std::uint64_t cellL13 = 0;
  std::uint64_t cellL16 = 0;
  std::optional<std::string> neighbourhood;  // as the city's boundary file (or district column) names it
  int localHour = -1;     // 0..23 in the report's zone
  int localWeekday = 0;   // ISO 1..7
  std::optional<ReportId> duplicateOf;
  std::optional<Timestamp> processedAt;
  bool operator==(const Enrichment&) const = default;
};

struct Report {
  ReportId id;
  std::string source;    // "spotcrime", "chicago", "citizen", ...
  std::string sourceId;  // the source's own id
  std::string rawType;   // the source's type text, e.g. "THEFT"
  std::optional<std::string> rawCode;      // e.g. Chicago IUCR "0820"
  std::optional<std::string> category;     // a citizen may give one directly
  std::string description;
  Timestamp occurredAt{};                  // UTC
  std::optional<std::string> timeZone;     // IANA zone of the place
  Timestamp reportedAt{};                  // when the source published it
  std::optional<Timestamp> ingestedAt;     // when ingest/api put it on Kafka
  std::optional<GeoPoint> location;        // absent: not geocoded
  std::optional<std::string> address;
  std::optional<std::string> url;
  std::optional<bool> arrest;              // where the source says
  std::optional<std::string> city;         // the city id the source declares (import mapping)
  std::optional<std::string> district;     // the source's own neighbourhood/district/borough text
  std::optional<std::string> contact;      // private: never leaves PostgreSQL
  std::optional<std::string> rawJson;      // the source record, verbatim JSON
  std::optional<Enrichment> enrichment;
  bool operator==(const Report&) const = default;
};

}  // namespace safestream::core
