#pragma once
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace safestream::processor {

// Every setting of safestream-processor: a flag, an environment variable, a
// description and a default (see parseProcessorConfig / --help).
struct ProcessorConfig {
  std::string kafkaBootstrap;
  std::string groupId = "safestream-processor";
  std::string rawTopic = "reports.raw";
  std::string enrichedTopic = "reports.enriched";
  std::string dlqTopic = "reports.dlq";
  std::string pgUrl;
  std::string redisUrl;
  std::string s3Endpoint;
  std::string s3Bucket = "safestream";
  std::string s3Region = "us-east-1";
  std::string s3AccessKey;
  std::string s3SecretKey;
  std::string s3Prefix = "reports";
  std::string s3RunId;                  // empty: the Kafka cluster id
  long long s3RotateBytes = 32ll << 20;  // gzip bytes of an archive object before it is closed
  int s3RotateIntervalSeconds = 600;     // age of an archive object before it is closed
  int batchSize = 10000;                 // messages per sink write (PostgreSQL transaction) at most
  int pollMaxMessages = 1000;            // messages handed to the lanes per poll at most
  int laneQueueMessages = 50000;         // per lane; consumption pauses while one is full
  int storageLingerMs = 100;             // storage lanes (PostgreSQL, S3, reports.enriched, DLQ) gather this long
  int maxMessageBytes = 1 << 20;
  int sinkTimeoutMs = 30000;
  int pgConnections = 2;
  std::string cities;  // deploy/cities.json: zones, boundary files (core/cities.h)
  std::string taxonomy;
  std::string classifier;  // schemas/classifier.v1.csv: general rules for sources without their own
  std::string metricsHost = "127.0.0.1";
  int metricsPort = 59102;
  std::string logLevel = "info";
  bool alertsEnabled = true;  // the Redis alert sink (processor/alerting)
  // Near-duplicate index: "redis" (shared by the group, kept across
  // restarts: processor/redis_duplicate_index.h) or "memory" (this process
  // only, lost on restart: one processor without Redis).
  std::string dedupeStore = "redis";
  std::string dedupeKeyPrefix = "safestream:dedupe:";
  int dedupeTtlHours = 7 * 24;
};

// Parses flags and SAFESTREAM_* variables; exits on --help or a bad flag;
// throws ConfigError on values that do not validate.
// `addMore` lets main add the options of components outside this library
// (the alert sink) to the same command line.
ProcessorConfig parseProcessorConfig(int argc, char** argv,
                                     const std::function<void(CLI::App&)>& addMore = {});

}  // namespace safestream::processor
