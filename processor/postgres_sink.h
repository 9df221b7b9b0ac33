#pragma once
// PostgreSQL sink: a batched upsert by report id into the month-partitioned
// `reports` table (schemas/sql/0001, 0101). Per batch, one transaction:
// COPY into a session temp table, delete rows whose occurred_at moved (via
// report_ids), upsert report_ids, INSERT ... ON CONFLICT DO UPDATE into
// reports. Monthly partitions are created on demand before the transaction
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

#include "processor/report_sink.h"

namespace safestream::processor {

struct PostgresSinkSettings {
  std::string url;
  std::chrono::milliseconds timeout{30000};  // per batch transaction
};

class PostgresSink final : public ReportSink {
 public:
  explicit PostgresSink(PostgresSinkSettings settings);
  ~PostgresSink() override;
  std::string name() const override { return "postgres"; }
  core::Status write(const SinkBatch& batch) override;
  core::Status flush(std::chrono::milliseconds timeout) override;

 private:
  struct Session;
  PostgresSinkSettings settings_;
  std::unique_ptr<Session> session_;
  std::set<std::string> knownMonths_;  // "YYYY-MM" with a partition (or checked)
};

// One COPY text-format line for a report (exposed for unit tests).
std::string copyLine(const core::Report& report);

}  // namespace safestream::processor
