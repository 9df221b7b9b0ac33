#pragma once
// Metrics of safestream-processor (names prefixed safestream_processor_).
// Owns its families; takes the registry so each test gets a fresh one.
// Thread-safe (prometheus-cpp metrics are).
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "core/kafka.h"

namespace safestream::processor {

class ProcessorMetrics {
 public:
  explicit ProcessorMetrics(prometheus::Registry& registry);

  prometheus::Counter& consumed;          // messages read from reports.raw
  prometheus::Counter& valid;             // decoded and enriched
  prometheus::Counter& duplicatesLinked;  // near-duplicates given duplicate_of
  prometheus::Counter& dedupeUnavailable; // reports left unlinked: the near-duplicate index failed
  prometheus::Counter& ungeocoded;        // valid, without coordinates
  prometheus::Counter& batches;           // offset commits (each after every lane made the offsets durable)
  prometheus::Counter& commitErrors;
  prometheus::Gauge& ready;               // 1 when every sink takes writes
  prometheus::Histogram& eventAge;        // occurred_at -> processed (seconds)
  prometheus::Histogram& ingestToCommit;  // ingested_at -> offsets committed (seconds)
  prometheus::Counter& archiveObjects;        // S3 archive objects written
  prometheus::Histogram& archiveObjectBytes;  // their size (gzip)
  prometheus::Histogram& archiveObjectReports;  // reports per object

  prometheus::Counter& dlq(const std::string& reason);
  prometheus::Counter& unmapped(const std::string& source);
  prometheus::Histogram& sinkLatency(const std::string& sink);
  prometheus::Counter& sinkErrors(const std::string& sink);
  prometheus::Gauge& lag(const core::TopicPartition& tp);
  prometheus::Gauge& laneQueued(const std::string& lane);  // messages queued in a lane, not taken yet
  prometheus::Gauge& laneDurable(const std::string& lane, const core::TopicPartition& tp);  // next offset not durable

 private:
  prometheus::Family<prometheus::Counter>& dlqFamily_;
  prometheus::Family<prometheus::Counter>& unmappedFamily_;
  prometheus::Family<prometheus::Histogram>& sinkLatencyFamily_;
  prometheus::Family<prometheus::Counter>& sinkErrorsFamily_;
  prometheus::Family<prometheus::Gauge>& lagFamily_;
  prometheus::Family<prometheus::Gauge>& laneQueuedFamily_;
  prometheus::Family<prometheus::Gauge>& laneDurableFamily_;
};

}  // namespace safestream::processor
