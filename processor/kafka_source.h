#pragma once
// RecordSource on a core::KafkaConsumer group member (reports.raw).
#include <memory>

#include "core/kafka.h"
#include "processor/record_source.h"

namespace safestream::processor {

class KafkaSource final : public RecordSource, private core::RebalanceListener {
 public:
  // `extra` librdkafka settings are added to the consumer (e.g. larger
  // fetch sizes for big messages).
  KafkaSource(const core::KafkaSettings& settings, const core::ConsumerOptions& options);
  ~KafkaSource() override;

  std::vector<core::InMessage> poll(std::size_t max, std::chrono::milliseconds timeout) override;
  core::Status commit(const core::OffsetMap& next) override;
  core::Status seek(const core::OffsetMap& next) override;
  void pause() override;
  void resume() override;
  std::map<core::TopicPartition, std::int64_t> lag() const override;
  void close();
  void setRevokeHandler(std::function<void()> handler) override { onRevoke_ = std::move(handler); }

 private:
  // A revoke runs the pipeline's handler (finish + commit the batch in
  // flight, drop what was read ahead) before librdkafka unassigns.
  void onPartitionsRevoked(const std::vector<core::TopicPartition>& partitions) override;
  void onPartitionsAssigned(const std::vector<core::TopicPartition>& partitions) override;

  std::unique_ptr<core::KafkaConsumer> consumer_;
  bool paused_ = false;
  std::function<void()> onRevoke_;
};

}  // namespace safestream::processor
