#include "ingest/ingest_metrics.h"

#include <chrono>

namespace safestream::ingest {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

IngestMetrics::IngestMetrics(prometheus::Registry& r)
    : requests_(BuildCounter().Name("safestream_ingest_requests_total")
                    .Help("HTTP requests to sources by source and status (HTTP code, or timeout/connect/...)")
                    .Register(r)),
      requestSeconds_(BuildHistogram().Name("safestream_ingest_request_duration_seconds")
                          .Help("Duration of one HTTP request to a source").Register(r)),
      records_(BuildCounter().Name("safestream_ingest_records_total")
                   .Help("Source records by outcome: fetched, published, skipped_seen (already published)")
                   .Register(r)),
      rejected_(BuildCounter().Name("safestream_ingest_rejected_total")
                    .Help("Source records rejected, by reason").Register(r)),
      deliveryErrors_(BuildCounter().Name("safestream_ingest_delivery_errors_total")
                          .Help("Kafka delivery reports that failed").Register(r)),
      pollErrors_(BuildCounter().Name("safestream_ingest_poll_errors_total")
                      .Help("Polls that failed after retries, by error code").Register(r)),
      lastSuccess_(BuildGauge().Name("safestream_ingest_last_success_timestamp_seconds")
                       .Help("Unix time of the last successful poll or import per source").Register(r)),
      quota_(BuildGauge().Name("safestream_ingest_quota_remaining")
                 .Help("Requests left in the source's daily quota (-1: no quota)").Register(r)),
      queueDepth_(BuildGauge().Name("safestream_ingest_producer_queue_depth")
                      .Help("Messages waiting in the Kafka producer queue").Register(r)),
      grades_(BuildCounter().Name("safestream_ingest_area_grades_stored_total")
                  .Help("ZIP crime-grade rows upserted into PostgreSQL").Register(r)) {}

void IngestMetrics::request(const std::string& source, const std::string& status) {
  requests_.Add({{"source", source}, {"status", status}}).Increment();
}
prometheus::Histogram& IngestMetrics::requestSeconds(const std::string& source) {
  return requestSeconds_.Add({{"source", source}}, core::latencyBuckets());
}
void IngestMetrics::fetched(const std::string& s, double n) { records_.Add({{"source", s}, {"outcome", "fetched"}}).Increment(n); }
void IngestMetrics::published(const std::string& s, double n) { records_.Add({{"source", s}, {"outcome", "published"}}).Increment(n); }
void IngestMetrics::skippedSeen(const std::string& s, double n) { records_.Add({{"source", s}, {"outcome", "skipped_seen"}}).Increment(n); }
void IngestMetrics::rejected(const std::string& s, const std::string& reason, double n) {
  rejected_.Add({{"source", s}, {"reason", reason}}).Increment(n);
}
void IngestMetrics::deliveryErrors(const std::string& s, double n) { deliveryErrors_.Add({{"source", s}}).Increment(n); }
void IngestMetrics::pollError(const std::string& s, const std::string& code) {
  pollErrors_.Add({{"source", s}, {"code", code}}).Increment();
}
void IngestMetrics::lastSuccessNow(const std::string& s) {
  lastSuccess_.Add({{"source", s}}).Set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}
void IngestMetrics::quotaRemaining(const std::string& s, double remaining) { quota_.Add({{"source", s}}).Set(remaining); }
void IngestMetrics::queueDepth(double d) { queueDepth_.Add({}).Set(d); }
void IngestMetrics::gradesStored(const std::string& s, double n) { grades_.Add({{"source", s}}).Increment(n); }

double IngestMetrics::recordsValue(const std::string& s, const std::string& outcome) {
  return records_.Add({{"source", s}, {"outcome", outcome}}).Value();
}
double IngestMetrics::rejectedValue(const std::string& s, const std::string& reason) {
  return rejected_.Add({{"source", s}, {"reason", reason}}).Value();
}
double IngestMetrics::requestsValue(const std::string& s, const std::string& status) {
  return requests_.Add({{"source", s}, {"status", status}}).Value();
}

}  // namespace safestream::ingest
