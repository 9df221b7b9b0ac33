#pragma once
// Metrics helpers on prometheus-cpp. Each component has a *Metrics class that
// owns its families and takes a prometheus::Registry&, so every test gets a
// fresh registry. Names are prefixed "safestream_".
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <string>

namespace safestream::core {

// Buckets in seconds from 0.5 ms to 60 s, for batch and request latencies.
prometheus::Histogram::BucketBoundaries latencyBuckets();
// Buckets in seconds from 10 ms to 1 day, for event age (occurred -> processed).
prometheus::Histogram::BucketBoundaries ageBuckets();

// Text exposition (format 0.0.4) of everything in `registry`.
std::string serializeMetrics(prometheus::Registry& registry);

// Observes elapsed seconds into a histogram when destroyed.
class ScopedTimer {
 public:
  explicit ScopedTimer(prometheus::Histogram& h) : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    h_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  prometheus::Histogram& h_;
  std::chrono::steady_clock::time_point start_;
};

// Build info gauge every daemon exports: safestream_build_info{component,version} 1.
void addBuildInfo(prometheus::Registry& registry, const std::string& component);

}  // namespace safestream::core
