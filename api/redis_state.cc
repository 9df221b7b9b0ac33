#include "api/redis_state.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "api/alert_hub.h"
#include "api/rate_limit.h"

namespace safestream::api {

using nlohmann::json;

RedisPool::RedisPool(core::RedisSettings settings) : settings_(std::move(settings)) {
  core::RedisClient probe(settings_);  // validates the URL now (ConfigError)
}

std::unique_ptr<core::RedisClient> RedisPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return std::make_unique<core::RedisClient>(settings_);
}

void RedisPool::release(std::unique_ptr<core::RedisClient> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < 64) idle_.push_back(std::move(c));
}

core::Result<core::RedisReply> RedisPool::command(const std::vector<std::string>& argv) {
  auto c = acquire();
  auto r = c->command(argv);
  release(std::move(c));
  return r;
}

core::Status RedisPool::ping() {
  auto c = acquire();
  auto r = c->ping();
  release(std::move(c));
  return r;
}

namespace {
// KEYS[1] bucket; ARGV rate per ms, burst, n (tokens wanted; 1 if absent).
// Returns {taken, retry_ms, remaining}: taken is what n calls in a row would
// have let through, retry_ms the wait for one more token when taken < n.
// Uses the server's TIME so API instances with skewed clocks agree.
constexpr const char* kTokenBucket = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3]) or 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end
local taken, retry = 0, 0
if tokens >= 1 then
  taken = math.min(n, math.floor(tokens))
  tokens = tokens - taken
end
if taken < n then retry = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return {taken, retry, math.floor(tokens)}
)lua";
}  // namespace

RedisBatcher::RedisBatcher(core::RedisSettings settings, std::size_t maxBatch)
    : client_(std::move(settings)), maxBatch_(maxBatch), thread_([this] { run(); }) {}

RedisBatcher::~RedisBatcher() { stop(); }

namespace {
core::Error shuttingDown() { return core::makeError("redis_unreachable", "shutting down", "", true); }
}  // namespace

void RedisBatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<Queued> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (auto& q : left) q.done(shuttingDown());
}

void RedisBatcher::submit(std::vector<std::string> argv, Callback done) {
  enqueue({std::move(argv), nullptr, std::move(done)});
}

void RedisBatcher::submitLazy(std::function<std::vector<std::string>()> make, Callback done) {
  enqueue({{}, std::move(make), std::move(done)});
}

void RedisBatcher::enqueue(Queued q) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      queue_.push_back(std::move(q));
      cv_.notify_one();
      return;
    }
  }
  q.done(shuttingDown());
}

void RedisBatcher::run() {
  std::vector<std::vector<std::string>> commands;
  std::vector<Callback> callbacks;
  std::vector<Queued> taken;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      // Whatever arrived while the previous batch was on the wire goes in this one.
      while (!queue_.empty() && taken.size() < maxBatch_) {
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& q : taken) {
      commands.push_back(q.make ? q.make() : std::move(q.argv));
      callbacks.push_back(std::move(q.done));
    }
    taken.clear();
    auto replies = client_.pipeline(commands);
    for (std::size_t i = 0; i < callbacks.size(); ++i) {
      if (!replies) {
        callbacks[i](replies.error());
      } else if ((*replies)[i].type == core::RedisReply::Type::error) {
        callbacks[i](core::makeError("redis_error", (*replies)[i].str));
      } else {
        callbacks[i](std::move((*replies)[i]));
      }
    }
    commands.clear();
    callbacks.clear();
  }
}

RedisRateLimiter::RedisRateLimiter(RedisPool& pool, double perMinute, double burst, RedisBatcher* batcher)
    : pool_(pool), batcher_(batcher), perMinute_(perMinute), burst_(burst) {
  // Formatted once: snprintf of two doubles on every POST was 3 % of the
  // API's CPU per request (perf, bench/api/run.sh).
  char rate[32], b[32];
  std::snprintf(rate, sizeof rate, "%.12g", perMinute_ / 60000.0);
  std::snprintf(b, sizeof b, "%.12g", burst_);
  rateArg_ = rate;
  burstArg_ = b;
}

