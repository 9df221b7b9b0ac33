#include "core/metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace safestream::core {

prometheus::Histogram::BucketBoundaries latencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

prometheus::Histogram::BucketBoundaries ageBuckets() {
  return {0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400};
}

std::string serializeMetrics(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer serializer;
  serializer.Serialize(out, registry.Collect());
  return out.str();
}

void addBuildInfo(prometheus::Registry& registry, const std::string& component) {
  prometheus::BuildGauge()
      .Name("safestream_build_info")
      .Help("Build information; the value is always 1")
      .Register(registry)
      .Add({{"component", component}, {"version", "0.1.0"}})
      .Set(1);
}

}  // namespace safestream::core
