#pragma once
// One-shot import of a CSV export (Chicago's, or any city's through a
// ColumnMapping): streams the file record by record (constant memory on a
// multi-GB file), publishes in acknowledged batches and checkpoints the byte
// offset after each batch, so re-importing the same file publishes nothing
// new and an interrupted import resumes where it stopped.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/result.h"
#include "ingest/checkpoint_store.h"
#include "ingest/column_mapping.h"
#include "ingest/ingest_metrics.h"
#include "ingest/publisher.h"

namespace safestream::ingest {

struct ImportOptions {
  std::string file;
  ColumnMapping mapping;
  std::size_t batchRows = 2000;
  std::chrono::milliseconds progressEvery = std::chrono::seconds(2);
};

struct ImportStats {
  std::uint64_t rows = 0;           // data rows read by this run
  std::uint64_t published = 0;
  std::uint64_t rejected = 0;
  std::uint64_t alreadyImported = 0;  // rows skipped because a previous import published them
  std::uint64_t bytes = 0;
  double seconds = 0;
  bool stopped = false;             // interrupted by shutdown (checkpoint saved)
};

// Content fingerprint of a file's first 64 KiB (FNV-1a, hex): the same export
// under the same name resumes, a new export starts over.
std::string fileFingerprint(const std::string& path);

class FileImporter {
 public:
  // `stopRequested` is polled between batches (SIGTERM: finish the batch,
  // checkpoint, return).
  FileImporter(Publisher& publisher, CheckpointStore& checkpoints, IngestMetrics* metrics,
               std::function<bool()> stopRequested = {});

  // Errors: unreadable file, missing mapped columns in the header, broker
  // not acknowledging (the checkpoint then stays at the last good batch).
  core::Result<ImportStats> run(const ImportOptions& options);

 private:
  Publisher& publisher_;
  CheckpointStore& checkpoints_;
  IngestMetrics* metrics_;
  std::function<bool()> stopRequested_;
};

}  // namespace safestream::ingest
