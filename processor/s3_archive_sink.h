#pragma once
// S3 archive sink: newline-delimited JSON (public fields only), gzip, in Hive
// partitions of the arrival time on reports.raw (the Kafka record timestamp,
// UTC; occurred_at is in every line for engines to filter on):
//   <prefix>/dt=YYYY-MM-DD/hour=HH/<topic>-<partition>-<firstOffset>-<lastOffset>.ndjson.gz
// One object per (source partition, hour) of a batch; the batch is the flush
// unit, so objects are cut by size (--batch-size) or age (--batch-timeout-ms).
//
// Replays overwrite rather than duplicate: a batch read again after a crash
// starts at the same committed offset, and the same offsets give the same
// object names. When the replayed batch ends at a different offset, the
// objects of the earlier, uncommitted attempt are found through a small
// per-partition marker (<prefix>/_inflight/<topic>-<partition>.json, written
// before the objects) and deleted, so every offset is archived exactly once.
#include <memory>
#include <string>

#include "core/s3_client.h"
#include "processor/report_sink.h"

namespace safestream::processor {

class S3ArchiveSink final : public ReportSink {
 public:
  S3ArchiveSink(core::S3Settings settings, std::string prefix = "reports");
  std::string name() const override { return "s3"; }
  core::Status write(const SinkBatch& batch) override;
  core::Status flush(std::chrono::milliseconds timeout) override;

 private:
  core::Status writeRange(const SinkBatch& batch, const SinkBatch::Range& range);

  core::S3Client client_;
  std::string prefix_;
};

// gzip (RFC 1952) of `data`; gunzip for tests and tools. Throw on zlib errors.
std::string gzipCompress(const std::string& data);
std::string gzipDecompress(const std::string& data);

}  // namespace safestream::processor
