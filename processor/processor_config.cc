#include "processor/processor_config.h"

#include "core/cities.h"
#include "core/cli.h"

namespace safestream::processor {

ProcessorConfig parseProcessorConfig(int argc, char** argv, const std::function<void(CLI::App&)>& addMore) {
  ProcessorConfig c;
  // Defaults point into the source tree for the local stack; deployments
  // set SAFESTREAM_CITIES / SAFESTREAM_TAXONOMY.
  const std::string data = SAFESTREAM_DEFAULT_DATA_DIR;
  c.cities = core::defaultCitiesPath();
  c.taxonomy = data + "/schemas/taxonomy.v1.csv";
  c.classifier = data + "/schemas/classifier.v1.csv";
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
  core::addOption(app, "--s3-run-id", c.s3RunId, "SAFESTREAM_S3_RUN_ID",
                  "Names this run of the topics in archive object names and markers (letters, digits, _ -); "
                  "default: the Kafka cluster id. Set a new one when a topic is re-created on the same cluster");
  core::addOption(app, "--s3-rotate-bytes", c.s3RotateBytes, "SAFESTREAM_S3_ROTATE_BYTES",
                  "An archive object (one per partition and hour) is closed when its gzip reaches this size")
      ->check(CLI::Range(1024ll, 1ll << 32));
  core::addOption(app, "--s3-rotate-interval", c.s3RotateIntervalSeconds, "SAFESTREAM_S3_ROTATE_INTERVAL",
                  "... or this many seconds after it was opened; the commit waits for the archive, so this "
                  "bounds how much is read again after a crash")
      ->check(CLI::Range(1, 24 * 3600));
  core::addOption(app, "--batch-size", c.batchSize, "SAFESTREAM_PROCESSOR_BATCH_SIZE",
                  "Messages per sink write at most (a PostgreSQL transaction, an alert round trip); a lane merges "
                  "what is queued up to this")
      ->check(CLI::Range(1, 1000000));
  core::addOption(app, "--poll-max-messages", c.pollMaxMessages, "SAFESTREAM_PROCESSOR_POLL_MAX_MESSAGES",
                  "Messages read, enriched and handed to the lanes per poll at most (smaller: earlier alerts "
                  "under load)")
      ->check(CLI::Range(1, 1000000));
  core::addOption(app, "--lane-queue-messages", c.laneQueueMessages, "SAFESTREAM_PROCESSOR_LANE_QUEUE_MESSAGES",
                  "Messages a sink lane may have queued; consumption pauses while one lane is full (a sink "
                  "that is down stops the others only then)")
      ->check(CLI::Range(1, 10000000));
  core::addOption(app, "--storage-linger-ms", c.storageLingerMs, "SAFESTREAM_PROCESSOR_STORAGE_LINGER_MS",
                  "How long the storage lanes (PostgreSQL, S3, reports.enriched, the DLQ) let queued reports wait "
                  "for more to join one write (a transaction, a produce batch); a full batch never waits. The "
                  "alert lanes never wait. 0: write at once")
      ->check(CLI::Range(0, 60000));
  core::addOption(app, "--max-message-bytes", c.maxMessageBytes, "SAFESTREAM_PROCESSOR_MAX_MESSAGE_BYTES",
                  "Larger messages go to the DLQ as too_large")
      ->check(CLI::Range(1024, 64 << 20));
  core::addOption(app, "--sink-timeout-ms", c.sinkTimeoutMs, "SAFESTREAM_PROCESSOR_SINK_TIMEOUT_MS",
                  "Deadline of one sink write (PostgreSQL transaction, S3 request, Kafka delivery); then retried")
      ->check(CLI::Range(100, 600000));
  core::addOption(app, "--pg-connections", c.pgConnections, "SAFESTREAM_PROCESSOR_PG_CONNECTIONS",
                  "PostgreSQL sessions a batch is split over (by report id) and written in parallel")
      ->check(CLI::Range(1, 16));
  core::addOption(app, "--cities", c.cities, "SAFESTREAM_CITIES",
                  "Cities file (schemas/cities.v1.json): each city's zone, bbox and neighbourhood boundary file; "
                  "enrichment and neighbourhood subscriptions both read it");
  core::addOption(app, "--taxonomy", c.taxonomy, "SAFESTREAM_TAXONOMY", "Taxonomy CSV (schemas/taxonomy.v1.csv)");
  core::addOption(app, "--classifier", c.classifier, "SAFESTREAM_CLASSIFIER",
                  "General classification rules for sources without rules of their own "
                  "(schemas/classifier.v1.csv); empty: none");
  core::addMetricsOptions(app, "PROCESSOR", c.metricsHost, c.metricsPort);
  core::addLogLevelOption(app, c.logLevel);
  core::addOption(app, "--alerts", c.alertsEnabled, "SAFESTREAM_ALERTS_ENABLED",
                  "Match reports against subscriptions and deliver alerts through Redis");
  core::addOption(app, "--dedupe-store", c.dedupeStore, "SAFESTREAM_DEDUPE_STORE",
                  "Near-duplicate index: redis (shared by every processor of the group, kept across restarts) or "
                  "memory (this process only, lost on restart)")
      ->check(CLI::IsMember({"redis", "memory"}));
  core::addOption(app, "--dedupe-key-prefix", c.dedupeKeyPrefix, "SAFESTREAM_DEDUPE_KEY_PREFIX",
                  "Namespace of the near-duplicate index's Redis keys");
  core::addOption(app, "--dedupe-ttl-hours", c.dedupeTtlHours, "SAFESTREAM_DEDUPE_TTL_HOURS",
                  "How long the Redis index keeps a decision after its report was last seen (a replay within it "
                  "gets the same link)")
      ->check(CLI::Range(1, 24 * 365));
  if (addMore) addMore(app);
  core::parseCommandLine(app, argc, argv);
  return c;
}

}  // namespace safestream::processor
