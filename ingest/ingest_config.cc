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
  rep->add_flag("--loop", c.loop, "Start over (with fresh ids) when every sample is done")
      ->envname("SAFESTREAM_REPLAY_LOOP");
  core::addOption(*rep, "--csv", c.csvFiles, "SAFESTREAM_REPLAY_CSV",
                  "Another city's CSV export and its column mapping, as FILE=MAPPING "
                  "(data/la_crimes_sample.csv=ingest/config/los_angeles_mapping.json); repeatable");
  core::addOption(*rep, "--end-at", c.endAt, "SAFESTREAM_REPLAY_END_AT",
                  "Shifted timeline: every sample keeps its real spacing and ends at this RFC 3339 time "
                  "(empty: compressed timeline, occurred_at = publication)");
  core::addOption(*rep, "--live-hours", c.liveHours, "SAFESTREAM_REPLAY_LIVE_HOURS",
                  "Shifted timeline: the last hours of each sample published at --speedup; before them, history")
      ->check(CLI::Range(0.0, 24.0 * 3660));
  core::addOption(*rep, "--history-hours", c.historyHours, "SAFESTREAM_REPLAY_HISTORY_HOURS",
                  "Shifted timeline: replay only this many hours before each sample's end (0: all of it)")
      ->check(CLI::Range(0.0, 24.0 * 3660));
  core::addOption(*rep, "--history-speedup", c.historySpeedup, "SAFESTREAM_REPLAY_HISTORY_SPEEDUP",
                  "Shifted timeline: how many times faster than real time the history is published")
      ->check(CLI::Range(1.0, 1e9));
  core::addOption(*rep, "--part", c.part, "SAFESTREAM_REPLAY_PART",
                  "Shifted timeline: publish all, only the history, or only the live part")
      ->check(CLI::IsMember({"all", "history", "live"}));

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
    if (c.spotcrimeFile.empty() && c.chicagoFile.empty() && c.csvFiles.empty()) {
      throw core::ConfigError("replay: give --spotcrime-file, --chicago-file and/or --csv FILE=MAPPING");
    }
    for (const auto& f : c.csvFiles) {
      const auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == f.size()) {
        throw core::ConfigError("replay: --csv '" + f + "' must be FILE=MAPPING");
      }
    }
    if (c.endAt.empty() && c.part != "all") throw core::ConfigError("replay: --part needs --end-at");
    // A second pass of a shifted timeline would repeat its event times,
    // which the surge baseline would count twice.
    if (!c.endAt.empty() && c.loop) throw core::ConfigError("replay: --loop needs the compressed timeline (no --end-at)");
  } else {
    c.command = IngestConfig::Command::run;
  }
  return c;
}

}  // namespace safestream::ingest
