// RapidAPI feeds (ingest/source_parsers): incident lists mapped with a
// column mapping (records under "incidents") and the ZIP-code crime grades.
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"
#include "ingest/source_parsers.h"

using namespace safestream;

namespace {
// The fields of ingest/config/example.json's "crimedata" source.
ingest::ColumnMapping incidentMapping() {
  ingest::ColumnMapping m;
  m.source = "rapidapi:crimedata";
  m.id = "id";
  m.time = "date";
  m.timeFormat = "%Y-%m-%dT%H:%M:%S";
  m.timeZone = "America/Los_Angeles";
  m.description = "description";
  m.lat = "lat";
  m.lon = "long";
  return m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ingest::ColumnMapping mapping = incidentMapping();
  const auto body = fuzz::text(data, size);
  if (auto batch = ingest::parseJsonRecords(body, mapping, "incidents")) {
    fuzz::requireNoNul(body, "a RapidAPI body with a NUL byte was accepted");
    for (const auto& r : batch->reports) fuzz::requireJson(core::encodeReport(r), "a RapidAPI report encoded to invalid JSON");
  }
  if (auto grades = ingest::parseZipGrades(body, "78701")) {
    fuzz::requireNoNul(body, "a zip grades body with a NUL byte was accepted");
    fuzz::requireJson(grades->rawJson, "zip grades raw JSON");
    if (!grades->breakdownJson.empty()) fuzz::requireJson(grades->breakdownJson, "zip grades breakdown JSON");
  }
  return 0;
}
