#include "api/redis_alert_listener.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <regex>

#include "api/api_metrics.h"
#include "core/live_feed.h"
#include "core/log.h"
#include "core/result.h"

namespace safestream::api {

RedisAlertListener::RedisAlertListener(std::string redisUrl, AlertHub& hub, ApiMetrics* metrics)
    : hub_(hub), metrics_(metrics) {
  static const std::regex re(R"(^redis://(?::([^@]*)@)?([^:/]+)(?::(\d+))?(?:/(\d+))?/?$)");
  std::smatch m;
  if (!std::regex_match(redisUrl, m, re)) throw core::ConfigError("Redis URL must look like redis://[:password@]host:port[/db]");
  password_ = m[1];
  host_ = m[2];
  if (m[3].matched) port_ = std::stoi(m[3]);
  if (m[4].matched) db_ = std::stoi(m[4]);
  thread_ = std::thread([this] { run(); });
}

RedisAlertListener::~RedisAlertListener() { stop(); }

void RedisAlertListener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool RedisAlertListener::waitSubscribed(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!connected_) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

namespace {
struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
struct ReplyFree {
  void operator()(void* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

bool commandOk(redisContext* c, const char* fmt, const char* arg = nullptr) {
  Reply r(static_cast<redisReply*>(arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt)));
  return r && r->type != REDIS_REPLY_ERROR;
}
}  // namespace

void RedisAlertListener::run() {
  const std::string subscriptions = std::string(core::live::kSubscriptionChannelPrefix) + "*";
  const std::string broadcasts = std::string(core::live::kBroadcastChannelPrefix) + "*";
  auto backoff = std::chrono::milliseconds(100);
  bool everConnected = false;
  while (!stop_) {
    timeval tv{2, 0};
    Context c(redisConnectWithTimeout(host_.c_str(), port_, tv));
    bool ok = c && !c->err;
    if (ok) redisSetTimeout(c.get(), tv);
    if (ok && !password_.empty()) ok = commandOk(c.get(), "AUTH %s", password_.c_str());
    if (ok && db_ != 0) ok = commandOk(c.get(), "SELECT %s", std::to_string(db_).c_str());
    if (ok) {
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "PSUBSCRIBE %s %s", subscriptions.c_str(), broadcasts.c_str())));
      // The reply to the first pattern; the second's confirmation follows as a push and is skipped below.
      ok = r && r->type != REDIS_REPLY_ERROR;
    }
    if (!ok) {
      core::log::warn("live_listener_connect_failed",
                      {{"redis", host_ + ":" + std::to_string(port_)}, {"message", c ? std::string(c->errstr) : "no memory"}});
      for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_; waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    connected_ = true;
    if (everConnected) {
      // Messages published while we were away are only in the streams.
      if (metrics_) metrics_->listenerReconnects.Increment();
      hub_.resyncAll();
    }
    everConnected = true;
    core::log::info("live_listener_subscribed", {{"patterns", subscriptions + " " + broadcasts}});
    // Read pushes without hiredis' blocking timeout (which would poison the
    // context): poll the socket so stop() is noticed within 200 ms.
    while (!stop_) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c.get(), &raw) != REDIS_OK) break;
      if (raw) {
        Reply r(static_cast<redisReply*>(raw));
        // pmessage: ["pmessage", pattern, channel, payload]
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 && r->element[0]->str &&
            std::string_view(r->element[0]->str, r->element[0]->len) == "pmessage") {
          if (metrics_) metrics_->liveMessages.Increment();
          hub_.dispatch(std::string_view(r->element[2]->str, r->element[2]->len),
                        std::string(r->element[3]->str, r->element[3]->len));
        }
        continue;
      }
      pollfd p{c->fd, POLLIN, 0};
      int n = ::poll(&p, 1, 200);
      if (n < 0 && errno != EINTR) break;
      if (n > 0 && redisBufferRead(c.get()) != REDIS_OK) break;
    }
    connected_ = false;
    if (!stop_) core::log::warn("live_listener_disconnected", {{"message", std::string(c->errstr)}});
  }
}

}  // namespace safestream::api
