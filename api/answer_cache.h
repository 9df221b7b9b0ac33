#pragma once
// Answers kept for a short time, keyed by the question: the dashboard's and
// the map's requests are the same few questions asked by many visitors, and
// an answer a few seconds old is as true as a fresh one. Failures are never
// kept. At most `maxEntries` answers are kept (the oldest goes first).
//
// Threading: get() may be called concurrently; the mutex is held only to
// look up or insert, never while computing. Concurrent misses of one key
// share one computation: the first computes, the others wait for its answer
// (a failure included). Without that, a popular question arriving from many
// visitors at once when its answer expired ran once per visitor; on a
// million rows those statistics queries together outlasted the statement
// timeout, so nothing was ever cached (measured: 0 answers/s at 32
// connections). The wait is bounded by the computation's own timeout.
#include <chrono>
#include <functional>
#include <future>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "core/time.h"

namespace safestream::api {

template <typename V>
class AnswerCache {
 public:
  AnswerCache(const core::Clock& clock, std::chrono::milliseconds ttl, std::size_t maxEntries = 4096)
      : clock_(clock), ttl_(ttl), maxEntries_(std::max<std::size_t>(1, maxEntries)) {}

  core::Result<V> get(const std::string& key, const std::function<core::Result<V>()>& compute) {
    std::promise<core::Result<V>> promise;
    {
      std::unique_lock lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.expires > clock_.now()) {
        ++hits_;
        return it->second.value;
      }
      if (auto f = inflight_.find(key); f != inflight_.end()) {
        auto answer = f->second;
        ++hits_;
        lock.unlock();
        return answer.get();
      }
      ++misses_;
      inflight_.emplace(key, promise.get_future().share());
    }
    core::Result<V> value = core::makeError("internal", "query failed", "", true);
    try {
      value = compute();
    } catch (const std::exception& e) {
      // The waiters must be released whatever happens.
      value = core::makeError("internal", std::string("query failed: ") + e.what(), "", true);
    }
    std::lock_guard lock(mu_);
    inflight_.erase(key);
    promise.set_value(value);
    if (!value) return value;
    if (auto it = entries_.find(key); it != entries_.end()) {
      order_.erase(it->second.order);
      entries_.erase(it);
    }
    while (entries_.size() >= maxEntries_ && !order_.empty()) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    entries_.emplace(key, Entry{clock_.now() + ttl_, *value, std::prev(order_.end())});
    return value;
  }

  std::size_t hits() const {
    std::lock_guard lock(mu_);
    return hits_;
  }
  std::size_t misses() const {
    std::lock_guard lock(mu_);
    return misses_;
  }

 private:
  struct Entry {
    core::Timestamp expires;
    V value;
    std::list<std::string>::iterator order;
  };
  const core::Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::size_t maxEntries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // insertion order, oldest first
  std::unordered_map<std::string, std::shared_future<core::Result<V>>> inflight_;
  std::size_t hits_ = 0, misses_ = 0;
};

}  // namespace safestream::api
