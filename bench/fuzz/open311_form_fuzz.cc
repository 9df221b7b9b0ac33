// The Open311 GeoReport v2 form body (POST /open311/v2/requests.json):
// application/x-www-form-urlencoded parsed by api::parseQuery, then
// api::parseOpen311Request. Never throws; an accepted report encodes to
// valid JSON.
#include "api/citizen_report.h"
#include "api/http_types.h"
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const core::Timestamp now = *core::parseTimestamp("2026-12-01T12:00:00Z");
  std::map<std::string, std::string> form;
  std::string bad;
  if (!api::parseQuery(fuzz::text(data, size), form, bad)) {
    fuzz::requireJson(api::errorResponse(400, "bad_form", "malformed form body: " + bad).body, "error body");
    return 0;
  }
  auto report = api::parseOpen311Request(form, "4f1c2a8e-5b7d-4c1e-9a3f-0d2b4c6e8f10", now);
  if (report) {
    fuzz::requireJson(core::encodeReport(*report), "an Open311 report encoded to invalid JSON");
  } else {
    fuzz::requireJson(api::errorResponse(400, "invalid_field", report.error().message).body, "error body");
  }
  return 0;
}
