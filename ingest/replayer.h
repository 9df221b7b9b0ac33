#pragma once
// The demo stream: replays the real samples (SpotCrime Austin 2015, Chicago
// 2014, and any city's CSV export with its column mapping) re-timed towards
// now. Every record gets a fresh source_id suffix per run (so a demo always
// shows new reports rather than upserts of old ones). Two timelines:
//
// - compressed (the default): each sample keeps its order and spacing,
//   compressed by the speed-up, and starts now; a record's occurred_at is
//   the moment it is published. Quick, but an hour of event time then holds
//   `speedup` hours of the sample, so event-time logic (the surge
//   detector's hourly baseline) sees nothing real.
// - shifted (`endAt` set): each sample is moved in time, unchanged, so that
//   its last record occurs at `endAt`; event times keep their real spacing,
//   so the surge detector sees the sample's own hours. The last
//   `liveWindow` of each sample is published at the pace of the speed-up
//   (a record when the clock reaches endAt - (its distance to the end) /
//   speedup, never before it occurred); what lies before is history,
//   published first, in event order, at `historySpeedup` (a backfill that
//   gives the baseline its past).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/report.h"
#include "core/result.h"
#include "ingest/publisher.h"
#include "ingest/scheduler.h"

namespace safestream::ingest {

// A CSV export and the column-mapping file that reads it.
struct ReplayCsv {
  std::string file;
  std::string mapping;
};

enum class ReplayPart { all, history, live };

struct ReplayOptions {
  std::string spotcrimeFile;
  std::string spotcrimeZone = "America/Chicago";
  std::string chicagoFile;
  std::vector<ReplayCsv> csvFiles;
  double speedup = 3000;
  std::string runTag;  // appended to every source_id: "~<tag>"
  // Shifted timeline when set (see above); compressed otherwise.
  std::optional<core::Timestamp> endAt;
  std::chrono::minutes liveWindow{24 * 60};
  // Only this much of each sample before its end is replayed; none: all.
  std::optional<std::chrono::minutes> historyWindow;
  // Pace of the history. Not "as fast as possible": with a backlog the
  // processor reads a whole partition before the next, and a key's events
  // on the other partitions then arrive hours behind its watermark (too
  // late for its baseline). Caught up, the partitions of one fetch are
  // ~10 ms apart: 200 s of event time at 20000x, within the detector's
  // 10 minutes of allowed lateness.
  double historySpeedup = 20000;
  ReplayPart part = ReplayPart::all;
};

struct ReplayItem {
  core::Report report;
  // From the replay start, after the speed-up: when to publish. Compressed
  // timeline: the report's occurred_at becomes that moment.
  std::chrono::milliseconds offset{0};
  // Shifted timeline: publish at this time (occurred_at is set and not
  // later); history items are paced by `offset` instead.
  std::optional<core::Timestamp> publishAt;
  bool history = false;
};

// Loads and re-times the samples (pure: no clock, no I/O beyond the files).
// Items are in publication order: history first (by event time), then the
// live records. Throws core::ConfigError when a file cannot be read or parsed.
std::vector<ReplayItem> loadReplay(const ReplayOptions& options);
// The compressed timeline of the two original samples (kept for callers
// and tests of the original demo).
std::vector<ReplayItem> loadReplay(const std::string& spotcrimeFile, const std::string& spotcrimeZone,
                                   const std::string& chicagoFile, double speedup, const std::string& runTag);

struct ReplayStats {
  std::size_t published = 0;
  std::size_t rejected = 0;
  std::size_t failed = 0;
  std::size_t history = 0;  // history records handed to the publisher
  bool stopped = false;
};

// Publishes each item when due (see ReplayItem). Logs "replay_history_done"
// once the history is published (before any live record).
ReplayStats runReplay(std::vector<ReplayItem> items, Publisher& publisher, const StopWaiter& waitForStop,
                      IngestMetrics* metrics);

}  // namespace safestream::ingest
