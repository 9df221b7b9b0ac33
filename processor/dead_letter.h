#pragma once
// Builds the reports.dlq message (schemas/dlq.v1.json) for a message that
// failed validation: the original bytes, where it came from and why.
#include <cstddef>
#include <string>

#include "core/kafka.h"
#include "core/result.h"
#include "core/time.h"
#include "processor/report_sink.h"

namespace safestream::processor {

// Originals larger than this are cut (and flagged) so the DLQ message itself
// stays under the broker's message size limit; the sha256 still identifies
// the full original, which stays on reports.raw until retention.
inline constexpr std::size_t kMaxDlqOriginalBytes = 256 * 1024;

// `reason` label used in metrics: the error code, plus ":field" when known.
std::string dlqReason(const core::Error& error);

core::OutMessage makeDeadLetter(const core::InMessage& original, const core::Error& error, core::Timestamp now,
                                const std::string& dlqTopic = "reports.dlq");

// The DLQ lane's sink: a batch's dead letters to reports.dlq, acknowledged
// by the broker before the lane calls them durable.
class DeadLetterSink final : public ReportSink {
 public:
  DeadLetterSink(core::MessageSink& producer, std::chrono::milliseconds timeout)
      : producer_(producer), timeout_(timeout) {}
  std::string name() const override { return "dlq"; }
  core::Status write(const SinkBatch& batch) override;
  core::Status writeAll(std::span<const BatchPtr> batches) override;
  core::Status flush(std::chrono::milliseconds) override { return core::okStatus(); }

 private:
  core::MessageSink& producer_;
  std::chrono::milliseconds timeout_;
};

}  // namespace safestream::processor
