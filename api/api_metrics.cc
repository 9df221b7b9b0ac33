#include "api/api_metrics.h"

#include "core/metrics.h"

namespace safestream::api {

namespace {
prometheus::Counter& counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}
}  // namespace

ApiMetrics::ApiMetrics(prometheus::Registry& r)
    : websocketsOpen(prometheus::BuildGauge()
                         .Name("safestream_api_websockets_open")
                         .Help("Open WebSocket connections")
                         .Register(r)
                         .Add({})),
      alertsPushed(counter(r, "safestream_api_alerts_pushed_total", "Alerts written to WebSocket clients")),
      slowClientDisconnects(counter(r, "safestream_api_websocket_slow_disconnects_total",
                                    "WebSocket clients closed because they did not read their alerts")),
      reportsPublished(counter(r, "safestream_api_reports_published_total", "Citizen reports acknowledged by Kafka")),
      publishFailures(counter(r, "safestream_api_publish_failures_total", "Citizen reports Kafka did not acknowledge")),
      rateLimited(counter(r, "safestream_api_rate_limited_total", "Requests refused with 429")),
      degraded(counter(r, "safestream_api_degraded_total",
                       "Requests served without a failing dependency (rate limiter or idempotency store)")),
      liveMessages(counter(r, "safestream_api_live_messages_total", "Alert messages received on Redis pub/sub")),
      listenerReconnects(counter(r, "safestream_api_live_listener_reconnects_total",
                                 "Reconnects of the Redis pub/sub listener")),
      requests_(prometheus::BuildCounter()
                    .Name("safestream_api_requests_total")
                    .Help("HTTP requests by route, method and status")
                    .Register(r)),
      latency_(prometheus::BuildHistogram()
                   .Name("safestream_api_request_duration_seconds")
                   .Help("HTTP request latency by route, from the request read to the response queued")
                   .Register(r)) {}

void ApiMetrics::request(const std::string& route, const std::string& method, int status, double seconds) {
  const std::string key = route + '\x1f' + method + '\x1f' + std::to_string(status);
  std::pair<prometheus::Counter*, prometheus::Histogram*> s;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      it = series_
               .emplace(key, std::make_pair(&requests_.Add({{"route", route}, {"method", method}, {"status", std::to_string(status)}}),
                                            &latency_.Add({{"route", route}}, core::latencyBuckets())))
               .first;
    }
    s = it->second;
  }
  s.first->Increment();
  s.second->Observe(seconds);
}

}  // namespace safestream::api
