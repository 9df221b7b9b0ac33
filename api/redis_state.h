#pragma once
// Redis adapters of the API's ports: the shared token-bucket rate limiter,
// the Idempotency-Key store and the alert history (Redis streams). Each
// call borrows a connection from a small pool; every command has the
// client's timeout (RedisSettings::timeout).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
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

// Sends the commands of many callers in one pipelined round trip on a
// connection of its own. For the rate-limit check every POST makes: before,
// the I/O thread waited for that round trip (two I/O threads: at most two
// checks in flight, and the thread's other connections stalled meanwhile);
// now 64 concurrent requests cost one round trip and no thread waits.
//
// Threading: submit() from any thread; callbacks run on the batcher's own
// thread, in submission order, and must not block (they delay the next
// batch). Every command has the client's timeout; an I/O error fails every
// command of its batch. The destructor fails what is still queued.
class RedisBatcher {
 public:
  using Callback = std::function<void(core::Result<core::RedisReply>)>;
  explicit RedisBatcher(core::RedisSettings settings, std::size_t maxBatch = 1024);
  ~RedisBatcher();
  RedisBatcher(const RedisBatcher&) = delete;
  RedisBatcher& operator=(const RedisBatcher&) = delete;
  void submit(std::vector<std::string> argv, Callback done);
  // The same with the command made on the batcher's thread as its batch is
  // formed (outside the batcher's lock), so that the caller can fold into
  // it what arrives until then. `done` also runs when `make` never did
  // (shutdown).
  void submitLazy(std::function<std::vector<std::string>()> make, Callback done);
  // Ends the thread after the batch on the wire; what is still queued fails
  // ("shutting down") on the caller's thread. Idempotent; the destructor
  // calls it. Submitting after it fails at once.
  void stop();

 private:
  struct Queued {
    std::vector<std::string> argv;
    std::function<std::vector<std::string>()> make;  // set: argv is made from it
    Callback done;
  };
  void enqueue(Queued q);  // or fails it at once after stop()
  void run();
  core::RedisClient client_;
  std::size_t maxBatch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// Token bucket per client: `perMinute` tokens refill per minute, up to
// `burst`; the state lives in one Redis hash per client, updated atomically
// by a Lua script with the server's clock, so every API instance shares it.
//
// The checks of one client that wait for the same batch are one script
// call that takes n tokens (and answers as n calls in a row would, see
// rate_limit.h): a flood from one address, or many users behind one NAT,
// costs Redis one call per batch instead of one per request.
class RedisRateLimiter final : public RateLimiter {
 public:
  // With a batcher, takeAsync() goes through it (one round trip for many
  // requests, one call per client); without one it is the blocking take().
  RedisRateLimiter(RedisPool& pool, double perMinute, double burst, RedisBatcher* batcher = nullptr);
  core::Result<RateDecision> take(const std::string& clientKey) override;
  void takeAsync(const std::string& clientKey, std::function<void(core::Result<RateDecision>)> done) override;
  // Script calls made so far (each answers one or more checks).
  std::uint64_t scriptCalls() const { return scriptCalls_.load(std::memory_order_relaxed); }

 private:
  std::string sha();  // of the loaded script; loads it on first use
  std::vector<std::string> args(const std::string& head, const std::string& clientKey) const;
  using Done = std::function<void(core::Result<RateDecision>)>;
  // The checks of one client not yet sent; closed (and out of waiting_)
  // once its command is made or its batch failed, immutable after.
  struct Waiting {
    std::vector<Done> done;
    bool closed = false;
  };
  void close(const std::string& clientKey, Waiting& w);
  void answer(const std::string& clientKey, Waiting& w, core::Result<core::RedisReply> r);
  RedisPool& pool_;
  RedisBatcher* batcher_;
  double perMinute_;
  double burst_;
  std::string rateArg_, burstArg_;  // the script's ARGV, formatted once
  std::mutex shaMu_;
  std::string sha_;  // of the loaded script; empty until loaded
  std::mutex waitMu_;
  std::unordered_map<std::string, std::shared_ptr<Waiting>> waiting_;
  std::atomic<std::uint64_t> scriptCalls_{0};
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

// XRANGE over a feed's stream (safestream:alerts:{subscription_id} or a
// broadcast channel's, cursor exclusive); each entry's "alert" field gets the
// entry id added as "cursor".
class RedisAlertHistory final : public AlertHistory {
 public:
  explicit RedisAlertHistory(RedisPool& pool);
  core::Result<std::vector<AlertEntry>> after(const std::string& feed, const std::string& after,
                                              int limit) override;
  core::Result<std::string> lastCursor(const std::string& feed) override;

 private:
  RedisPool& pool_;
};

// Adds/overwrites "cursor" in an alert JSON object; returns "" if not an object.
std::string withCursor(const std::string& alertJson, const std::string& cursor);

}  // namespace safestream::api
