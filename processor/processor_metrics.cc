#include "processor/processor_metrics.h"

#include "core/metrics.h"

namespace safestream::processor {
namespace {

prometheus::Counter& counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

ProcessorMetrics::ProcessorMetrics(prometheus::Registry& r)
    : consumed(counter(r, "safestream_processor_consumed_total", "Messages read from reports.raw")),
      valid(counter(r, "safestream_processor_valid_total", "Messages that decoded and were enriched")),
      duplicatesLinked(counter(r, "safestream_processor_duplicates_linked_total",
                               "Near-duplicate reports linked to an earlier one with duplicate_of")),
      dedupeUnavailable(counter(r, "safestream_processor_dedupe_unavailable_total",
                                "Reports stored without a near-duplicate decision because the index (Redis) failed")),
      ungeocoded(counter(r, "safestream_processor_ungeocoded_total",
                         "Valid reports without coordinates, stored without cells or neighbourhood")),
      batches(counter(r, "safestream_processor_batches_total",
                      "Offset commits on reports.raw, each after every sink lane made those offsets durable")),
      commitErrors(counter(r, "safestream_processor_commit_errors_total", "Offset commits that failed")),
      ready(prometheus::BuildGauge()
                .Name("safestream_processor_ready")
                .Help("1 when every sink accepts writes, 0 while retrying a sink")
                .Register(r)
                .Add({})),
      eventAge(prometheus::BuildHistogram()
                   .Name("safestream_processor_event_age_seconds")
                   .Help("Age of a report when processed: processed_at - occurred_at")
                   .Register(r)
                   .Add({}, core::ageBuckets())),
      ingestToCommit(prometheus::BuildHistogram()
                         .Name("safestream_processor_ingest_to_commit_seconds")
                         .Help("End-to-end latency: ingested_at (put on Kafka) -> offsets committed after all sinks")
                         .Register(r)
                         .Add({}, core::latencyBuckets())),
      archiveObjects(counter(r, "safestream_processor_archive_objects_total", "Objects written to the S3 archive")),
      archiveObjectBytes(prometheus::BuildHistogram()
                             .Name("safestream_processor_archive_object_bytes")
                             .Help("Size of an S3 archive object (gzip), when written")
                             .Register(r)
                             .Add({}, prometheus::Histogram::BucketBoundaries{1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6,
                                                                               256e6})),
      archiveObjectReports(prometheus::BuildHistogram()
                               .Name("safestream_processor_archive_object_reports")
                               .Help("Reports in an S3 archive object, when written")
                               .Register(r)
                               .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 100, 1e3, 1e4, 1e5, 1e6})),
      dlqFamily_(prometheus::BuildCounter()
                     .Name("safestream_processor_dlq_total")
                     .Help("Messages sent to reports.dlq, by reason")
                     .Register(r)),
      unmappedFamily_(prometheus::BuildCounter()
                          .Name("safestream_processor_unmapped_types_total")
                          .Help("Reports whose type had no taxonomy rule (stored as category other), by source")
                          .Register(r)),
      sinkLatencyFamily_(prometheus::BuildHistogram()
                             .Name("safestream_processor_sink_batch_seconds")
                             .Help("Time for a sink to durably write one batch")
                             .Register(r)),
      sinkErrorsFamily_(prometheus::BuildCounter()
                            .Name("safestream_processor_sink_errors_total")
                            .Help("Failed sink writes (each is retried)")
                            .Register(r)),
      lagFamily_(prometheus::BuildGauge()
                     .Name("safestream_processor_consumer_lag")
                     .Help("Messages behind the high watermark per reports.raw partition")
                     .Register(r)),
      laneQueuedFamily_(prometheus::BuildGauge()
                            .Name("safestream_processor_lane_queued_messages")
                            .Help("Messages queued in a sink lane, not yet taken by its sink")
                            .Register(r)),
      laneDurableFamily_(prometheus::BuildGauge()
                             .Name("safestream_processor_lane_durable_offset")
                             .Help("Per lane and reports.raw partition, the next offset the lane has not yet made "
                                   "durable; the commit is the lowest over the lanes")
                             .Register(r)) {}

prometheus::Counter& ProcessorMetrics::dlq(const std::string& reason) { return dlqFamily_.Add({{"reason", reason}}); }
prometheus::Counter& ProcessorMetrics::unmapped(const std::string& source) {
  return unmappedFamily_.Add({{"source", source}});
}
prometheus::Histogram& ProcessorMetrics::sinkLatency(const std::string& sink) {
  return sinkLatencyFamily_.Add({{"sink", sink}}, core::latencyBuckets());
}
prometheus::Counter& ProcessorMetrics::sinkErrors(const std::string& sink) {
  return sinkErrorsFamily_.Add({{"sink", sink}});
}
prometheus::Gauge& ProcessorMetrics::lag(const core::TopicPartition& tp) {
  return lagFamily_.Add({{"topic", tp.topic}, {"partition", std::to_string(tp.partition)}});
}

prometheus::Gauge& ProcessorMetrics::laneDurable(const std::string& lane, const core::TopicPartition& tp) {
  return laneDurableFamily_.Add({{"lane", lane}, {"topic", tp.topic}, {"partition", std::to_string(tp.partition)}});
}

prometheus::Gauge& ProcessorMetrics::laneQueued(const std::string& lane) {
  return laneQueuedFamily_.Add({{"lane", lane}});
}

}  // namespace safestream::processor
