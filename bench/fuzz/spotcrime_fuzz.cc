// SpotCrime's JSON feed (ingest/source_parsers: parseSpotCrime): a scraped
// HTTP body. Never throws; every report it returns encodes to valid JSON.
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"
#include "ingest/source_parsers.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fuzz::text(data, size);
  auto batch = ingest::parseSpotCrime(body, "America/Chicago");
  if (!batch) {
    (void)ingest::describeBadBody(body);
    return 0;
  }
  fuzz::requireNoNul(body, "a SpotCrime body with a NUL byte was accepted");
  for (const auto& r : batch->reports) fuzz::requireJson(core::encodeReport(r), "a SpotCrime report encoded to invalid JSON");
  return 0;
}
