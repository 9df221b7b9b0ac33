// The report codec (core/report_codec): every message on reports.raw comes
// from outside. Decoding never throws; what decodes encodes to valid JSON
// that decodes again to the same encoding.
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  core::DecodeOptions opts;
  opts.now = *core::parseTimestamp("2026-12-01T12:00:00Z");
  auto r = core::decodeReport(fuzz::text(data, size), opts);
  if (!r) return 0;
  fuzz::requireNoNul(fuzz::text(data, size), "a report message with a NUL byte was accepted");
  const std::string once = core::encodeReport(*r);
  fuzz::requireJson(once, "encodeReport gave invalid JSON");
  auto again = core::decodeReport(once, opts);
  fuzz::require(again.ok(), "an encoded report did not decode", once);
  fuzz::require(core::encodeReport(*again) == once, "encode(decode(encode(r))) != encode(r)", once);
  fuzz::requireJson(core::encodeReport(*r, false), "public encoding gave invalid JSON");
  return 0;
}
