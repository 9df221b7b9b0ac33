#include "ingest/ingest_config.h"

#include <cstdlib>

#include "core/cli.h"
#include "core/result.h"

#ifndef SAFESTREAM_INGEST_DEFAULT_CONFIG
#define SAFESTREAM_INGEST_DEFAULT_CONFIG "ingest/config/local.json"
#endif

namespace safestream::ingest {

IngestConfig parseIngestConfig(int argc, char** argv) {
  IngestConfig c;
  c.configFile = SAFESTREAM_INGEST_DEFAULT_CONFIG;
  if (const char* run = std::getenv("SAFESTREAM_RUN_DIR"); run && *run) {
    c.stateDir = std::string(run) + "/ingest";
  } else {
    c.stateDir = "ingest-state";
  }
  CLI::App app{"SafeStream ingest: crime-report sources (SpotCrime, RapidAPI, Socrata, CSV exports) -> Kafka reports.raw.\n"
               "Without a subcommand it runs the daemon ('run') with the default config file.",
               "safestream-ingest"};
  app.fallthrough();
  app.require_subcommand(0, 1);
  // --help documents every option, the subcommands' included.
  app.set_help_flag();
  app.set_help_all_flag("-h,--help", "Print this help (every subcommand's options included) and exit");
  core::addOption(app, "--kafka-bootstrap", c.kafkaBootstrap, "SAFESTREAM_KAFKA_BOOTSTRAP", "Kafka bootstrap servers")->required();
  core::addOption(app, "--topic", c.topic, "SAFESTREAM_INGEST_TOPIC", "Topic reports are published to");
  core::addOption(app, "--state-dir", c.stateDir, "SAFESTREAM_INGEST_STATE_DIR",
                  "Directory of checkpoints (high-water marks, recently published ids, import offsets)");
  core::addOption(app, "--compression", c.compression, "SAFESTREAM_INGEST_COMPRESSION", "Kafka compression codec")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  core::addLogLevelOption(app, c.logLevel);

  // The daemon's own options live on the top level too, so that the bare
  // command (as deploy/local/daemons.sh starts it) is the daemon.
  core::addOption(app, "--config", c.configFile, "SAFESTREAM_INGEST_CONFIG",
                  "Sources config file (JSON, schemas/ingest-config.v1.json); run only");
  core::addOption(app, "--pg-url", c.pgUrl, "SAFESTREAM_PG_URL",
                  "PostgreSQL URL (needed when a source stores area context, e.g. ZIP crime grades); run only");
  core::addMetricsOptions(app, "INGEST", c.metricsHost, c.metricsPort, "; run only");

  auto* run = app.add_subcommand("run", "Run the daemon: poll every configured source on its schedule");
  run->fallthrough();

  auto* imp = app.add_subcommand("import", "Import a CSV export once (streaming, progress on stderr, resumable)");
  imp->fallthrough();
  // Checked after parsing rather than marked REQUIRED: deployment checks
  // read REQUIRED in --help as "the daemon needs it", and the daemon does not.
  core::addOption(*imp, "--file", c.importFile, "SAFESTREAM_IMPORT_FILE", "CSV file to import (required)")
      ->check(CLI::ExistingFile);
  core::addOption(*imp, "--format", c.format, "SAFESTREAM_IMPORT_FORMAT",
                  "chicago (the City of Chicago 22-column export) or mapping (needs --mapping)")
      ->check(CLI::IsMember({"chicago", "mapping"}));
  core::addOption(*imp, "--mapping", c.mappingFile, "SAFESTREAM_IMPORT_MAPPING",
                  "Column-mapping file (JSON) for any other city's CSV; implies --format mapping")
      ->check(CLI::ExistingFile);
  core::addOption(*imp, "--source", c.sourceOverride, "SAFESTREAM_IMPORT_SOURCE",
                  "Report source name to use instead of the format's (e.g. csv:austin)");
  core::addOption(*imp, "--batch-rows", c.batchRows, "SAFESTREAM_IMPORT_BATCH_ROWS",
                  "Rows per acknowledged batch (the checkpoint advances after each)")->check(CLI::Range(1, 100000));

  auto* rep = app.add_subcommand("replay", "Demo: stream the real samples re-timed towards now");
  rep->fallthrough();
  core::addOption(*rep, "--spotcrime-file", c.spotcrimeFile, "SAFESTREAM_REPLAY_SPOTCRIME_FILE",
                  "SpotCrime JSON sample (data/spotcrime_austin_2015_sample.json)")->check(CLI::ExistingFile);
  core::addOption(*rep, "--chicago-file", c.chicagoFile, "SAFESTREAM_REPLAY_CHICAGO_FILE",
                  "Chicago CSV sample (data/chicago_crimes_2014_sample.csv)")->check(CLI::ExistingFile);
  core::addOption(*rep, "--speedup", c.speedup, "SAFESTREAM_DEMO_SPEEDUP",
                  "How many times faster than real time the samples are replayed")->check(CLI::Range(1.0, 1e9));
  core::addOption(*rep, "--spotcrime-zone", c.spotcrimeZone, "SAFESTREAM_REPLAY_SPOTCRIME_ZONE",
                  "IANA time zone of the SpotCrime sample's local times");
  rep->add_flag("--loop", c.loop, "Start over (with fresh ids) when both samples are done")
      ->envname("SAFESTREAM_REPLAY_LOOP");

  core::parseCommandLine(app, argc, argv);
  if (*imp) {
    c.command = IngestConfig::Command::import;
    if (c.importFile.empty()) throw core::ConfigError("import: --file is required (or set SAFESTREAM_IMPORT_FILE)");
    if (!c.mappingFile.empty()) c.format = "mapping";
    if (c.format == "mapping" && c.mappingFile.empty()) {
      throw core::ConfigError("import: --format mapping needs --mapping FILE");
    }
  } else if (*rep) {
    c.command = IngestConfig::Command::replay;
    if (c.spotcrimeFile.empty() && c.chicagoFile.empty()) {
      throw core::ConfigError("replay: give --spotcrime-file and/or --chicago-file");
    }
  } else {
    c.command = IngestConfig::Command::run;
  }
  return c;
}

}  // namespace safestream::ingest
