// The taxonomy file (processor/taxonomy: CSV of source types -> category and
// severity): parse throws core::ConfigError on a bad file, else every
// classification names a category the taxonomy has.
#include "bench/fuzz/fuzz_support.h"
#include "core/result.h"
#include "processor/taxonomy.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [csv, type] = fuzz::split(fuzz::text(data, size), "\n===\n");
  try {
    auto taxonomy = processor::Taxonomy::parse(csv, "fuzz-taxonomy.csv");
    core::Report r;
    r.source = "chicago";
    r.rawType = std::string(type);
    r.rawCode = std::string(type.substr(0, 4));
    (void)taxonomy.classify(r);
    (void)processor::foldTypeText(type);
  } catch (const core::ConfigError&) {
  }
  return 0;
}
