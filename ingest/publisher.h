#pragma once
// Publishes reports to Kafka (reports.raw) through the core::MessageSink seam:
// every message is validated by decoding it back with the shared codec, keyed
// by report id, and counted only once the broker acknowledged it (acks=all).
// The caller advances its checkpoint only when publish() says all went out.
//
// Threading: thread-safe if the sink is (KafkaProducer is).
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/report.h"
#include "ingest/ingest_metrics.h"
#include "ingest/record.h"

namespace safestream::ingest {

struct PublishOutcome {
  std::size_t published = 0;
  std::vector<Rejection> rejections;  // failed the codec's validation
  std::size_t failed = 0;             // not acknowledged by the broker
  std::string firstError;             // first delivery error, for the log
  std::vector<std::size_t> publishedIndexes;  // indexes into the input that were acknowledged
  bool allDelivered() const { return failed == 0; }
};

class Publisher {
 public:
  Publisher(core::MessageSink& sink, std::string topic, IngestMetrics* metrics,
            std::chrono::milliseconds ackTimeout = std::chrono::seconds(60), std::size_t chunk = 2000);

  // `reports` get ingestedAt set. Blocks until every message is acknowledged,
  // failed, or the ack timeout passed.
  PublishOutcome publish(const std::string& source, std::vector<core::Report>& reports);

  // The last delivery error, "" while the latest publish went through: for
  // /readyz (thread-safe, cheap).
  std::string lastDeliveryError() const;

 private:
  mutable std::mutex mu_;
  std::string lastError_;
  core::MessageSink& sink_;
  std::string topic_;
  IngestMetrics* metrics_;
  std::chrono::milliseconds ackTimeout_;
  std::size_t chunk_;
};

// Logs each rejection (the first `maxLogged` of a batch, then a summary) and
// counts them all by reason.
void reportRejections(const std::string& source, const std::vector<Rejection>& rejections,
                      IngestMetrics* metrics, std::size_t maxLogged = 20);

}  // namespace safestream::ingest
