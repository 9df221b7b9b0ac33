#pragma once
// The demo stream: replays the real samples (SpotCrime Austin 2015, Chicago
// 2014) re-timed towards now. Each sample keeps its order and spacing,
// compressed by the speed-up, and starts now; every record gets a fresh
// source_id suffix per run (so a demo always shows new reports rather than
// upserts of old ones) and its occurred_at is the moment it is published.
#include <chrono>
#include <string>
#include <vector>

#include "core/report.h"
#include "core/result.h"
#include "ingest/publisher.h"
#include "ingest/scheduler.h"

namespace safestream::ingest {

struct ReplayItem {
  core::Report report;
  std::chrono::milliseconds offset{0};  // from the replay start, after the speed-up
};

// Loads and re-times the samples (pure: no clock, no I/O beyond the files).
// Throws core::ConfigError when a file cannot be read or parsed.
std::vector<ReplayItem> loadReplay(const std::string& spotcrimeFile, const std::string& spotcrimeZone,
                                   const std::string& chicagoFile, double speedup, const std::string& runTag);

struct ReplayStats {
  std::size_t published = 0;
  std::size_t rejected = 0;
  std::size_t failed = 0;
  bool stopped = false;
};

// Publishes each item when its offset is reached (occurred_at = that moment).
ReplayStats runReplay(std::vector<ReplayItem> items, Publisher& publisher, const StopWaiter& waitForStop,
                      IngestMetrics* metrics);

}  // namespace safestream::ingest
