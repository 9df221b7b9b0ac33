// Socrata JSON (ingest/source_parsers: parseJsonRecords on a top-level
// array), mapped like ingest/config/example.json's "chicago" source.
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"
#include "ingest/source_parsers.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ingest::ColumnMapping mapping = [] {
    ingest::ColumnMapping m;
    m.source = "socrata:chicago";
    m.id = "id";
    m.time = "date";
    m.timeZone = "America/Chicago";
    m.type = "primary_type";
    m.code = "iucr";
    m.description = "description";
    m.lat = "latitude";
    m.lon = "longitude";
    m.address = "block";
    m.arrest = "arrest";
    m.updated = "updated_on";
    return m;
  }();
  if (auto batch = ingest::parseJsonRecords(fuzz::text(data, size), mapping)) {
    fuzz::requireNoNul(fuzz::text(data, size), "a Socrata body with a NUL byte was accepted");
    for (const auto& r : batch->reports) fuzz::requireJson(core::encodeReport(r), "a Socrata report encoded to invalid JSON");
  }
  return 0;
}
