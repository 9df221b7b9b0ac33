#pragma once
// PostgreSQL adapters (libpqxx): reads of the reports table (searches,
// statistics, duplicate links) and the subscriptions table. A small pool of connections, each used by one caller
// at a time; statement_timeout bounds every query. Never selects the
// private columns (contact, raw).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/ports.h"

namespace safestream::api {

class PgPool {
 public:
  // Adds connect_timeout and statement_timeout to `url`; connects lazily.
  PgPool(std::string url, int statementTimeoutMs);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;
  core::Status ping();

  struct Impl;  // pqxx stays in postgres_store.cc
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class PostgresReportStore final : public ReportStore {
 public:
  explicit PostgresReportStore(PgPool& pool);
  core::Result<std::optional<PublicReport>> get(const std::string& id) override;
  core::Result<ReportPage> query(const ReportQuery& q) override;

 private:
  PgPool& pool_;
};

// GET /v1/reports/{id}'s duplicate links; apart from PostgresReportStore so
// the report searches and this look-up change independently.
class PostgresDuplicateStore final : public DuplicateStore {
 public:
  explicit PostgresDuplicateStore(PgPool& pool);
  core::Result<DuplicateLinks> links(const std::string& reportId, int limit) override;

 private:
  PgPool& pool_;
};

class PostgresStatsStore final : public StatsStore {
 public:
  explicit PostgresStatsStore(PgPool& pool);
  core::Result<std::vector<StatsRow>> stats(const StatsRequest& request) override;

 private:
  PgPool& pool_;
  // report_day_counts grows by a few rows per processor write; the first
  // question that reads it after kCompactEvery folds them
  // (report_day_counts_compact(), a few ms; concurrent callers skip).
  std::atomic<long long> lastCompactMs_{0};
};

class PostgresSubscriptionStore final : public SubscriptionStore {
 public:
  explicit PostgresSubscriptionStore(PgPool& pool);
  core::Status create(const core::Subscription& s) override;
  core::Result<std::optional<core::Subscription>> get(const std::string& id) override;
  core::Result<bool> update(const core::Subscription& s) override;
  core::Result<bool> remove(const std::string& id) override;

 private:
  PgPool& pool_;
};

}  // namespace safestream::api
