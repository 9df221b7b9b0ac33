#include "processor/alerting/alert_metrics.h"

#include "core/metrics.h"

namespace safestream::processor::alerting {
namespace {

prometheus::Counter& counter(prometheus::Registry& r, const std::string& name, const std::string& help,
                             const std::map<std::string, std::string>& labels = {}) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add(labels);
}

prometheus::Family<prometheus::Counter>& sentFamily(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("safestream_alerts_sent_total")
      .Help("Alerts appended to a subscription stream and published, by type (report, digest, surge)")
      .Register(r);
}

prometheus::Family<prometheus::Histogram>& delayFamily(prometheus::Registry& r) {
  return prometheus::BuildHistogram()
      .Name("safestream_alert_delay_seconds")
      .Help("Seconds until an alert is published, from the report's occurred_at or ingested_at")
      .Register(r);
}

}  // namespace

AlertMetrics::AlertMetrics(prometheus::Registry& r)
    : matched(counter(r, "safestream_alerts_matched_total", "Subscription/report pairs matched by area and filters")),
      sent(sentFamily(r).Add({{"type", "report"}})),
      digestsSent(sentFamily(r).Add({{"type", "digest"}})),
      throttled(counter(r, "safestream_alerts_throttled_total", "Alerts held back by a subscription's max_per_hour")),
      quietSuppressed(counter(r, "safestream_alerts_quiet_time_suppressed_total",
                              "Alerts suppressed by a subscription's quiet hours")),
      duplicates(counter(r, "safestream_alerts_duplicates_suppressed_total",
                         "Alerts not sent again for the same subscription and root report")),
      surgeAlerts(sentFamily(r).Add({{"type", "surge"}})),
      surgesDetected(counter(r, "safestream_surges_detected_total", "Surges detected per cell, category and window")),
      broadcasts(counter(r, "safestream_alert_broadcasts_total",
                         "Reports and surges appended to a city's or neighbourhood's live feed (GET /v1/live)")),
      lateEvents(counter(r, "safestream_surge_late_events_total",
                         "Reports older than the surge watermark (counted into their window when still open)")),
      surgeConflicts(counter(r, "safestream_surge_commit_conflicts_total",
                             "Surge state commits redone because another processor changed the key since it was read")),
      skippedNoLocation(counter(r, "safestream_alerts_skipped_no_location_total",
                                "Reports without a location: they never alert")),
      subscriptionChanges(counter(r, "safestream_alert_subscription_changes_total",
                                  "Subscription change notifications applied to the index")),
      subscriptionsRejected(counter(r, "safestream_alert_subscriptions_rejected_total",
                                    "Subscription rows whose area could not be built (logged with the reason)")),
      listenerReconnects(counter(r, "safestream_alert_listener_reconnects_total",
                                 "Reconnects of the subscription LISTEN connection (each with a full reload)")),
      redisErrors(counter(r, "safestream_alert_redis_errors_total", "Failed Redis round trips (the batch is retried)")),
      subscriptions(prometheus::BuildGauge()
                        .Name("safestream_alert_subscriptions")
                        .Help("Subscriptions in the processor's cell index")
                        .Register(r)
                        .Add({})),
      indexCells(prometheus::BuildGauge()
                     .Name("safestream_alert_index_cell_entries")
                     .Help("(cell, subscription) entries in the cell index")
                     .Register(r)
                     .Add({})),
      delayFromOccurred(delayFamily(r).Add({{"from", "occurred"}}, core::ageBuckets())),
      delayFromIngested(delayFamily(r).Add({{"from", "ingested"}}, core::ageBuckets())) {}

}  // namespace safestream::processor::alerting
