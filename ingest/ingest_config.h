#pragma once
// Command line of safestream-ingest: three subcommands sharing the Kafka and
// state settings. Every flag is also a SAFESTREAM_* environment variable.
//   run     the daemon: polls the sources of a config file (the default when
//           no subcommand is given, with ingest/config/local.json)
//   import  one-shot streaming import of a CSV export
//   replay  the demo: streams the real samples re-timed towards now
#include <string>
#include <vector>

namespace safestream::ingest {

struct IngestConfig {
  enum class Command { run, import, replay };
  Command command = Command::run;

  // shared
  std::string kafkaBootstrap;
  std::string topic = "reports.raw";
  std::string stateDir;  // default: $SAFESTREAM_RUN_DIR/ingest, else ./ingest-state
  std::string compression = "lz4";
  std::string logLevel = "info";

  // run
  std::string configFile;
  std::string pgUrl;  // needed only by sources that write area context (ZIP grades)
  std::string metricsHost = "127.0.0.1";
  int metricsPort = 59101;

  // import
  std::string importFile;
  std::string format = "chicago";  // chicago | mapping
  std::string mappingFile;
  std::string sourceOverride;  // report source name instead of the mapping's
  int batchRows = 2000;

  // replay
  std::string spotcrimeFile;
  std::string chicagoFile;
  double speedup = 3000;
  std::string spotcrimeZone = "America/Chicago";  // Austin, TX
  bool loop = false;
  std::vector<std::string> csvFiles;  // FILE=MAPPING
  std::string endAt;                  // RFC 3339; empty: compressed timeline
  double liveHours = 24;
  double historyHours = 0;            // 0: the whole sample
  double historySpeedup = 20000;
  std::string part = "all";           // all | history | live
};

// Parses flags and SAFESTREAM_* variables; exits on --help or a bad flag;
// throws core::ConfigError on values that do not validate.
IngestConfig parseIngestConfig(int argc, char** argv);

}  // namespace safestream::ingest
