#pragma once
// Prometheus metrics of safestream-ingest. Owns its families; takes the
// registry so each test gets a fresh one. Thread-safe (prometheus-cpp).
#include <string>

#include "core/metrics.h"

namespace safestream::ingest {

class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry& registry);

  // status: HTTP status code ("200", "429") or a transport error ("timeout", "connect").
  void request(const std::string& source, const std::string& status);
  prometheus::Histogram& requestSeconds(const std::string& source);
  void fetched(const std::string& source, double n);
  void published(const std::string& source, double n);
  void skippedSeen(const std::string& source, double n);
  void rejected(const std::string& source, const std::string& reason, double n = 1);
  void deliveryErrors(const std::string& source, double n);
  void pollError(const std::string& source, const std::string& code);
  void lastSuccessNow(const std::string& source);
  void quotaRemaining(const std::string& source, double remaining);
  void queueDepth(double depth);
  void gradesStored(const std::string& source, double n);

  // For tests: current value of a counter (0 when never incremented).
  double recordsValue(const std::string& source, const std::string& outcome);
  double rejectedValue(const std::string& source, const std::string& reason);
  double requestsValue(const std::string& source, const std::string& status);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& requestSeconds_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& deliveryErrors_;
  prometheus::Family<prometheus::Counter>& pollErrors_;
  prometheus::Family<prometheus::Gauge>& lastSuccess_;
  prometheus::Family<prometheus::Gauge>& quota_;
  prometheus::Family<prometheus::Gauge>& queueDepth_;
  prometheus::Family<prometheus::Counter>& grades_;
};

}  // namespace safestream::ingest
