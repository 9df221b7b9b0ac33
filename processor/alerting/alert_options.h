#pragma once
// Command-line flags (each also an environment variable) of the alert sink.
// Include only from config/main files: CLI11 is a heavy header.
#include <CLI/CLI.hpp>

#include "processor/alerting/alert_sink.h"

namespace safestream::processor::alerting {

// Adds --alert-* and --surge-* options. --redis-url, --pg-url and
// --kafka-bootstrap are the processor's own flags: copy them into `config`
// after parsing (they are not added here to avoid duplicates).
void addAlertOptions(CLI::App& app, AlertSinkConfig& config);

}  // namespace safestream::processor::alerting