namespace {
// The script's answer for n checks, one decision each.
core::Result<std::vector<RateDecision>> toDecisions(const core::RedisReply& r, std::size_t n) {
  if (r.type != core::RedisReply::Type::array || r.elements.size() != 3) {
    return core::makeError("redis_error", "unexpected reply from the rate-limit script");
  }
  return shareRateAnswer(r.elements[0].integer, r.elements[1].integer, r.elements[2].integer, n);
}
}  // namespace

std::string RedisRateLimiter::sha() {
  // EVALSHA saves sending and hashing the script on every request; after a
  // Redis restart (NOSCRIPT) the script is loaded again.
  {
    std::lock_guard lock(shaMu_);
    if (!sha_.empty()) return sha_;
  }
  auto loaded = pool_.command({"SCRIPT", "LOAD", kTokenBucket});
  if (!loaded) return {};
  std::lock_guard lock(shaMu_);
  sha_ = loaded->str;
  return sha_;
}

std::vector<std::string> RedisRateLimiter::args(const std::string& head, const std::string& clientKey) const {
  return {head == kTokenBucket ? "EVAL" : "EVALSHA", head, "1", "safestream:ratelimit:" + clientKey, rateArg_, burstArg_};
}

core::Result<RateDecision> RedisRateLimiter::take(const std::string& clientKey) {
  scriptCalls_.fetch_add(1, std::memory_order_relaxed);
  std::string s = sha();
  auto r = pool_.command(args(s.empty() ? kTokenBucket : s, clientKey));
  if (!r && r.error().message.find("NOSCRIPT") != std::string::npos) {
    {
      std::lock_guard lock(shaMu_);
      sha_.clear();
    }
    r = pool_.command(args(kTokenBucket, clientKey));
  }
  if (!r) return r.error();
  auto d = toDecisions(*r, 1);
  if (!d) return d.error();
  return d->front();
}

void RedisRateLimiter::takeAsync(const std::string& clientKey, Done done) {
  if (!batcher_) return done(take(clientKey));
  std::string s = sha();
  if (s.empty()) return done(take(clientKey));  // cannot load the script: the blocking path reports why
  std::shared_ptr<Waiting> w;
  {
    std::lock_guard lock(waitMu_);
    auto& slot = waiting_[clientKey];
    if (slot) {
      slot->done.push_back(std::move(done));  // rides on the call already queued for this client
      return;
    }
    slot = w = std::make_shared<Waiting>();
    w->done.push_back(std::move(done));
  }
  batcher_->submitLazy(
      [this, clientKey, w, s] {
        close(clientKey, *w);
        scriptCalls_.fetch_add(1, std::memory_order_relaxed);
        auto argv = args(s, clientKey);
        argv.push_back(std::to_string(w->done.size()));
        return argv;
      },
      [this, clientKey, w](core::Result<core::RedisReply> r) { answer(clientKey, *w, std::move(r)); });
}

void RedisRateLimiter::close(const std::string& clientKey, Waiting& w) {
  std::lock_guard lock(waitMu_);
  if (w.closed) return;
  w.closed = true;
  if (auto it = waiting_.find(clientKey); it != waiting_.end() && it->second.get() == &w) waiting_.erase(it);
}

void RedisRateLimiter::answer(const std::string& clientKey, Waiting& w, core::Result<core::RedisReply> r) {
  close(clientKey, w);  // a batch that failed before its command was made
  if (!r && r.error().message.find("NOSCRIPT") != std::string::npos) {
    // Redis restarted and forgot the script: this once, the blocking path reloads it.
    {
      std::lock_guard lock(shaMu_);
      sha_.clear();
    }
    for (auto& d : w.done) d(take(clientKey));
    return;
  }
  auto decisions = r ? toDecisions(*r, w.done.size()) : core::Result<std::vector<RateDecision>>(r.error());
  if (!decisions) {
    for (auto& d : w.done) d(decisions.error());
    return;
  }
  for (std::size_t i = 0; i < w.done.size(); ++i) w.done[i]((*decisions)[i]);
}

