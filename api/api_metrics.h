#pragma once
// The API's Prometheus metrics (names prefixed safestream_api_).
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mutex>
#include <string>
#include <unordered_map>

namespace safestream::api {

class ApiMetrics {
 public:
  explicit ApiMetrics(prometheus::Registry& registry);

  // One finished HTTP request on `route` (the route pattern, "unmatched" for 404/405).
  void request(const std::string& route, const std::string& method, int status, double seconds);

  prometheus::Gauge& websocketsOpen;
  prometheus::Counter& alertsPushed;
  prometheus::Counter& slowClientDisconnects;
  prometheus::Counter& reportsPublished;
  prometheus::Counter& publishFailures;
  prometheus::Counter& rateLimited;
  prometheus::Counter& degraded;          // a dependency failed and the request went on without it
  prometheus::Counter& liveMessages;      // pub/sub messages received from Redis
  prometheus::Counter& listenerReconnects;

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  // Family::Add hashes the labels and builds bucket vectors on every call;
  // the handful of (route, method, status) series are looked up once.
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<prometheus::Counter*, prometheus::Histogram*>> series_;
};

}  // namespace safestream::api
