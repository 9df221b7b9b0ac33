#include "processor/alerting/alert_options.h"

#include "core/cli.h"

namespace safestream::processor::alerting {

void addAlertOptions(CLI::App& app, AlertSinkConfig& c) {
  using core::addOption;
  addOption(app, "--alert-stream-maxlen", c.streamMaxLen, "SAFESTREAM_ALERT_STREAM_MAXLEN",
            "Approximate maximum entries kept per subscription alert stream")
      ->check(CLI::Range(10, 1000000));
  addOption(app, "--alert-dedupe-ttl-seconds", c.dedupeTtlSeconds, "SAFESTREAM_ALERT_DEDUPE_TTL_SECONDS",
            "How long an alert per (subscription, report) is remembered to suppress repeats")
      ->check(CLI::Range(3600, 90 * 24 * 3600));
  addOption(app, "--alert-redis-timeout-ms", c.redisTimeoutMs, "SAFESTREAM_ALERT_REDIS_TIMEOUT_MS",
            "Timeout of each Redis round trip of the alert sink")
      ->check(CLI::Range(50, 60000));
  addOption(app, "--alert-load-timeout-ms", c.loadTimeoutMs, "SAFESTREAM_ALERT_LOAD_TIMEOUT_MS",
            "How long start-up waits for the first full load of subscriptions")
      ->check(CLI::Range(100, 600000));
  addOption(app, "--live-feed-recent-seconds", c.broadcastRecentSeconds, "SAFESTREAM_LIVE_FEED_RECENT_SECONDS",
            "Reports that occurred within this many seconds of now go to their city's and neighbourhood's live feed "
            "(GET /v1/live); 0 turns the feeds off")
      ->check(CLI::Range(0, 30 * 24 * 3600));
  addOption(app, "--alerts-topic", c.alertsTopic, "SAFESTREAM_ALERTS_TOPIC", "Kafka topic for surge alerts");
  addOption(app, "--surge-enabled", c.surgeEnabled, "SAFESTREAM_SURGE_ENABLED", "Detect surges per cell and category");
  addOption(app, "--surge-key-prefix", c.surgeKeyPrefix, "SAFESTREAM_SURGE_KEY_PREFIX",
            "Prefix of the surge state's Redis keys (a processor replaying into a history of its own uses another)");
  app.add_option_function<int>(
         "--surge-window-minutes", [&c](int v) { c.surge.window = std::chrono::minutes(v); },
         "Sliding event-time window of surge counts (default 60)")
      ->envname("SAFESTREAM_SURGE_WINDOW_MINUTES")
      ->check(CLI::Range(5, 24 * 60));
  app.add_option_function<int>(
         "--surge-lateness-minutes", [&c](int v) { c.surge.allowedLateness = std::chrono::minutes(v); },
         "Allowed lateness behind the largest event time seen (default 10)")
      ->envname("SAFESTREAM_SURGE_LATENESS_MINUTES")
      ->check(CLI::Range(0, 24 * 60));
  addOption(app, "--surge-z", c.surge.zThreshold, "SAFESTREAM_SURGE_Z", "z-score over the cell's baseline for a surge")
      ->check(CLI::Range(0.5, 100.0));
  addOption(app, "--surge-min-count", c.surge.minCount, "SAFESTREAM_SURGE_MIN_COUNT",
            "Minimum reports in the window for a surge")
      ->check(CLI::Range(1LL, 100000LL));
  addOption(app, "--surge-warmup-hours", c.surge.warmupWindows, "SAFESTREAM_SURGE_WARMUP_HOURS",
            "Hours of baseline a cell needs before it may surge")
      ->check(CLI::Range(0, 24 * 365));
}

}  // namespace safestream::processor::alerting
