#include "api/api_config.h"

#include <filesystem>

#include "core/cli.h"

namespace safestream::api {

ApiConfig parseApiConfig(int argc, char** argv) {
  ApiConfig c;
  // Like the processor's data paths, the default points into this build for
  // the local stack: deploy/local/build.sh builds web/ into <build>/web; a
  // web/dist in the source tree is the fallback. Deployments set
  // SAFESTREAM_API_WEB_ROOT.
  c.webRoot = SAFESTREAM_DEFAULT_WEB_ROOT;
  CLI::App app{"SafeStream API: citizen reports, subscriptions, live alerts (REST + WebSocket), Open311 GeoReport v2",
               "safestream-api"};
  core::addOption(app, "--kafka-bootstrap", c.kafkaBootstrap, "SAFESTREAM_KAFKA_BOOTSTRAP", "Kafka bootstrap servers")->required();
  core::addOption(app, "--pg-url", c.pgUrl, "SAFESTREAM_PG_URL", "PostgreSQL URL")->required();
  core::addOption(app, "--redis-url", c.redisUrl, "SAFESTREAM_REDIS_URL", "Redis URL")->required();
  core::addOption(app, "--topic", c.topic, "SAFESTREAM_API_TOPIC", "Kafka topic citizen reports are published to");
  core::addOption(app, "--host", c.host, "SAFESTREAM_API_HOST", "Bind address of the API (HTTP and WebSocket)");
  core::addOption(app, "--port", c.port, "SAFESTREAM_API_PORT", "Port of the API (HTTP and WebSocket)")->check(CLI::Range(0, 65535));
  core::addOption(app, "--ws-port", c.wsPort, "SAFESTREAM_API_WS_PORT",
                  "Optional second port serving the same API (e.g. for WebSocket behind a separate proxy); 0: none")
      ->check(CLI::Range(0, 65535));
  core::addMetricsOptions(app, "API", c.metricsHost, c.metricsPort);
  core::addOption(app, "--max-body-bytes", c.maxBodyBytes, "SAFESTREAM_API_MAX_BODY_BYTES", "Largest request body accepted (413 above)")
      ->check(CLI::Range(256, 16 * 1024 * 1024));
  core::addOption(app, "--request-timeout-ms", c.requestTimeoutMs, "SAFESTREAM_API_REQUEST_TIMEOUT_MS",
                  "A request's headers and body must arrive within this (408 otherwise)")
      ->check(CLI::Range(100, 600000));
  core::addOption(app, "--rate-limit-per-minute", c.rateLimitPerMinute, "SAFESTREAM_API_RATE_LIMIT_PER_MINUTE",
                  "Writes (POST) per client and minute, shared by all instances through Redis; 0 disables")
      ->check(CLI::Range(0.0, 1e9));
  core::addOption(app, "--rate-limit-burst", c.rateLimitBurst, "SAFESTREAM_API_RATE_LIMIT_BURST",
                  "Token-bucket size: writes a client may make at once")
      ->check(CLI::Range(1.0, 1e9));
  app.add_flag("--trust-proxy", c.trustProxy, "Take the client address from X-Forwarded-For (only behind your own proxy)")
      ->envname("SAFESTREAM_API_TRUST_PROXY");
  core::addOption(app, "--io-threads", c.ioThreads, "SAFESTREAM_API_IO_THREADS", "Threads running sockets")->check(CLI::Range(1, 64));
  core::addOption(app, "--worker-threads", c.workerThreads, "SAFESTREAM_API_WORKER_THREADS",
                  "Threads running handlers (they wait on PostgreSQL and Redis)")
      ->check(CLI::Range(1, 256));
  core::addOption(app, "--publish-timeout-ms", c.publishTimeoutMs, "SAFESTREAM_API_PUBLISH_TIMEOUT_MS",
                  "How long a POST waits for Kafka's acknowledgement before answering 503")
      ->check(CLI::Range(100, 300000));
  core::addOption(app, "--publish-linger-ms", c.publishLingerMs, "SAFESTREAM_API_PUBLISH_LINGER_MS",
                  "Kafka linger.ms of the report producer: how long a report may wait for others to share its batch")
      ->check(CLI::Range(0, 1000));
  core::addOption(app, "--pg-statement-timeout-ms", c.pgStatementTimeoutMs, "SAFESTREAM_API_PG_STATEMENT_TIMEOUT_MS",
                  "PostgreSQL statement_timeout of every query")
      ->check(CLI::Range(100, 600000));
  core::addOption(app, "--ws-ping-seconds", c.wsPingSeconds, "SAFESTREAM_API_WS_PING_SECONDS",
                  "WebSocket keep-alive: ping after this much silence, drop after twice as long without a pong")
      ->check(CLI::Range(1, 3600));
  core::addOption(app, "--ws-max-queue", c.wsMaxQueue, "SAFESTREAM_API_WS_MAX_QUEUE",
                  "Alerts queued for a WebSocket client that does not read before it is closed with 1008")
      ->check(CLI::Range(1, 1000000));
  core::addOption(app, "--reports-cache-ms", c.reportsCacheMs, "SAFESTREAM_API_REPORTS_CACHE_MS",
                  "How long an answer of GET /v1/reports (bbox=, near=, ...) is reused for the same search; a "
                  "processed report shows on the map at most this much later; 0: off (it shows on the next request)")
      ->check(CLI::Range(0, 60000));
  core::addOption(app, "--stats-cache-seconds", c.statsCacheSeconds, "SAFESTREAM_API_STATS_CACHE_SECONDS",
                  "How long an answer of /v1/stats/* is reused for the same question; 0: every request queries PostgreSQL")
      ->check(CLI::Range(0, 86400));
  auto* webRoot = core::addOption(app, "--web-root", c.webRoot, "SAFESTREAM_API_WEB_ROOT",
                                  "Folder of the built web app, served at / (a folder without index.html: / answers 404)");
  core::addOption(app, "--web-tile-url", c.webTileUrl, "SAFESTREAM_API_WEB_TILE_URL",
                  "Map tile URL template for the web app, e.g. https://{s}.tile.example.org/{z}/{x}/{y}.png; "
                  "empty: no tiles, the city boundaries are the map");
  core::addOption(app, "--web-tile-attribution", c.webTileAttribution, "SAFESTREAM_API_WEB_TILE_ATTRIBUTION",
                  "Attribution shown with the tiles of --web-tile-url");
  c.cities = SAFESTREAM_DEFAULT_CITIES;
  core::addOption(app, "--cities", c.cities, "SAFESTREAM_CITIES",
                  "Cities file (schemas/cities.v1.json): zones, bboxes and neighbourhood boundaries served by /v1/cities");
  app.add_flag("--reuse-port", c.reusePort,
               "Open --port with SO_REUSEPORT so several API processes on one host share it (the kernel spreads connections)")
      ->envname("SAFESTREAM_API_REUSE_PORT");
  core::addOption(app, "--ws-allowed-origins", c.wsAllowedOrigins, "SAFESTREAM_API_WS_ALLOWED_ORIGINS",
                  "Browser origins (comma-separated scheme://host[:port], * for any) allowed to open a WebSocket "
                  "besides the API's own origin; a request without Origin (not a browser) is always allowed");
  core::addLogLevelOption(app, c.logLevel);
  core::parseCommandLine(app, argc, argv);
  if (webRoot->count() == 0 && !std::filesystem::exists(c.webRoot + "/index.html") &&
      std::filesystem::exists(std::string(SAFESTREAM_SOURCE_WEB_DIST) + "/index.html")) {
    c.webRoot = SAFESTREAM_SOURCE_WEB_DIST;
  }
  return c;
}

}  // namespace safestream::api
