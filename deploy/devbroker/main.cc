// safestream-devbroker: a local Kafka (librdkafka mock cluster) for dev and tests.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/cli.h"
#include "core/log.h"
#include "core/shutdown.h"
#include "deploy/devbroker/mock_broker.h"

int main(int argc, char** argv) {
  using namespace safestream;
  core::ShutdownSignal shutdown;  // before any thread starts
  core::log::init("devbroker");
  return core::runMain("safestream-devbroker", [&] {
    devbroker::BrokerOptions opts;
    std::string bootstrapFile;
    std::string topics = "reports.raw,reports.enriched,reports.dlq,alerts";
    CLI::App app{"Local Kafka for development and tests: librdkafka's mock cluster (real Kafka protocol on "
                 "loopback, in memory; each partition keeps roughly its newest 5 MB)",
                 "safestream-devbroker"};
    core::addOption(app, "--brokers", opts.brokers, "SAFESTREAM_DEVBROKER_BROKERS", "Number of brokers")
        ->check(CLI::Range(1, 9));
    core::addOption(app, "--partitions", opts.partitions, "SAFESTREAM_DEVBROKER_PARTITIONS",
                    "Partitions per topic")->check(CLI::Range(1, 256));
    core::addOption(app, "--topics", topics, "SAFESTREAM_DEVBROKER_TOPICS", "Comma-separated topics to create");
    core::addOption(app, "--bootstrap-file", bootstrapFile, "SAFESTREAM_DEVBROKER_BOOTSTRAP_FILE",
                    "Write the bootstrap address to this file once listening (removed on exit)");
    core::parseCommandLine(app, argc, argv);
    opts.topics.clear();
    for (auto& t : CLI::detail::split(topics, ',')) {
      if (!t.empty()) opts.topics.push_back(t);
    }

    devbroker::MockBroker broker(opts);
    std::cout << broker.bootstrap() << std::endl;
    if (!bootstrapFile.empty()) {
      // Write then rename, so readers never see a partial address.
      const std::string tmp = bootstrapFile + ".tmp";
      std::ofstream(tmp) << broker.bootstrap() << "\n";
      std::filesystem::rename(tmp, bootstrapFile);
    }
    shutdown.wait();
    if (!bootstrapFile.empty()) std::filesystem::remove(bootstrapFile);
    core::log::info("devbroker_stopped");
    return 0;
  });
}
