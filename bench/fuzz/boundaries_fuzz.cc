// Boundary GeoJSON (core/cities: FeatureCollections of named Polygon /
// MultiPolygon features, from files operators configure): parseBoundaries
// throws core::ConfigError on bad GeoJSON, nothing else.
#include "bench/fuzz/fuzz_support.h"
#include "core/cities.h"
#include "core/result.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto hoods = core::CityCatalog::parseBoundaries(fuzz::text(data, size), "name", "fuzz.geojson");
    fuzz::requireNoNul(fuzz::text(data, size), "a boundary file with a NUL byte was accepted");
    for (const auto& n : hoods) fuzz::require(!n.name.empty(), "a neighbourhood without a name", n.name);
  } catch (const core::ConfigError&) {
  }
  return 0;
}
