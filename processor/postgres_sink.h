#pragma once
// PostgreSQL sink: a batched upsert by report id into the month-partitioned
// `reports` table (schemas/sql/0001, 0101). A batch is split by id over
// `connections` sessions written in parallel; per shard, one transaction:
// COPY into a session temp table; when none of its ids is in report_ids yet
// (checked in the transaction), plain INSERTs into report_ids and reports;
// otherwise upsert report_ids (returning the old occurred_at of ids that
// moved), delete the moved rows by exact key, INSERT ... ON CONFLICT DO
// UPDATE into reports. A unique violation on the plain path (a row written
// meanwhile) reruns the shard as an upsert. Monthly partitions are created
// on demand before the transaction
// (reports_ensure_month_partitions from 0500, when present; otherwise rows
// land in reports_default).
//
// libpq in non-blocking mode so every call has a deadline even when the
// server is stopped (SIGSTOP) rather than down: on timeout the connection is
// dropped and a retriable error returned. libpq stays in postgres_sink.cc.
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "processor/report_sink.h"

namespace safestream::processor {

struct PostgresSinkSettings {
  std::string url;
  std::chrono::milliseconds timeout{30000};  // per batch transaction
  int connections = 2;                       // parallel sessions a batch is split over
};

class PostgresSink final : public ReportSink {
 public:
  explicit PostgresSink(PostgresSinkSettings settings);
  ~PostgresSink() override;
  std::string name() const override { return "postgres"; }
  core::Status write(const SinkBatch& batch) override;
  core::Status writeAll(std::span<const BatchPtr> batches) override;  // one transaction per shard for all
  core::Status flush(std::chrono::milliseconds timeout) override;

 private:
  struct Session;
  core::Status ensurePartitions(const std::set<std::string>& months, std::chrono::steady_clock::time_point deadline);
  core::Status writeShard(Session& db, const std::string& data, std::chrono::steady_clock::time_point deadline);
  core::Status writeShardOnce(Session& db, const std::string& data, std::chrono::steady_clock::time_point deadline,
                              bool plainInsertIfAllNew, std::string* sqlState);

  PostgresSinkSettings settings_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::set<std::string> knownMonths_;  // "YYYY-MM" with a partition (or checked)
};

// One COPY text-format line for a report (exposed for unit tests).
std::string copyLine(const core::Report& report);

}  // namespace safestream::processor
