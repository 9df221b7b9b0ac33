#include "api/api_config.h"

#include "core/cli.h"

namespace safestream::api {

ApiConfig parseApiConfig(int argc, char** argv) {
  ApiConfig c;
  CLI::App app{"SafeStream API: citizen reports, subscriptions, live alerts (REST + WebSocket)",
               "safestream-api"};
  core::addOption(app, "--kafka-bootstrap", c.kafkaBootstrap, "SAFESTREAM_KAFKA_BOOTSTRAP", "Kafka bootstrap servers")->required();
  core::addOption(app, "--pg-url", c.pgUrl, "SAFESTREAM_PG_URL", "PostgreSQL URL")->required();
  core::addOption(app, "--redis-url", c.redisUrl, "SAFESTREAM_REDIS_URL", "Redis URL")->required();
  core::addOption(app, "--s3-endpoint", c.s3Endpoint, "SAFESTREAM_S3_ENDPOINT", "S3 endpoint URL")->required();
  core::addOption(app, "--s3-bucket", c.s3Bucket, "SAFESTREAM_S3_BUCKET", "S3 bucket for the archive");
  core::addOption(app, "--s3-region", c.s3Region, "SAFESTREAM_S3_REGION", "S3 region used for signing");
  app.add_option("--s3-access-key", c.s3AccessKey, "S3 access key (prefer the environment)")
      ->envname("SAFESTREAM_S3_ACCESS_KEY")->required();
  app.add_option("--s3-secret-key", c.s3SecretKey, "S3 secret key (prefer the environment)")
      ->envname("SAFESTREAM_S3_SECRET_KEY")->required();
  core::addOption(app, "--metrics-host", c.metricsHost, "SAFESTREAM_API_METRICS_HOST", "Bind address of /metrics, /healthz, /readyz");
  core::addOption(app, "--metrics-port", c.metricsPort, "SAFESTREAM_API_METRICS_PORT", "Port of /metrics, /healthz, /readyz")->check(CLI::Range(0, 65535));
  core::addOption(app, "--log-level", c.logLevel, "SAFESTREAM_LOG_LEVEL", "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  core::parseCommandLine(app, argc, argv);
  return c;
}

}  // namespace safestream::api
