#include "processor/processor_config.h"

#include "core/cli.h"

namespace safestream::processor {

ProcessorConfig parseProcessorConfig(int argc, char** argv, const std::function<void(CLI::App&)>& addMore) {
  ProcessorConfig c;
  // Defaults point into the source tree for the local stack; deployments
  // set SAFESTREAM_BOUNDARIES / SAFESTREAM_TAXONOMY.
  const std::string data = SAFESTREAM_DEFAULT_DATA_DIR;
  c.boundaries = data + "/data/chicago_community_areas.geojson:community," + data +
                 "/data/austin_neighborhoods.geojson:neighname";
  c.taxonomy = data + "/schemas/taxonomy.v1.csv";
  CLI::App app{"SafeStream stream processor: reports.raw -> validate, normalise, dedupe, enrich -> "
               "S3, PostgreSQL, Kafka, Redis alerts",
               "safestream-processor"};
  core::addOption(app, "--kafka-bootstrap", c.kafkaBootstrap, "SAFESTREAM_KAFKA_BOOTSTRAP", "Kafka bootstrap servers")->required();
  core::addOption(app, "--group-id", c.groupId, "SAFESTREAM_PROCESSOR_GROUP_ID", "Kafka consumer group (scale out: more instances in one group)");
  core::addOption(app, "--raw-topic", c.rawTopic, "SAFESTREAM_RAW_TOPIC", "Topic to consume");
  core::addOption(app, "--enriched-topic", c.enrichedTopic, "SAFESTREAM_ENRICHED_TOPIC", "Topic for enriched reports");
  core::addOption(app, "--dlq-topic", c.dlqTopic, "SAFESTREAM_DLQ_TOPIC", "Dead-letter topic for invalid messages");
  core::addOption(app, "--pg-url", c.pgUrl, "SAFESTREAM_PG_URL", "PostgreSQL URL")->required();
  core::addOption(app, "--redis-url", c.redisUrl, "SAFESTREAM_REDIS_URL", "Redis URL")->required();
  core::addOption(app, "--s3-endpoint", c.s3Endpoint, "SAFESTREAM_S3_ENDPOINT", "S3 endpoint URL")->required();
  core::addOption(app, "--s3-bucket", c.s3Bucket, "SAFESTREAM_S3_BUCKET", "S3 bucket for the archive");
  core::addOption(app, "--s3-region", c.s3Region, "SAFESTREAM_S3_REGION", "S3 region used for signing");
  core::addOption(app, "--s3-prefix", c.s3Prefix, "SAFESTREAM_S3_PREFIX", "Key prefix of the archive (reports/dt=.../hour=...)");
  app.add_option("--s3-access-key", c.s3AccessKey, "S3 access key (prefer the environment)")
      ->envname("SAFESTREAM_S3_ACCESS_KEY")->required();
  app.add_option("--s3-secret-key", c.s3SecretKey, "S3 secret key (prefer the environment)")
      ->envname("SAFESTREAM_S3_SECRET_KEY")->required();
  core::addOption(app, "--batch-size", c.batchSize, "SAFESTREAM_PROCESSOR_BATCH_SIZE",
                  "Messages per batch at most (one S3 object per partition and hour per batch)")
      ->check(CLI::Range(1, 1000000));
  core::addOption(app, "--batch-timeout-ms", c.batchTimeoutMs, "SAFESTREAM_PROCESSOR_BATCH_TIMEOUT_MS",
                  "A batch is written this long after its first message at the latest")
      ->check(CLI::Range(1, 600000));
  core::addOption(app, "--max-message-bytes", c.maxMessageBytes, "SAFESTREAM_PROCESSOR_MAX_MESSAGE_BYTES",
                  "Larger messages go to the DLQ as too_large")
      ->check(CLI::Range(1024, 64 << 20));
  core::addOption(app, "--sink-timeout-ms", c.sinkTimeoutMs, "SAFESTREAM_PROCESSOR_SINK_TIMEOUT_MS",
                  "Deadline of one sink write (PostgreSQL transaction, S3 request, Kafka delivery); then retried")
      ->check(CLI::Range(100, 600000));
  core::addOption(app, "--pg-connections", c.pgConnections, "SAFESTREAM_PROCESSOR_PG_CONNECTIONS",
                  "PostgreSQL sessions a batch is split over (by report id) and written in parallel")
      ->check(CLI::Range(1, 16));
  core::addOption(app, "--boundaries", c.boundaries, "SAFESTREAM_BOUNDARIES",
                  "Neighbourhood boundary GeoJSON files: path[:name_property],...");
  core::addOption(app, "--taxonomy", c.taxonomy, "SAFESTREAM_TAXONOMY", "Taxonomy CSV (schemas/taxonomy.v1.csv)");
  core::addMetricsOptions(app, "PROCESSOR", c.metricsHost, c.metricsPort);
  core::addLogLevelOption(app, c.logLevel);
  core::addOption(app, "--alerts", c.alertsEnabled, "SAFESTREAM_ALERTS_ENABLED",
                  "Match reports against subscriptions and deliver alerts through Redis");
  if (addMore) addMore(app);
  core::parseCommandLine(app, argc, argv);
  return c;
}

}  // namespace safestream::processor
