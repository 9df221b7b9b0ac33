// safestream-ingest: crime-report sources -> Kafka reports.raw.
// Thin: parse the command line, dispatch to the command (ingest/commands.h).
#include "core/cli.h"
#include "core/log.h"
#include "core/shutdown.h"
#include "ingest/commands.h"
#include "ingest/ingest_config.h"

int main(int argc, char** argv) {
  using namespace safestream;
  core::ShutdownSignal shutdown;  // first: blocks SIGTERM/SIGINT before any thread starts
  core::log::init("ingest");
  return core::runMain("safestream-ingest", [&] {
    ingest::IngestConfig cfg = ingest::parseIngestConfig(argc, argv);
    core::log::init("ingest", cfg.logLevel);
    switch (cfg.command) {
      case ingest::IngestConfig::Command::import: return ingest::runImport(cfg, shutdown);
      case ingest::IngestConfig::Command::replay: return ingest::runReplayCommand(cfg, shutdown);
      case ingest::IngestConfig::Command::run: return ingest::runDaemon(cfg, shutdown);
    }
    return 2;
  });
}
