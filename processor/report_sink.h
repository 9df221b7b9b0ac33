#pragma once
// The processor's sink seam: the pipeline is written against ReportSink, so
// the same pipeline test runs on in-memory fakes (unit) and on the real
// adapters against real servers (integration).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/report.h"
#include "core/result.h"

namespace safestream::processor {

// One validated, normalised and enriched report and where it came from.
struct ProcessedReport {
  core::Report report;            // report.enrichment is set
  core::TopicPartition source;    // reports.raw partition
  std::int64_t offset = 0;        // its offset there
  std::int64_t timestampMs = 0;   // the Kafka record timestamp (0: none); stable across replays
  // core::encodeReport(report, public only), made once by the pipeline for
  // the sinks that publish it (S3, reports.enriched); empty when not made.
  std::string publicJson{};
};

// Appends the report's public JSON to `out`: the pipeline's copy, or
// encoded now (a batch built without the pipeline, e.g. in tests).
void appendPublicJson(std::string& out, const ProcessedReport& p);

// A batch as consumed from reports.raw (valid reports only; invalid ones went
// to the DLQ). Offsets per partition are contiguous from firstOffset to
// lastOffset, so sinks can name their output after the range (replays then
// overwrite instead of duplicating).
struct SinkBatch {
  std::vector<ProcessedReport> reports;
  struct Range {
    core::TopicPartition partition;
    std::int64_t firstOffset = 0;
    std::int64_t lastOffset = 0;
  };
  std::vector<Range> ranges;
};

// Threading: write() runs on a worker thread, never two at a time for one
// sink and batches in order; flush() and partitionsRevoked() run on the
// pipeline thread while no write of that sink runs.
// Idempotency: the same batch may be written again after a crash or a retry;
// the effect must be as if written once.
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  virtual std::string name() const = 0;
  // Durably writes the batch before returning ok; a retriable error makes the
  // pipeline pause, back off and retry the same batch; nothing is committed.
  virtual core::Status write(const SinkBatch& batch) = 0;
  // Called on shutdown and rebalance; every call has a deadline.
  virtual core::Status flush(std::chrono::milliseconds timeout) = 0;
  // The consumer's partitions were revoked (a rebalance): anything a sink
  // remembers about a partition may be stale once it is assigned again.
  virtual void partitionsRevoked() {}
  // The pipeline starts writing batch N+1 to a sink as soon as that sink has
  // written batch N, before N is committed. A sink whose idempotence relies
  // on at most one uncommitted batch (the S3 archive's inflight marker)
  // returns true: it then waits until N's commit was attempted.
  virtual bool writesAfterCommitOnly() const { return false; }
};

}  // namespace safestream::processor
