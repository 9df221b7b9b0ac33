#include "api/api_app.h"

#include <prometheus/registry.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/alert_hub.h"
#include "api/api_metrics.h"
#include "api/api_service.h"
#include "api/city_catalog_view.h"
#include "api/http_server.h"
#include "api/kafka_report_publisher.h"
#include "api/postgres_store.h"
#include "api/redis_alert_listener.h"
#include "api/redis_state.h"
#include "api/web_app.h"
#include "core/admin_server.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/readiness_prober.h"
#include "core/metrics.h"

namespace safestream::api {

struct ApiApp::Impl {
  std::shared_ptr<prometheus::Registry> registry;
  core::SystemClock clock;  // first: the caches below keep a reference
  ApiMetrics metrics;
  core::KafkaProducer producer;
  KafkaReportPublisher publisher;
  PgPool pg;
  PostgresReportStore reports;
  PostgresSubscriptionStore subscriptions;
  PostgresDuplicateStore duplicates;
  PostgresStatsStore statsPg;
  RedisPool redis;
  RedisRateLimiter limiter;  // uses redisBatcher, which is only stored here
  // After the limiter, so destroyed before it: stop() (run by ApiApp::stop)
  // and the destructor leave no check that could reach a dead limiter.
  RedisBatcher redisBatcher;
  RedisIdempotencyStore idempotency;
  RedisAlertHistory history;
  AlertHub hub;
  WebApp web;
  CatalogCityDirectory cityDirectory;
  RedisAlertListener listener;
  core::ReadinessProber readiness;  // every 2 s; /readyz answers from its last round
  std::unique_ptr<ApiService> service;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<core::AdminServer> admin;

