#pragma once
#include <string>

namespace safestream::api {

// Every field: a flag and a SAFESTREAM_* variable (see parseApiConfig / --help).
struct ApiConfig {
  std::string kafkaBootstrap;
  std::string pgUrl;
  std::string redisUrl;
  std::string topic = "reports.raw";
  std::string host = "127.0.0.1";
  int port = 58080;
  int wsPort = 0;  // 0: WebSocket only on --port (it is served there too)
  std::string metricsHost = "127.0.0.1";
  int metricsPort = 59103;
  int maxBodyBytes = 64 * 1024;
  int requestTimeoutMs = 10000;
  double rateLimitPerMinute = 120;  // per client; 0 disables the limiter
  double rateLimitBurst = 30;
  bool trustProxy = false;
  int ioThreads = 2;
  int workerThreads = 16;
  int publishTimeoutMs = 5000;
  int publishLingerMs = 1;  // Kafka linger.ms of the citizen-report producer
  int pgStatementTimeoutMs = 5000;
  int wsPingSeconds = 15;
  int wsMaxQueue = 256;
  int reportsCacheMs = 1000;   // GET /v1/reports searches reused this long (a new report shows within it); 0: off
  int statsCacheSeconds = 30;  // answers of /v1/stats/* are kept this long; 0: always ask PostgreSQL
  // The web app served at "/": the build output of web/ (see parseApiConfig
  // for the default); a folder without index.html is fine (404 JSON at "/").
  std::string webRoot;
  std::string webTileUrl;          // "": no tile layer
  std::string webTileAttribution;
  bool reusePort = false;
  // Browser origins (scheme://host[:port], comma-separated, "*" = any) allowed
  // to open a WebSocket besides the API's own; requests without Origin pass.
  std::string wsAllowedOrigins;
  std::string logLevel = "info";
  std::string cities;  // deploy/cities.json: GET /v1/cities, the boundaries, the stats' city checks
};

// Parses flags and SAFESTREAM_* variables; exits on --help or a bad flag;
// throws ConfigError on values that do not validate.
ApiConfig parseApiConfig(int argc, char** argv);

}  // namespace safestream::api
