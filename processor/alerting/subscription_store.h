#pragma once
// Reads subscriptions from PostgreSQL (schemas/sql/0300_subscriptions.sql)
// and keeps a SubscriptionRegistry current: a background thread LISTENs on
// channel 'safestream_subscriptions', reloads the changed row by id on each
// notification and does a full reload on every (re)connect, so nothing missed
// while disconnected stays stale.
//
// Threading: one owned thread; stop() (or the destructor) ends it within
// about `pollInterval`. Every database call has the connect timeout of the
// URL (connect_timeout=5 is added when absent) and a statement timeout.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/subscription.h"
#include "processor/alerting/alert_metrics.h"
#include "processor/alerting/subscription_registry.h"

namespace safestream::processor::alerting {

// One-shot reads (also used by tests and the benchmark loader). Throw
// std::exception on database errors; a row that does not parse is logged,
// counted by the caller and skipped (never aborts a reload).
std::vector<core::Subscription> loadAllSubscriptions(const std::string& pgUrl);

class SubscriptionListener {
 public:
  SubscriptionListener(std::string pgUrl, SubscriptionRegistry& registry, AlertMetrics& metrics,
                       std::chrono::milliseconds pollInterval = std::chrono::milliseconds(200));
  ~SubscriptionListener();
  SubscriptionListener(const SubscriptionListener&) = delete;
  SubscriptionListener& operator=(const SubscriptionListener&) = delete;

  void start();
  void stop();
  // True once the first full load has completed (readiness).
  bool waitUntilLoaded(std::chrono::milliseconds timeout);
  bool connected() const { return connected_.load(); }
  // Full reloads done so far (tests observe reconnects through it).
  int reloads() const { return reloads_.load(); }

 private:
  void run();
  std::string pgUrl_;
  SubscriptionRegistry& registry_;
  AlertMetrics& metrics_;
  std::chrono::milliseconds pollInterval_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int> reloads_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool loaded_ = false;
  std::thread thread_;
};

}  // namespace safestream::processor::alerting