namespace {
std::string encodeStored(const StoredResponse& s) {
  return json{{"fp", s.fingerprint}, {"pending", s.pending}, {"status", s.status}, {"body", s.body},
              {"location", s.location}}
      .dump();
}
std::optional<StoredResponse> decodeStored(const std::string& text) {
  auto d = json::parse(text, nullptr, false);
  if (d.is_discarded() || !d.is_object()) return std::nullopt;
  StoredResponse s;
  s.fingerprint = d.value("fp", "");
  s.pending = d.value("pending", true);
  s.status = d.value("status", 0);
  s.body = d.value("body", "");
  s.location = d.value("location", "");
  return s;
}
std::string idemKey(const std::string& key) { return "safestream:idem:" + key; }
}  // namespace

RedisIdempotencyStore::RedisIdempotencyStore(RedisPool& pool) : pool_(pool) {}

core::Result<std::optional<StoredResponse>> RedisIdempotencyStore::reserve(const std::string& key,
                                                                            const std::string& fingerprint) {
  StoredResponse pending{fingerprint, true, 0, "", ""};
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto set = pool_.command({"SET", idemKey(key), encodeStored(pending), "NX", "EX", "60"});
    if (!set) return set.error();
    if (set->type == core::RedisReply::Type::status) return std::optional<StoredResponse>();
    auto got = pool_.command({"GET", idemKey(key)});
    if (!got) return got.error();
    if (got->type == core::RedisReply::Type::nil) continue;  // expired in between: try to reserve again
    auto stored = decodeStored(got->str);
    if (!stored) return core::makeError("redis_error", "unreadable idempotency record");
    return stored;
  }
  return core::makeError("redis_error", "idempotency key kept changing", "", true);
}

core::Status RedisIdempotencyStore::complete(const std::string& key, const StoredResponse& response) {
  auto r = pool_.command({"SET", idemKey(key), encodeStored(response), "EX", "86400"});
  if (!r) return r.error();
  return core::okStatus();
}

core::Status RedisIdempotencyStore::release(const std::string& key) {
  auto r = pool_.command({"DEL", idemKey(key)});
  if (!r) return r.error();
  return core::okStatus();
}

std::string withCursor(const std::string& alertJson, const std::string& cursor) {
  auto d = json::parse(alertJson, nullptr, false);
  if (d.is_discarded() || !d.is_object()) return {};
  d["cursor"] = cursor;
  return d.dump();
}

RedisAlertHistory::RedisAlertHistory(RedisPool& pool) : pool_(pool) {}

core::Result<std::vector<AlertEntry>> RedisAlertHistory::after(const std::string& feed,
                                                               const std::string& after, int limit) {
  const std::string start = (after.empty() || after == "0") ? "-" : "(" + after;
  auto r = pool_.command({"XRANGE", feed, start, "+", "COUNT",
                          std::to_string(limit)});
  if (!r) return r.error();
  std::vector<AlertEntry> out;
  for (const auto& e : r->elements) {
    if (e.elements.size() != 2) continue;
    const auto& fields = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str != "alert") continue;
      auto j = withCursor(fields[i + 1].str, e.elements[0].str);
      if (!j.empty()) out.push_back(AlertEntry{e.elements[0].str, std::move(j)});
    }
  }
  return out;
}

core::Result<std::string> RedisAlertHistory::lastCursor(const std::string& feed) {
  auto r = pool_.command({"XREVRANGE", feed, "+", "-", "COUNT", "1"});
  if (!r) return r.error();
  if (r->elements.empty() || r->elements[0].elements.empty()) return std::string("0");
  return r->elements[0].elements[0].str;
}

}  // namespace safestream::api
