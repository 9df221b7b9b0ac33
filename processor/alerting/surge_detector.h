#pragma once
// Surge detection, pure logic: per (level-13 cell, category), report counts
// in event-time buckets; a sliding window (the last `window` of buckets up to
// the report's bucket) is compared with the cell's own baseline, an
// exponentially weighted mean and variance of its past hourly counts (empty
// hours count as zero). A surge is count >= minCount and z >= zThreshold
// after `warmupWindows` hours of baseline. A key raises a surge when the
// condition becomes true and not again until an evaluation finds it false
// (hysteresis), so one burst raises exactly one surge however long it lasts.
//
// Event time, not arrival time: each key's watermark is the largest event
// time seen for that key minus `allowedLateness` (per key, so a backfill of
// old data in one city does not make live reports elsewhere late, and the
// other way round). An hour is folded into the baseline once the
// watermark has passed its end. A late report (behind the watermark) is
// still counted into its bucket while its hour is not folded yet; after
// that it can no longer change a decision and is only counted as late.
// State is a small value (SurgeState) the sink keeps in Redis.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"
#include "processor/alerting/alert_format.h"

namespace safestream::processor::alerting {

struct SurgeConfig {
  std::chrono::minutes window{60};
  std::chrono::minutes bucket{5};
  std::chrono::minutes allowedLateness{10};
  double zThreshold = 3.0;
  long long minCount = 5;
  double alpha = 0.1;        // EWMA weight of the newest hour
  double minStddev = 1.0;    // floor for the baseline's standard deviation
  int warmupWindows = 24;    // hours of baseline before a key may surge
};

struct SurgeState {
  std::map<long long, long long> buckets;  // bucket start (epoch ms) -> reports
  double mean = 0;
  double variance = 0;
  long long foldedUntilMs = 0;  // hours before this are in the baseline (0: none yet)
  int windows = 0;              // hours folded so far
  long long surgeUntilMs = 0;   // end of the last surge window
  bool inSurge = false;         // the last evaluation met the surge condition
  long long maxEventMs = 0;     // largest event time seen (0: none)
  bool operator==(const SurgeState&) const = default;
};

enum class Lateness { onTime, lateCounted, lateTooOld };

struct SurgeObservation {
  Lateness lateness = Lateness::onTime;
  std::optional<SurgeEvent> surge;
};

// Folds every hour whose end the watermark has passed into the baseline.
void foldBaseline(SurgeState& state, core::Timestamp watermark, const SurgeConfig& config);

// The key's watermark: largest event time seen minus the allowed lateness.
core::Timestamp surgeWatermark(const SurgeState& state, const SurgeConfig& config);

// Counts `count` reports at `eventTime` for (cell, category) and says whether
// that makes a surge; then advances the key's watermark. `cellSince` is when
// the stream first saw any report in the cell: a new key's baseline starts
// there (with zeros), so a category never seen in a busy cell has a real,
// empty history instead of none.
SurgeObservation observeSurge(SurgeState& state, std::uint64_t cellL13, std::string_view category,
                              core::Timestamp eventTime, const SurgeConfig& config,
                              std::optional<core::Timestamp> cellSince = std::nullopt, long long count = 1);

// Compact text form for Redis; decode returns nullopt on anything malformed
// (the key then starts afresh, logged by the caller).
std::string encodeSurgeState(const SurgeState& state);
std::optional<SurgeState> decodeSurgeState(std::string_view text);

}  // namespace safestream::processor::alerting
