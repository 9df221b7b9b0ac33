#pragma once
// The processor's sink seam: the pipeline runs every sink in a lane of its
// own (processor/sink_lane.h) and is written against ReportSink, so the same
// pipeline test runs on in-memory fakes (unit) and on the real adapters
// against real servers (integration).
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/report.h"
#include "core/result.h"
#include "core/time.h"

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

// What one poll of reports.raw gave, decoded and enriched: the valid
// reports, the dead letters of the invalid ones, and the offset range per
// partition (every message, valid or not). Offsets per partition are
// contiguous from firstOffset to lastOffset and batches of one partition
// follow each other without gap, so sinks can name their output after the
// offsets (replays then overwrite instead of duplicating). Immutable once
// the pipeline hands it to the lanes (shared, never copied).
struct SinkBatch {
  std::vector<ProcessedReport> reports;
  struct Range {
    core::TopicPartition partition;
    std::int64_t firstOffset = 0;
    std::int64_t lastOffset = 0;
  };
  std::vector<Range> ranges;
  std::vector<core::OutMessage> deadLetters;  // for reports.dlq, in offset order
};
using BatchPtr = std::shared_ptr<const SinkBatch>;

// Threading: every call of one sink comes from its lane's thread (never two
// at a time), batches in offset order per partition.
// Idempotency: the same batch may be written again after a crash, a retry or
// a rebalance; the effect must be as if written once.
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  virtual std::string name() const = 0;
  // Takes the batch. Ok means durable, except what pending() still names.
  // A retriable error makes the lane back off and retry the same batch.
  virtual core::Status write(const SinkBatch& batch) = 0;
  // Several batches queued in the lane, taken in one go (up to the lane's
  // batch size). Default: one write() each; a sink that gains from larger
  // writes (one transaction, one round trip) overrides it.
  virtual core::Status writeAll(std::span<const BatchPtr> batches) {
    for (const auto& b : batches) {
      if (auto s = write(*b); !s.ok()) return s;
    }
    return core::okStatus();
  }
  // Makes everything taken durable (an archive closes its open objects).
  // Called on shutdown and rebalance; every call has a deadline.
  virtual core::Status flush(std::chrono::milliseconds timeout) = 0;
  // Per partition, the first offset the sink has taken but not yet made
  // durable (held in an open object); partitions not named are durable up
  // to what was written. Default: write() is durable at once.
  virtual core::OffsetMap pending() const { return {}; }
  // Called regularly by an idle lane: a sink that holds data makes what is
  // due durable (an archive closes objects past their age).
  virtual core::Status tick(core::Timestamp now) {
    (void)now;
    return core::okStatus();
  }
  // The consumer's partitions were revoked (a rebalance): anything the sink
  // holds or remembers about a partition is dropped; it is read again.
  virtual void partitionsRevoked() {}
};

}  // namespace safestream::processor
