#include "processor/kafka_source.h"

#include "core/log.h"

namespace safestream::processor {

KafkaSource::KafkaSource(const core::KafkaSettings& settings, const core::ConsumerOptions& options)
    : consumer_(std::make_unique<core::KafkaConsumer>(settings, options, static_cast<core::RebalanceListener*>(this))) {}

KafkaSource::~KafkaSource() = default;

std::vector<core::InMessage> KafkaSource::poll(std::size_t max, std::chrono::milliseconds timeout) {
  return consumer_->poll(max, timeout);
}

core::Status KafkaSource::commit(const core::OffsetMap& next) { return consumer_->commit(next); }

core::Status KafkaSource::seek(const core::OffsetMap& next) { return consumer_->seek(next); }

void KafkaSource::pause() {
  if (auto s = consumer_->pause(); !s.ok()) core::log::warn("pause_failed", {{"error", s.error().message}});
  paused_ = true;
}

void KafkaSource::resume() {
  if (auto s = consumer_->resume(); !s.ok()) core::log::warn("resume_failed", {{"error", s.error().message}});
  paused_ = false;
}

std::map<core::TopicPartition, std::int64_t> KafkaSource::lag() const { return consumer_->lag(); }

void KafkaSource::close() { consumer_->close(); }

void KafkaSource::onPartitionsRevoked(const std::vector<core::TopicPartition>& partitions) {
  core::log::info("processor_partitions_revoked", {{"count", partitions.size()}});
  if (onRevoke_) onRevoke_();
}

void KafkaSource::onPartitionsAssigned(const std::vector<core::TopicPartition>& partitions) {
  core::log::info("processor_partitions_assigned", {{"count", partitions.size()}});
  // New partitions arrive unpaused; keep them paused while a sink is down.
  if (paused_) {
    if (auto s = consumer_->pause(); !s.ok()) core::log::warn("pause_failed", {{"error", s.error().message}});
  }
}

}  // namespace safestream::processor
