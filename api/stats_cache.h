#pragma once
// A ReportStore in front of the PostgreSQL one that keeps each search's
// answer for a short time (AnswerCache: TTL, bounded, one query per
// concurrent miss): GET /v1/reports with --reports-cache-ms (off by
// default). Single reports by id are never cached. (The statistics keep
// their rendered bodies in ApiService instead: see ServiceDeps::statsCacheTtl.)
#include "api/answer_cache.h"
#include "api/ports.h"

namespace safestream::api {

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
