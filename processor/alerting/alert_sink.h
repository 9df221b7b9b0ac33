#pragma once
// The alerting sink the processor appends to its sinks (see
// processor/report_sink.h): matches every enriched report against the
// subscriptions (kept current from PostgreSQL), delivers alerts through
// Redis streams and pub/sub, and detects surges. Flags: alert_options.h.
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

// Validates `config` (throws core::ConfigError naming the flag), connects to
// PostgreSQL and Redis, loads every subscription and starts listening for
// changes. The returned sink owns all of that; destroy it to stop.
std::unique_ptr<ReportSink> makeAlertSink(const AlertSinkConfig& config, prometheus::Registry& registry);

}  // namespace safestream::processor::alerting
