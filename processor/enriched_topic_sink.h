#pragma once
// reports.enriched sink: every processed report (duplicates included, with
// enrichment.duplicate_of) as report.v1 JSON without private fields, keyed by
// its level-13 S2 cell token so a downstream consumer of one area reads one
// partition (ungeocoded reports are keyed by their id). Idempotent delivery
// per message (enable.idempotence); a replayed batch is published again, so
// consumers de-duplicate by id (documented).
#include <chrono>
#include <string>

#include "core/kafka.h"
#include "processor/report_sink.h"

namespace safestream::processor {

class EnrichedTopicSink final : public ReportSink {
 public:
  EnrichedTopicSink(core::MessageSink& producer, std::string topic = "reports.enriched",
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string name() const override { return "kafka_enriched"; }
  core::Status write(const SinkBatch& batch) override;
  core::Status writeAll(std::span<const BatchPtr> batches) override;  // one delivery wait for all
  core::Status flush(std::chrono::milliseconds timeout) override;

 private:
  core::MessageSink& producer_;
  std::string topic_;
  std::chrono::milliseconds timeout_;
};

}  // namespace safestream::processor
