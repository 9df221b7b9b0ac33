#pragma once
// Redis adapters of the API's ports: the shared token-bucket rate limiter,
// the Idempotency-Key store and the alert history (Redis streams). Each
// call borrows a connection from a small pool; every command has the
// client's timeout (RedisSettings::timeout).
#include <memory>
#include <mutex>
#include <vector>

#include "api/ports.h"
#include "core/redis_client.h"

namespace safestream::api {

// A pool of blocking connections; one per concurrent caller, created lazily.
class RedisPool {
 public:
  explicit RedisPool(core::RedisSettings settings);
  core::Result<core::RedisReply> command(const std::vector<std::string>& argv);
  core::Status ping();

 private:
  std::unique_ptr<core::RedisClient> acquire();
  void release(std::unique_ptr<core::RedisClient> c);
  core::RedisSettings settings_;
  std::mutex mu_;
  std::vector<std::unique_ptr<core::RedisClient>> idle_;
};

// Token bucket per client: `perMinute` tokens refill per minute, up to
// `burst`; the state lives in one Redis hash per client, updated atomically
// by a Lua script with the server's clock, so every API instance shares it.
class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(RedisPool& pool, double perMinute, double burst);
  core::Result<RateDecision> take(const std::string& clientKey) override;

 private:
  RedisPool& pool_;
  double perMinute_;
  double burst_;
  std::mutex shaMu_;
  std::string sha_;  // of the loaded script; empty until loaded
};

// Keys safestream:idem:{key}: a pending marker (60 s, so a crash does not
// block the key forever) replaced by the final response (24 h).
class RedisIdempotencyStore final : public IdempotencyStore {
 public:
  explicit RedisIdempotencyStore(RedisPool& pool);
  core::Result<std::optional<StoredResponse>> reserve(const std::string& key, const std::string& fingerprint) override;
  core::Status complete(const std::string& key, const StoredResponse& response) override;
  core::Status release(const std::string& key) override;

 private:
  RedisPool& pool_;
};

// XRANGE over safestream:alerts:{subscription_id} (cursor exclusive); each
// entry's "alert" field gets the entry id added as "cursor".
class RedisAlertHistory final : public AlertHistory {
 public:
  explicit RedisAlertHistory(RedisPool& pool);
  core::Result<std::vector<AlertEntry>> after(const std::string& subscriptionId, const std::string& after,
                                              int limit) override;
  core::Result<std::string> lastCursor(const std::string& subscriptionId) override;

 private:
  RedisPool& pool_;
};

// Adds/overwrites "cursor" in an alert JSON object; returns "" if not an object.
std::string withCursor(const std::string& alertJson, const std::string& cursor);

}  // namespace safestream::api