  Impl(const ApiConfig& c, std::shared_ptr<prometheus::Registry> reg)
      : registry(std::move(reg)),
        metrics(*registry),
        producer(core::KafkaSettings{c.kafkaBootstrap, {{"message.timeout.ms", std::to_string(c.publishTimeoutMs)}}},
                 core::ProducerOptions{.idempotent = true, .compression = "lz4", .lingerMs = c.publishLingerMs, .clientId = "safestream-api"}),
        publisher(producer, c.topic),
        pg(c.pgUrl, c.pgStatementTimeoutMs),
        reports(pg),
        subscriptions(pg),
        duplicates(pg),
        statsPg(pg),
        redis(core::RedisSettings{c.redisUrl, std::chrono::milliseconds(2000)}),
        limiter(redis, c.rateLimitPerMinute, c.rateLimitBurst, &redisBatcher),
        redisBatcher(core::RedisSettings{c.redisUrl, std::chrono::milliseconds(2000)}),
        idempotency(redis),
        history(redis),
        web(WebAppOptions{c.webRoot, c.webTileUrl, c.webTileAttribution}),
        cityDirectory(loadApiCities(c.cities)),
        listener(c.redisUrl, hub, &metrics),
        readiness(
            {{"kafka", [kafka = core::KafkaSettings{c.kafkaBootstrap, {}}] {
                return core::checkKafka(kafka, std::chrono::seconds(2));
              }},
             {"postgres", [this] { return pg.ping(); }},
             {"redis", [this] { return redis.ping(); }},
             {"redis", [this] {
                return listener.connected() ? core::okStatus()
                                            : core::Status(core::makeError("redis_listener", "live-alert listener not subscribed"));
              }}},
            std::chrono::seconds(2)) {
    ServiceDeps d;
    d.publisher = &publisher;
    d.reports = &reports;
    d.reportsCacheTtl = std::chrono::milliseconds(c.reportsCacheMs);
    d.subscriptions = &subscriptions;
    d.duplicates = &duplicates;
    d.stats = &statsPg;
    d.statsCacheTtl = std::chrono::seconds(c.statsCacheSeconds);
    d.rateLimiter = c.rateLimitPerMinute > 0 ? &limiter : nullptr;
    d.idempotency = &idempotency;
    d.alerts = &history;
    d.metrics = &metrics;
    d.web = &web;
    d.cities = &cityDirectory;
    if (!web.built()) {
      core::log::warn("web_app_not_built", {{"web_root", c.webRoot},
                                            {"message", "no index.html there; / answers 404 until the app is built"}});
    }
    auto text = [](int status, std::string contentType, std::string body) {
      HttpResponse r;
      r.status = status;
      r.contentType = std::move(contentType);
      r.body = std::move(body);
      return r;
    };
    d.extraRoutes.push_back({"GET", "/healthz", [text](HttpRequest&, Responder respond) {
                               respond(text(200, "application/json", R"({"status":"ok"})"));
                             }});
    d.extraRoutes.push_back({"GET", "/readyz", [this, text](HttpRequest&, Responder respond) {
                               auto r = readiness.state();
                               std::string problems;
                               for (const auto& p : r.problems) problems += (problems.empty() ? "" : ",") + jsonString(p);
                               respond(text(r.ready ? 200 : 503, "application/json",
                                            std::string("{\"status\":\"") + (r.ready ? "ready" : "not_ready") +
                                                "\",\"problems\":[" + problems + "]}"));
                             }});
    d.extraRoutes.push_back({"GET", "/metrics", [this, text](HttpRequest&, Responder respond) {
                               respond(text(200, "text/plain; version=0.0.4", core::serializeMetrics(*registry)));
                             }});
    d.extraRoutes.push_back({"GET", "/openapi.yaml", [text](HttpRequest&, Responder respond) {
                               respond(text(200, "application/yaml", openApiYaml()));
                             }});
    service = std::make_unique<ApiService>(std::move(d));
    // The topic's metadata before a citizen waits on it: the first POST after
    // start took ~170 ms for it, and the first seconds' p99 ~600 ms
    // (bench/api/run.sh). A broker not up yet is only logged, and for at most
    // 2 s: the POSTs then report it, and /readyz.
    if (auto s = producer.prepareTopics({c.topic}, std::chrono::seconds(2)); !s) {
      core::log::warn("kafka_topic_metadata", {{"error", s.error().message}});
    }
    if (!listener.waitSubscribed(std::chrono::seconds(5))) {
      throw core::ConfigError("Redis at " + core::log::redactUrl(c.redisUrl) + " did not accept PSUBSCRIBE within 5 s");
    }
    ServerOptions o;
    o.host = c.host;
    o.port = c.port;
    o.extraPort = c.wsPort;
    o.ioThreads = c.ioThreads;
    o.workerThreads = c.workerThreads;
    o.maxBodyBytes = static_cast<std::size_t>(c.maxBodyBytes);
    o.requestTimeout = std::chrono::milliseconds(c.requestTimeoutMs);
    o.trustProxy = c.trustProxy;
    o.wsPingInterval = std::chrono::seconds(c.wsPingSeconds);
    o.wsMaxQueue = static_cast<std::size_t>(c.wsMaxQueue);
    for (std::size_t pos = 0; pos < c.wsAllowedOrigins.size();) {
      auto comma = std::min(c.wsAllowedOrigins.find(',', pos), c.wsAllowedOrigins.size());
      auto item = c.wsAllowedOrigins.substr(pos, comma - pos);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!item.empty()) o.wsAllowedOrigins.push_back(item);
      pos = comma + 1;
    }
    o.reusePort = c.reusePort;
    // Citizen POSTs do not wait on the I/O thread: the rate check goes
    // through the Redis batcher and the Kafka send is asynchronous (an
    // Idempotency-Key still costs blocking Redis round trips, rare);
    // PostgreSQL reads go to the workers.
    o.runInline = [](const HttpRequest& r) {
      return (r.method == "POST" && (r.path == "/v1/reports" || r.path == "/open311/v2/requests.json")) ||
             r.path == "/healthz" || r.path == "/metrics";
    };
    LiveHooks live;
    live.hub = &hub;
    live.history = &history;
    live.authorize = [this](const std::string& id, const std::string& token) -> std::optional<HttpResponse> {
      HttpResponse error;
      auto sub = service->authorize(id, token, error);
      if (sub) return std::nullopt;
      return error;
    };
    server = std::make_unique<HttpServer>(
        o, [this](HttpRequest req, Responder respond) { service->handle(std::move(req), std::move(respond)); }, live,
        &metrics);
    admin = std::make_unique<core::AdminServer>(c.metricsHost, c.metricsPort, registry, [this] { return readiness.state(); });
  }
};

ApiApp::ApiApp(const ApiConfig& config, std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(config, std::move(registry))) {}

ApiApp::~ApiApp() { stop(); }

void ApiApp::stop() {
  if (!impl_) return;
  impl_->admin.reset();
  if (impl_->server) impl_->server->stop();
  // The rate checks still on their way answer now, into a live service
  // (a refused or failed check has its reply dropped by the stopped server;
  // an allowed one is still queued on Kafka and flushed below).
  impl_->redisBatcher.stop();
  impl_->listener.stop();
  if (!impl_->producer.flush(std::chrono::seconds(5))) core::log::warn("producer_flush_timeout");
}

int ApiApp::port() const { return impl_->server ? impl_->server->port() : 0; }

}  // namespace safestream::api
