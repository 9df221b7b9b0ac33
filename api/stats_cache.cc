#include "api/stats_cache.h"

namespace safestream::api {

CachingStatsStore::CachingStatsStore(StatsStore& inner, const core::Clock& clock, std::chrono::milliseconds ttl,
                                     std::size_t maxEntries)
    : inner_(inner), clock_(clock), ttl_(ttl), maxEntries_(std::max<std::size_t>(1, maxEntries)) {}

core::Result<std::vector<StatsRow>> CachingStatsStore::stats(const StatsRequest& request) {
  const std::string key = statsCacheKey(request);
  const auto now = clock_.now();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires > now) {
      ++hits_;
      return it->second.rows;
    }
    ++misses_;
  }
  auto rows = inner_.stats(request);
  if (!rows) return rows;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
  while (entries_.size() >= maxEntries_ && !order_.empty()) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(key);
  entries_.emplace(key, Entry{now + ttl_, *rows, std::prev(order_.end())});
  return rows;
}

std::size_t CachingStatsStore::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

std::size_t CachingStatsStore::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

}  // namespace safestream::api
