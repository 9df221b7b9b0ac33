#include "processor/enriched_topic_sink.h"

#include "core/report_codec.h"

namespace safestream::processor {

EnrichedTopicSink::EnrichedTopicSink(core::MessageSink& producer, std::string topic, std::chrono::milliseconds timeout)
    : producer_(producer), topic_(std::move(topic)), timeout_(timeout) {}

core::Status EnrichedTopicSink::write(const SinkBatch& batch) {
  BatchPtr one(std::shared_ptr<const SinkBatch>(), &batch);  // non-owning: lives for this call
  return writeAll(std::span<const BatchPtr>(&one, 1));
}

core::Status EnrichedTopicSink::writeAll(std::span<const BatchPtr> batches) {
  std::vector<core::OutMessage> out;
  for (const auto& b : batches) {
    for (const auto& p : b->reports) {
      const auto& e = p.report.enrichment;
      std::string key = e && e->cellL13 ? core::cellToken(e->cellL13) : p.report.id.value;
      std::string value;
      appendPublicJson(value, p);
      out.push_back({topic_, std::move(key), std::move(value), {{"safestream-report-id", p.report.id.value}}});
    }
  }
  if (out.empty()) return core::okStatus();
  const auto results = producer_.sendAndWait(out, timeout_);
  for (const auto& r : results) {
    if (!r.ok) return core::makeError("kafka_enriched", topic_ + ": " + r.error, "", true);
  }
  return core::okStatus();
}

core::Status EnrichedTopicSink::flush(std::chrono::milliseconds) { return core::okStatus(); }

}  // namespace safestream::processor
