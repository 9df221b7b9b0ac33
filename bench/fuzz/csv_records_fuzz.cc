// The CSV reader (ingest/csv_reader) and the column mapping applied to its
// rows (ingest/column_mapping, here the Chicago export's): an open-data file
// is outside input. The first record is the header, like an import's.
#include <sstream>

#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"
#include "ingest/column_mapping.h"
#include "ingest/csv_reader.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ingest::ColumnMapping mapping = ingest::chicagoMapping();
  std::istringstream in{std::string(fuzz::text(data, size))};
  ingest::CsvReader reader(in, 4096);
  std::vector<std::string> header, row;
  if (!reader.next(header)) return 0;
  std::size_t lastBytes = reader.bytesRead();
  for (int n = 0; n < 64 && reader.next(row); ++n) {
    fuzz::require(reader.bytesRead() >= lastBytes && reader.bytesRead() <= size, "bytesRead out of range");
    lastBytes = reader.bytesRead();
    if (reader.malformed()) continue;
    auto get = [&](const std::string& name) -> std::optional<std::string_view> {
      for (std::size_t i = 0; i < header.size() && i < row.size(); ++i) {
        if (header[i] == name) return std::string_view(row[i]);
      }
      return std::nullopt;
    };
    auto report = ingest::mapRecord(mapping, get);
    if (report) fuzz::requireJson(core::encodeReport(*report), "a mapped row encoded to invalid JSON");
  }
  return 0;
}
