#include "processor/alerting/alert_sink.h"

#include <prometheus/registry.h>

#include "core/kafka.h"
#include "core/log.h"
#include "core/redis_client.h"
#include "processor/alerting/alert_metrics.h"
#include "processor/alerting/redis_alert_sink.h"
#include "processor/alerting/subscription_registry.h"
#include "processor/alerting/subscription_store.h"

namespace safestream::processor::alerting {
namespace {

// Owns everything the alert path needs. Members are declared in dependency
// order, so destruction stops the listener thread before the registry and
// the metrics it writes to go away.
class ManagedAlertSinks final : public AlertSinks {
 public:
  ManagedAlertSinks(const AlertSinkConfig& config, prometheus::Registry& registry)
      : metrics_(registry),
        registry_(std::make_shared<SubscriptionRegistry>(
            config.cities ? config.cities
                          : std::make_shared<const core::CityCatalog>(core::CityCatalog::load(core::defaultCitiesPath())),
            &metrics_)),
        listener_(config.pgUrl, *registry_, metrics_) {
    // Each sink runs on its own lane thread: a connection each.
    auto connect = [&] {
      auto redis = std::make_unique<core::RedisClient>(
          core::RedisSettings{config.redisUrl, std::chrono::milliseconds(config.redisTimeoutMs)});
      if (auto ping = redis->ping(); !ping) {
        throw core::ConfigError("alert sink: Redis at " + core::log::redactUrl(config.redisUrl) +
                                " is unreachable: " + ping.error().message);
      }
      return redis;
    };
    auto reportsRedis = connect();
    auto surgesRedis = config.surgeEnabled ? connect() : nullptr;
    if (!config.kafkaBootstrap.empty() && config.surgeEnabled) {
      producer_ = std::make_unique<core::KafkaProducer>(core::KafkaSettings{config.kafkaBootstrap, {}},
                                                        core::ProducerOptions{.clientId = "safestream-alerts"});
    }
    listener_.start();
    if (!listener_.waitUntilLoaded(std::chrono::milliseconds(config.loadTimeoutMs))) {
      listener_.stop();
      throw core::ConfigError("alert sink: could not load subscriptions from PostgreSQL at " +
                              core::log::redactUrl(config.pgUrl) + " within " +
                              std::to_string(config.loadTimeoutMs) + " ms");
    }
    RedisAlertSinkOptions options;
    options.streamMaxLen = config.streamMaxLen;
    options.dedupeTtlSeconds = config.dedupeTtlSeconds;
    options.surge = config.surge;
    options.alertsTopic = config.alertsTopic;
    options.broadcastRecent = std::chrono::seconds(config.broadcastRecentSeconds);
    options.surgeKeyPrefix = config.surgeKeyPrefix;

    RedisAlertSinkOptions reports = options;
    reports.name = "alerts";
    reports.surgeEnabled = false;
    sinks_.push_back(std::make_unique<RedisAlertSink>(reports, registry_, std::move(reportsRedis), metrics_, clock_));
    if (config.surgeEnabled) {
      RedisAlertSinkOptions surges = options;
      surges.name = "surges";
      surges.reportAlerts = false;
      sinks_.push_back(
          std::make_unique<RedisAlertSink>(surges, registry_, std::move(surgesRedis), metrics_, clock_, producer_.get()));
    }
  }
  ~ManagedAlertSinks() override { listener_.stop(); }

  std::vector<ReportSink*> sinks() override {
    std::vector<ReportSink*> out;
    for (auto& s : sinks_) out.push_back(s.get());
    return out;
  }

 private:
  core::SystemClock clock_;
  AlertMetrics metrics_;
  std::shared_ptr<SubscriptionRegistry> registry_;
  SubscriptionListener listener_;
  std::unique_ptr<core::KafkaProducer> producer_;
  std::vector<std::unique_ptr<RedisAlertSink>> sinks_;
};

void validate(const AlertSinkConfig& c) {
  if (c.redisUrl.empty()) throw core::ConfigError("alert sink: --redis-url (SAFESTREAM_REDIS_URL) is required");
  if (c.pgUrl.empty()) throw core::ConfigError("alert sink: --pg-url (SAFESTREAM_PG_URL) is required");
  if (c.streamMaxLen < 10) throw core::ConfigError("alert sink: --alert-stream-maxlen must be at least 10");
  if (c.dedupeTtlSeconds < 3600) throw core::ConfigError("alert sink: --alert-dedupe-ttl-seconds must be >= 3600");
  if (c.surge.bucket.count() <= 0 || c.surge.window < c.surge.bucket || c.surge.window.count() % c.surge.bucket.count()) {
    throw core::ConfigError("alert sink: --surge-window-minutes must be a multiple of 5");
  }
  if (c.surge.minCount < 1) throw core::ConfigError("alert sink: --surge-min-count must be >= 1");
  if (c.surgeKeyPrefix.empty()) throw core::ConfigError("alert sink: --surge-key-prefix must not be empty");
}

}  // namespace

std::unique_ptr<AlertSinks> makeAlertSinks(const AlertSinkConfig& config, prometheus::Registry& registry) {
  validate(config);
  return std::make_unique<ManagedAlertSinks>(config, registry);
}

}  // namespace safestream::processor::alerting
