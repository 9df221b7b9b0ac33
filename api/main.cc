// safestream-api: citizen reports in, subscriptions, alert history and live
// alerts out (REST, WebSocket, Open311). See docs/api.md.
#include <prometheus/registry.h>

#include "api/api_app.h"
#include "api/api_config.h"
#include "core/cli.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/migrations.h"
#include "core/shutdown.h"

int main(int argc, char** argv) {
  using namespace safestream;
  core::ShutdownSignal shutdown;  // first: blocks SIGTERM/SIGINT in every later thread
  core::log::init("api");
  return core::runMain("safestream-api", [&] {
    api::ApiConfig cfg = api::parseApiConfig(argc, argv);
    core::log::init("api", cfg.logLevel);
    core::checkPostgres(cfg.pgUrl);
    if (auto s = core::checkKafka({cfg.kafkaBootstrap, {}}, std::chrono::seconds(5)); !s) {
      throw core::ConfigError(s.error().message);
    }
    auto registry = std::make_shared<prometheus::Registry>();
    core::addBuildInfo(*registry, "api");
    api::ApiApp app(cfg, registry);
    shutdown.wait();
    core::log::info("shutdown_requested");
    app.stop();
    return 0;
  });
}
