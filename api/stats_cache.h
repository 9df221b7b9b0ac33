#pragma once
// A StatsStore in front of another that keeps each answer for `ttl`: the
// dashboard's charts are the same few questions asked by every visitor, and
// a statistic a few seconds old is as true as a fresh one. Misses go to the
// inner store; failures are never cached. At most `maxEntries` answers are
// kept (the oldest goes first).
//
// Threading: stats() may be called concurrently; the mutex is held only to
// look up or insert, never during the inner query. Two concurrent misses of
// one key both query (no request waits on another's query).
#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "api/ports.h"
#include "core/time.h"

namespace safestream::api {

class CachingStatsStore final : public StatsStore {
 public:
  CachingStatsStore(StatsStore& inner, const core::Clock& clock, std::chrono::milliseconds ttl,
                    std::size_t maxEntries = 4096);
  core::Result<std::vector<StatsRow>> stats(const StatsRequest& request) override;

  std::size_t hits() const;
  std::size_t misses() const;

 private:
  struct Entry {
    core::Timestamp expires;
    std::vector<StatsRow> rows;
    std::list<std::string>::iterator order;
  };
  StatsStore& inner_;
  const core::Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::size_t maxEntries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // insertion order, oldest first
  std::size_t hits_ = 0, misses_ = 0;
};

}  // namespace safestream::api
