#pragma once
// The process's one Redis pub/sub connection: PSUBSCRIBE
// safestream:alerts:live:* and safestream:channel:live:* (core/live_feed.h)
// and hand every message to the AlertHub. After a
// lost connection it reconnects with backoff and asks every live session to
// re-read its stream from its last cursor, so nothing published while it was
// away is missed.
//
// Threading: one dedicated thread owns the hiredis connection; stop() (or the
// destructor) joins it within about 200 ms.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "api/alert_hub.h"

namespace safestream::api {

class ApiMetrics;

class RedisAlertListener {
 public:
  RedisAlertListener(std::string redisUrl, AlertHub& hub, ApiMetrics* metrics);
  ~RedisAlertListener();
  RedisAlertListener(const RedisAlertListener&) = delete;
  RedisAlertListener& operator=(const RedisAlertListener&) = delete;

  void stop();
  bool connected() const { return connected_.load(); }
  // Blocks until the first PSUBSCRIBE is confirmed or `timeout` passes.
  bool waitSubscribed(std::chrono::milliseconds timeout) const;

 private:
  void run();
  std::string host_;
  int port_ = 6379;
  std::string password_;
  int db_ = 0;
  AlertHub& hub_;
  ApiMetrics* metrics_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace safestream::api
