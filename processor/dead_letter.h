#pragma once
// Builds the reports.dlq message (schemas/dlq.v1.json) for a message that
// failed validation: the original bytes, where it came from and why.
#include <cstddef>
#include <string>

#include "core/kafka.h"
#include "core/result.h"
#include "core/time.h"

namespace safestream::processor {

// Originals larger than this are cut (and flagged) so the DLQ message itself
// stays under the broker's message size limit; the sha256 still identifies
// the full original, which stays on reports.raw until retention.
inline constexpr std::size_t kMaxDlqOriginalBytes = 256 * 1024;

// `reason` label used in metrics: the error code, plus ":field" when known.
std::string dlqReason(const core::Error& error);

core::OutMessage makeDeadLetter(const core::InMessage& original, const core::Error& error, core::Timestamp now,
                                const std::string& dlqTopic = "reports.dlq");

}  // namespace safestream::processor
