// Boundary GeoJSON (processor/alerting/boundaries: FeatureCollections of
// named Polygon/MultiPolygon features, from files operators configure):
// parse throws core::ConfigError on bad GeoJSON, nothing else.
#include "bench/fuzz/fuzz_support.h"
#include "core/result.h"
#include "processor/alerting/boundaries.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto b = processor::alerting::Boundaries::parse(fuzz::text(data, size), "name", "fuzz.geojson");
    fuzz::requireNoNul(fuzz::text(data, size), "a boundary file with a NUL byte was accepted");
    for (const auto& name : b.names()) fuzz::require(b.find(name) != nullptr, "a listed name is not found", name);
  } catch (const core::ConfigError&) {
  }
  return 0;
}
