#pragma once
// Kafka adapters on librdkafka. The rest of the code sees these small types;
// rdkafkacpp.h stays inside kafka.cc. Set-up errors throw ConfigError;
// delivery and commit errors come back as data.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace safestream::core {

struct KafkaSettings {
  std::string bootstrap;                      // "host:port,host:port"
  std::map<std::string, std::string> extra;   // any librdkafka property
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct OutMessage {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
};

struct DeliveryResult {
  bool ok = false;
  std::string error;       // empty when ok
  bool retriable = false;
  int partition = -1;
  std::int64_t offset = -1;
};

// Domain interface for anything that publishes messages (fakes in unit tests).
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // Sends the batch and waits until every message is acknowledged by the
  // broker (acks=all) or `timeout` passes. One result per message, in order.
  // Thread-safe.
  virtual std::vector<DeliveryResult> sendAndWait(const std::vector<OutMessage>& batch,
                                                  std::chrono::milliseconds timeout) = 0;
};

struct ProducerOptions {
  bool idempotent = true;                // enable.idempotence (implies acks=all)
  std::string compression = "lz4";
  int lingerMs = 5;
  std::string clientId = "safestream";
};

class KafkaProducer final : public MessageSink {
 public:
  using Callback = std::function<void(const DeliveryResult&)>;

  KafkaProducer(const KafkaSettings& settings, const ProducerOptions& options);
  ~KafkaProducer() override;  // flushes for up to 10 s, then drops with a warning
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Asynchronous send. `cb` runs on the producer's poll thread exactly once
  // (success, failure, or purge at destruction). Returns an error only when
  // the message could not be queued (e.g. queue full, unknown topic).
  Status send(const OutMessage& message, Callback cb);
  std::vector<DeliveryResult> sendAndWait(const std::vector<OutMessage>& batch,
                                          std::chrono::milliseconds timeout) override;
  // Waits for all outstanding deliveries; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // Fetches the topics' metadata now, so that the first messages to them
  // do not wait for it; an error names the first topic that did not answer.
  Status prepareTopics(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);
  int queueLength() const;
  // The cluster id the brokers report (names runs of a topic, e.g. in the archive).
  Result<std::string> clusterId(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct InMessage {
  std::string topic;
  int partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::optional<std::int64_t> timestampMs;
  Headers headers;
};

struct TopicPartition {
  std::string topic;
  int partition = 0;
  bool operator<(const TopicPartition& o) const {
    return topic < o.topic || (topic == o.topic && partition < o.partition);
  }
  bool operator==(const TopicPartition&) const = default;
};

// Offsets to commit: the *next* offset to read for each partition.
using OffsetMap = std::map<TopicPartition, std::int64_t>;

struct ConsumerOptions {
  std::string groupId;
  std::vector<std::string> topics;
  std::string autoOffsetReset = "earliest";
  int sessionTimeoutMs = 10000;
  int maxPollIntervalMs = 300000;
  std::string clientId = "safestream";
};

// Called on the consumer's polling thread, inside poll(), before partitions
// are revoked (so the owner can flush and commit) and after new ones are
// assigned.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  virtual void onPartitionsRevoked(const std::vector<TopicPartition>& partitions) = 0;
  virtual void onPartitionsAssigned(const std::vector<TopicPartition>& partitions) = 0;
};

// A consumer-group member. Not thread-safe: one thread polls, commits and
// pauses. Auto-commit is off: the owner commits after its sinks acknowledge.
class KafkaConsumer {
 public:
  KafkaConsumer(const KafkaSettings& settings, const ConsumerOptions& options,
                RebalanceListener* listener = nullptr);
  ~KafkaConsumer();  // leaves the group (close) without committing
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Up to `max` messages, waiting at most `timeout` for the first one.
  // Errors that are not messages (e.g. broker down) are logged and counted,
  // never thrown.
  std::vector<InMessage> poll(std::size_t max, std::chrono::milliseconds timeout);
  Status commit(const OffsetMap& offsets);
  // Committed offsets of the group for the given partitions (-1: none).
  Result<OffsetMap> committed(const std::vector<TopicPartition>& partitions,
                              std::chrono::milliseconds timeout);
  // Rewinds the assigned partitions to the given offsets (used after a
  // failed batch so nothing is skipped).
  Status seek(const OffsetMap& offsets);
  Status pause();
  Status resume();
  std::vector<TopicPartition> assignment() const;
  // Lag per assigned partition: high watermark - position (cached, no I/O).
  std::map<TopicPartition, std::int64_t> lag() const;
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Topic metadata probe used by readiness checks and start-up validation.
Status checkKafka(const KafkaSettings& settings, std::chrono::milliseconds timeout);

}  // namespace safestream::core
