#pragma once
// Command-line helpers on CLI11, shared by every daemon's config.cc.
// Include only from config/main files: CLI11 is a heavy header.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace safestream::core {

// Adds an option that is also read from environment variable `env`.
// The default shown in --help is the current value of `target`.
template <typename T>
CLI::Option* addOption(CLI::App& app, const std::string& flag, T& target, const std::string& env,
                       const std::string& help) {
  return app.add_option(flag, target, help)->envname(env)->capture_default_str();
}

// The options every daemon has: --log-level (SAFESTREAM_LOG_LEVEL, one of
// debug/info/warn/error) and the operator port, --metrics-host/--metrics-port
// (SAFESTREAM_<DAEMON>_METRICS_HOST/_PORT, e.g. daemon "PROCESSOR"); `note`
// is appended to their help.
void addLogLevelOption(CLI::App& app, std::string& level);
void addMetricsOptions(CLI::App& app, const std::string& daemon, std::string& host, int& port,
                       const std::string& note = "");

// Parses argv. Prints --help and exits 0; on a bad flag or value prints one
// line naming it (and a hint to --help) and exits 2.
void parseCommandLine(CLI::App& app, int argc, char** argv);

// Runs a daemon's main body: ConfigError and any other exception become one
// JSON log line plus a plain line on stderr and exit code 1 (config) or 3.
int runMain(const char* component, const std::function<int()>& body);

}  // namespace safestream::core
