#pragma once
// The alerting sinks the processor appends to its sinks (see
// processor/report_sink.h), one lane each:
//   - "alerts": matches every enriched report against the subscriptions
//     (kept current from PostgreSQL) and delivers the report alerts through
//     Redis streams and pub/sub, then the live feeds and the digests: one
//     round trip for a write's alerts, nothing slower ahead of them;
//   - "surges": surge detection (several round trips of bookkeeping per
//     write) and its alerts, in a lane of its own so that it never holds
//     the report alerts back.
// Flags: alert_options.h.
#include <memory>
#include <string>
#include <vector>

#include "core/cities.h"
#include "processor/alerting/surge_detector.h"
#include "processor/report_sink.h"

namespace prometheus {
class Registry;
}

namespace safestream::processor::alerting {

struct AlertSinkConfig {
  std::string redisUrl;                 // required
  std::string pgUrl;                    // required: subscriptions live there
  // Neighbourhood polygons of the subscriptions (the processor's --cities);
  // null: core::defaultCitiesPath().
  std::shared_ptr<const core::CityCatalog> cities;
  int streamMaxLen = 1000;              // XADD MAXLEN ~ per subscription stream
  int dedupeTtlSeconds = 7 * 24 * 3600; // how long "already alerted" is remembered
  int redisTimeoutMs = 2000;
  int loadTimeoutMs = 30000;            // first full load of subscriptions at start
  std::string kafkaBootstrap;           // for surge alerts on `alertsTopic`; empty: topic not used
  std::string alertsTopic = "alerts";
  bool surgeEnabled = true;
  SurgeConfig surge;
  int broadcastRecentSeconds = 24 * 3600;  // live feeds of cities/neighbourhoods; 0: off
  // Prefix of every Redis key of the surge state (states, counted ids, cell
  // start times). A processor replaying into a history of its own (a test, a
  // what-if backfill) uses another, so neither sees the other's events.
  std::string surgeKeyPrefix = "safestream:surge:";
};

// The alert path's sinks and what they share (the subscriptions, their
// listener, the metrics). Destroy it after the pipeline that writes to them.
class AlertSinks {
 public:
  virtual ~AlertSinks() = default;
  // "alerts", then "surges" when surge detection is on; owned by this.
  virtual std::vector<ReportSink*> sinks() = 0;
};

// Validates `config` (throws core::ConfigError naming the flag), connects to
// PostgreSQL and Redis (a connection per sink), loads every subscription and
// starts listening for changes.
std::unique_ptr<AlertSinks> makeAlertSinks(const AlertSinkConfig& config, prometheus::Registry& registry);

}  // namespace safestream::processor::alerting
