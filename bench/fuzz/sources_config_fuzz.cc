// The ingest daemon's sources file (ingest/sources_config): loading must
// either give a valid configuration or throw core::ConfigError naming the
// problem, never anything else.
#include "bench/fuzz/fuzz_support.h"
#include "core/result.h"
#include "ingest/sources_config.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)ingest::parseSourcesConfig(std::string(fuzz::text(data, size)), "fuzz-sources.json");
    fuzz::requireNoNul(fuzz::text(data, size), "a sources file with a NUL byte was accepted");
  } catch (const core::ConfigError&) {
  }
  return 0;
}
