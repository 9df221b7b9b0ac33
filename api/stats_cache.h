#pragma once
// Stores in front of the PostgreSQL ones that keep each answer for a short
// time (AnswerCache: TTL, bounded, one query per concurrent miss):
// - CachingStatsStore: /v1/stats/* (--stats-cache-seconds, 30 by default)
// - CachingReportStore: GET /v1/reports searches (--reports-cache-ms, off by
//   default); single reports by id are never cached.
#include "api/answer_cache.h"
#include "api/ports.h"

namespace safestream::api {

class CachingStatsStore final : public StatsStore {
 public:
  CachingStatsStore(StatsStore& inner, const core::Clock& clock, std::chrono::milliseconds ttl,
                    std::size_t maxEntries = 4096)
      : inner_(inner), cache_(clock, ttl, maxEntries) {}
  core::Result<std::vector<StatsRow>> stats(const StatsRequest& request) override {
    return cache_.get(statsCacheKey(request), [&] { return inner_.stats(request); });
  }
  std::size_t hits() const { return cache_.hits(); }
  std::size_t misses() const { return cache_.misses(); }

 private:
  StatsStore& inner_;
  AnswerCache<std::vector<StatsRow>> cache_;
};

class CachingReportStore final : public ReportStore {
 public:
  CachingReportStore(ReportStore& inner, const core::Clock& clock, std::chrono::milliseconds ttl,
                     std::size_t maxEntries = 4096)
      : inner_(inner), cache_(clock, ttl, maxEntries) {}
  core::Result<std::optional<PublicReport>> get(const std::string& id) override { return inner_.get(id); }
  core::Result<ReportPage> query(const ReportQuery& q) override {
    const auto sql = reportSearchSql(q);
    std::string key = sql.text;
    for (const auto& p : sql.params) key += "\n" + p;
    return cache_.get(key, [&] { return inner_.query(q); });
  }
  std::size_t hits() const { return cache_.hits(); }

 private:
  ReportStore& inner_;
  AnswerCache<ReportPage> cache_;
};

}  // namespace safestream::api
