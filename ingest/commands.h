#pragma once
// The three commands of safestream-ingest, so main.cc stays a thin dispatcher.
// Each returns the process exit code; start-up problems throw
// core::ConfigError (exit 1 via core::runMain).
#include "core/shutdown.h"
#include "ingest/ingest_config.h"

namespace safestream::ingest {

int runDaemon(const IngestConfig& config, core::ShutdownSignal& shutdown);
int runImport(const IngestConfig& config, core::ShutdownSignal& shutdown);
int runReplayCommand(const IngestConfig& config, core::ShutdownSignal& shutdown);

}  // namespace safestream::ingest
