// safestream-processor: the stream processor daemon.
#include <prometheus/registry.h>

#include "core/admin_server.h"
#include "core/cli.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/migrations.h"
#include "core/shutdown.h"
#include "processor/processor_config.h"

int main(int argc, char** argv) {
  using namespace safestream;
  core::ShutdownSignal shutdown;
  core::log::init("processor");
  return core::runMain("safestream-processor", [&] {
    processor::ProcessorConfig cfg = processor::parseProcessorConfig(argc, argv);
    core::log::init("processor", cfg.logLevel);
    core::checkPostgres(cfg.pgUrl);
    if (auto s = core::checkKafka({cfg.kafkaBootstrap, {}}, std::chrono::seconds(5)); !s) {
      throw core::ConfigError(s.error().message);
    }
    auto registry = std::make_shared<prometheus::Registry>();
    core::addBuildInfo(*registry, "processor");
    core::AdminServer admin(cfg.metricsHost, cfg.metricsPort, registry, [] { return core::Readiness{}; });
    shutdown.wait();
    return 0;
  });
}
