// safestream-processor: the stream processor daemon. Thin: wiring only.
#include <prometheus/registry.h>

#include "core/admin_server.h"
#include "core/cities.h"
#include "core/cli.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/migrations.h"
#include "core/readiness_prober.h"
#include "core/redis_client.h"
#include "core/s3_client.h"
#include "core/shutdown.h"
#include "processor/alerting/alert_options.h"
#include "processor/alerting/alert_sink.h"
#include "processor/enriched_topic_sink.h"
#include "processor/kafka_source.h"
#include "processor/pipeline.h"
#include "processor/postgres_sink.h"
#include "processor/processor_config.h"
#include "processor/redis_duplicate_index.h"
#include "processor/s3_archive_sink.h"

int main(int argc, char** argv) {
  using namespace safestream;
  core::ShutdownSignal shutdown;  // first: blocks SIGTERM/SIGINT before any thread starts
  core::log::init("processor");
  return core::runMain("safestream-processor", [&] {
    processor::alerting::AlertSinkConfig alertCfg;
    processor::ProcessorConfig cfg = processor::parseProcessorConfig(
        argc, argv, [&](CLI::App& app) { processor::alerting::addAlertOptions(app, alertCfg); });
    core::log::init("processor", cfg.logLevel);
    core::checkPostgres(cfg.pgUrl);
    core::KafkaSettings kafka{cfg.kafkaBootstrap, {}};
    if (auto s = core::checkKafka(kafka, std::chrono::seconds(5)); !s) throw core::ConfigError(s.error().message);

    processor::Taxonomy taxonomy = processor::Taxonomy::load(cfg.taxonomy);
    if (!cfg.classifier.empty()) taxonomy.loadClassifier(cfg.classifier);
    // One catalog for enrichment and the alert sink's neighbourhood subscriptions.
    const auto cities = std::make_shared<const core::CityCatalog>(core::CityCatalog::load(cfg.cities));
    core::SystemClock clock;
    // Near-duplicates are decided against one index for the whole group
    // (Redis), so the answer does not depend on which processor reads a
    // report, nor on restarts; "memory" keeps it in this process.
    std::unique_ptr<processor::DuplicateIndex> duplicates;
    if (cfg.dedupeStore == "redis") {
      processor::RedisDuplicateIndexOptions dedupe;
      dedupe.keyPrefix = cfg.dedupeKeyPrefix;
      dedupe.ttl = std::chrono::hours(cfg.dedupeTtlHours);
      duplicates = std::make_unique<processor::RedisDuplicateIndex>(
          dedupe, std::make_unique<core::RedisClient>(core::RedisSettings{cfg.redisUrl}));
    }
    processor::Enricher enricher(taxonomy, cities.get(), clock, {}, duplicates.get());

    auto registry = std::make_shared<prometheus::Registry>();
    core::addBuildInfo(*registry, "processor");
    processor::ProcessorMetrics metrics(*registry);

    // One producer for reports.enriched and reports.dlq. DLQ originals are
    // capped (kMaxDlqOriginalBytes), so the default message size suffices.
    core::KafkaSettings producerSettings = kafka;
    producerSettings.extra["message.max.bytes"] = "4000000";
    core::KafkaProducer producer(producerSettings, {.idempotent = true, .compression = "lz4", .lingerMs = 5,
                                                    .clientId = "safestream-processor"});

    // Their metadata now, not on the first batch (it held that batch's
    // commit for ~0.7 s in the benchmark); a missing topic is only logged
    // here, the sinks report it when they write.
    if (auto s = producer.prepareTopics({cfg.enrichedTopic, cfg.dlqTopic}, std::chrono::seconds(5)); !s) {
      core::log::warn("kafka_topic_metadata", {{"error", s.error().message}});
    }

    // The archive's names carry the run of the topics (the cluster id), so
    // offsets that start again on a new broker never reuse a name.
    std::string run = cfg.s3RunId;
    if (run.empty()) {
      auto id = producer.clusterId(std::chrono::seconds(10));
      if (!id) throw core::ConfigError("the Kafka cluster id (for the archive's names): " + id.error().message);
      run = *id;
    }

    const std::chrono::milliseconds sinkTimeout(cfg.sinkTimeoutMs);
    processor::PostgresSink postgres({cfg.pgUrl, sinkTimeout, cfg.pgConnections});
    processor::S3ArchiveSink s3(
        {cfg.s3Endpoint, cfg.s3Bucket, cfg.s3Region, cfg.s3AccessKey, cfg.s3SecretKey, sinkTimeout},
        {.prefix = cfg.s3Prefix,
         .run = run,
         .rotateBytes = static_cast<std::size_t>(cfg.s3RotateBytes),
         .rotateInterval = std::chrono::seconds(cfg.s3RotateIntervalSeconds)},
        clock, &metrics);
    processor::EnrichedTopicSink enriched(producer, cfg.enrichedTopic, sinkTimeout);
    // Each sink gets a lane of its own (the alert lane first: it is the
    // one a person waits for; surges have their own lane behind it).
    std::vector<processor::ReportSink*> sinks;
    // The alert sinks receive every report, duplicates included
    // (enrichment.duplicate_of): they dedupe by root id themselves. They
    // must be destroyed after the pipeline that writes to them (declared
    // before it).
    std::unique_ptr<processor::alerting::AlertSinks> alertSinks;
    if (cfg.alertsEnabled) {
      alertCfg.redisUrl = cfg.redisUrl;
      alertCfg.pgUrl = cfg.pgUrl;
      alertCfg.kafkaBootstrap = cfg.kafkaBootstrap;
      alertCfg.cities = cities;
      alertSinks = processor::alerting::makeAlertSinks(alertCfg, *registry);
      for (auto* s : alertSinks->sinks()) sinks.push_back(s);  // "alerts", then "surges"
    }
    sinks.insert(sinks.end(), {&postgres, &s3, &enriched});

    // Oversized messages must reach the processor (to be dead-lettered), so
    // the consumer accepts more than --max-message-bytes.
    core::KafkaSettings consumerSettings = kafka;
    consumerSettings.extra["fetch.max.bytes"] = std::to_string(64 << 20);
    consumerSettings.extra["max.partition.fetch.bytes"] = std::to_string(16 << 20);
    consumerSettings.extra["receive.message.max.bytes"] = std::to_string(100 << 20);
    // Latency of the alert path: the broker answers a fetch after 10 ms at
    // the latest when there is less than fetch.min.bytes (default 500 ms);
    // under load fetches fill up before that, so throughput is the same.
    consumerSettings.extra["fetch.wait.max.ms"] = "10";
    processor::KafkaSource source(consumerSettings, {.groupId = cfg.groupId,
                                                     .topics = {cfg.rawTopic},
                                                     .clientId = "safestream-processor"});

    processor::PipelineSettings ps;
    ps.batchSize = static_cast<std::size_t>(cfg.batchSize);
    ps.pollMax = static_cast<std::size_t>(cfg.pollMaxMessages);
    ps.laneQueueMessages = static_cast<std::size_t>(cfg.laneQueueMessages);
    // The storage lanes gather small polls into fewer writes; the alert
    // lanes write every poll at once.
    for (const std::string& lane : {postgres.name(), s3.name(), enriched.name(), std::string("dlq")}) {
      ps.laneLinger[lane] = std::chrono::milliseconds(cfg.storageLingerMs);
    }
    ps.maxMessageBytes = static_cast<std::size_t>(cfg.maxMessageBytes);
    ps.dlqTopic = cfg.dlqTopic;
    ps.dlqTimeout = sinkTimeout;
    processor::Pipeline pipeline(source, producer, sinks, enricher, clock, metrics, ps,
                                 [&] { return shutdown.requested(); });

    // Every dependency on its own schedule, so /readyz shows a dead one
    // before data arrives (a lane finds it only when a write fails).
    core::S3Client s3Probe({cfg.s3Endpoint, cfg.s3Bucket, cfg.s3Region, cfg.s3AccessKey, cfg.s3SecretKey,
                            std::chrono::seconds(2)});
    std::vector<core::DependencyProbe> probes{
        {"kafka", [&] { return core::checkKafka(kafka, std::chrono::seconds(2)); }},
        {"postgres", [&] { return core::pingPostgres(cfg.pgUrl); }},
        {"s3", [&] { return s3Probe.checkBucket(); }}};
    std::unique_ptr<core::RedisClient> redisProbe;  // used by the prober's thread only
    if (cfg.alertsEnabled || cfg.dedupeStore == "redis") {
      redisProbe = std::make_unique<core::RedisClient>(core::RedisSettings{cfg.redisUrl, std::chrono::seconds(2)});
      probes.push_back({"redis", [&] { return redisProbe->ping(); }});
    }
    core::ReadinessProber prober(std::move(probes), std::chrono::seconds(2));
    core::AdminServer admin(cfg.metricsHost, cfg.metricsPort, registry, [&] {
      core::Readiness lanes;
      lanes.ready = pipeline.ready();
      if (!lanes.ready) lanes.problems.push_back(pipeline.problem());
      return core::combine(prober.state(), lanes);
    });
    core::log::info("processor_started", {{"group_id", cfg.groupId},
                                          {"topic", cfg.rawTopic},
                                          {"cities", cities->cities().size()},
                                          {"neighbourhood_polygons", cities->polygonCount()},
                                          {"taxonomy_rules", taxonomy.size()},
                                          {"metrics", admin.url()}});
    pipeline.run();  // returns on SIGTERM once the lanes flushed (within a deadline) and the durable prefix is committed
    source.close();  // leave the group cleanly so partitions move at once
    core::log::info("processor_stopped", {});
    return 0;
  });
}
