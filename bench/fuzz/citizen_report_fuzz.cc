// A citizen's POST /v1/reports body (api/citizen_report): strict JSON with
// named errors. Never throws; what it accepts encodes and decodes again;
// the error body that names the problem is valid JSON.
#include "api/citizen_report.h"
#include "api/http_types.h"
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const core::Timestamp now = *core::parseTimestamp("2026-12-01T12:00:00Z");
  auto report = api::parseCitizenReport(fuzz::text(data, size), "4f1c2a8e-5b7d-4c1e-9a3f-0d2b4c6e8f10", now);
  if (!report) {
    fuzz::requireJson(api::errorResponse(400, report.error().code, report.error().message, report.error().field).body,
                      "error body");
    return 0;
  }
  fuzz::requireNoNul(fuzz::text(data, size), "a citizen report with a NUL byte was accepted");
  const auto encoded = core::encodeReport(*report);
  fuzz::requireJson(encoded, "a citizen report encoded to invalid JSON");
  core::DecodeOptions opts;
  opts.now = now;
  fuzz::require(core::decodeReport(encoded, opts).ok(), "an accepted citizen report does not decode", encoded);
  return 0;
}
