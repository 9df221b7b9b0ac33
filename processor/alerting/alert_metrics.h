#pragma once
// Prometheus metrics of the alerting path (names prefixed safestream_alert*
// and safestream_surge*). One instance per registry; thread-safe (the
// prometheus-cpp metrics are).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace safestream::processor::alerting {

class AlertMetrics {
 public:
  explicit AlertMetrics(prometheus::Registry& registry);

  prometheus::Counter& matched;             // (subscription, report) pairs the index matched
  prometheus::Counter& sent;                // report alerts appended and published
  prometheus::Counter& digestsSent;         // throttle digests
  prometheus::Counter& throttled;           // held back by max_per_hour
  prometheus::Counter& quietSuppressed;     // suppressed by quiet hours
  prometheus::Counter& duplicates;          // already alerted for the (subscription, root report)
  prometheus::Counter& surgeAlerts;         // surge alerts delivered to subscriptions
  prometheus::Counter& surgesDetected;      // surges (one per cell, category and window)
  prometheus::Counter& broadcasts;           // events appended to a city's or neighbourhood's live feed
  prometheus::Counter& lateEvents;          // reports behind the surge watermark (still counted)
  prometheus::Counter& surgeConflicts;      // surge key commits redone: another instance changed the key
  prometheus::Counter& skippedNoLocation;   // reports without location: never alert
  prometheus::Counter& subscriptionChanges; // notifications applied
  prometheus::Counter& subscriptionsRejected;  // rows whose area could not be built
  prometheus::Counter& listenerReconnects;
  prometheus::Counter& redisErrors;
  prometheus::Gauge& subscriptions;         // in the index
  prometheus::Gauge& indexCells;            // (cell, subscription) entries
  prometheus::Histogram& delayFromOccurred; // seconds from occurred_at to publication
  prometheus::Histogram& delayFromIngested; // seconds from ingested_at to publication
};

}  // namespace safestream::processor::alerting
