#include "processor/alerting/surge_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace safestream::processor::alerting {
namespace {

constexpr long long kHourMs = 3600 * 1000;
// After this many empty hours the baseline is as good as zero; skip ahead.
constexpr int kMaxFoldSteps = 24 * 60;

long long floorTo(long long ms, long long step) {
  long long q = ms / step;
  if (ms % step != 0 && ms < 0) --q;
  return q * step;
}

void foldOne(SurgeState& s, double x, double alpha) {
  double diff = x - s.mean;
  s.mean += alpha * diff;
  s.variance = (1 - alpha) * (s.variance + alpha * diff * diff);
  ++s.windows;
}

}  // namespace

void foldBaseline(SurgeState& s, core::Timestamp watermark, const SurgeConfig& config) {
  const long long wm = core::toEpochMillis(watermark);
  if (s.foldedUntilMs == 0) {
    if (s.buckets.empty()) return;
    s.foldedUntilMs = floorTo(s.buckets.begin()->first, kHourMs);  // the key's history starts at its first report
  }
  int steps = 0;
  while (s.foldedUntilMs + kHourMs <= wm) {
    if (steps++ >= kMaxFoldSteps) {
      // A long silence: the baseline has decayed to ~0; jump to the watermark.
      s.mean = 0;
      s.variance = 0;
      s.windows += static_cast<int>((floorTo(wm, kHourMs) - s.foldedUntilMs) / kHourMs);
      s.foldedUntilMs = floorTo(wm, kHourMs);
      break;
    }
    long long x = 0;
    for (auto it = s.buckets.lower_bound(s.foldedUntilMs); it != s.buckets.end() && it->first < s.foldedUntilMs + kHourMs;
         ++it) {
      x += it->second;
    }
    foldOne(s, static_cast<double>(x), config.alpha);
    s.foldedUntilMs += kHourMs;
  }
}

core::Timestamp surgeWatermark(const SurgeState& s, const SurgeConfig& config) {
  if (s.maxEventMs == 0) return core::fromEpochMillis(std::numeric_limits<long long>::min() / 2);
  return core::fromEpochMillis(s.maxEventMs) - config.allowedLateness;
}

SurgeObservation observeSurge(SurgeState& s, std::uint64_t cellL13, std::string_view category,
                              core::Timestamp eventTime, const SurgeConfig& config,
                              std::optional<core::Timestamp> cellSince, long long count) {
  SurgeObservation out;
  if (s.foldedUntilMs == 0 && s.buckets.empty() && cellSince && *cellSince < eventTime) {
    s.foldedUntilMs = floorTo(core::toEpochMillis(*cellSince), kHourMs);
  }
  const core::Timestamp watermark = surgeWatermark(s, config);
  s.maxEventMs = std::max(s.maxEventMs, core::toEpochMillis(eventTime));
  const long long bucketMs = std::chrono::duration_cast<std::chrono::milliseconds>(config.bucket).count();
  const long long windowMs = std::chrono::duration_cast<std::chrono::milliseconds>(config.window).count();
  const long long t = core::toEpochMillis(eventTime);
  const long long start = floorTo(t, bucketMs);
  if (eventTime < watermark) out.lateness = Lateness::lateCounted;
  if (s.foldedUntilMs != 0 && start < s.foldedUntilMs) {
    out.lateness = Lateness::lateTooOld;  // its hour is already in the baseline
    return out;
  }
  s.buckets[start] += count;
  foldBaseline(s, watermark, config);
  const long long end = start + bucketMs;
  const long long windowStart = end - windowMs;
  long long inWindow = 0;
  for (auto it = s.buckets.lower_bound(windowStart); it != s.buckets.end() && it->first < end; ++it) {
    inWindow += it->second;
  }
  // Keep what the window or the next fold may still need.
  const long long keepFrom = std::min(s.foldedUntilMs, windowStart) - windowMs;
  s.buckets.erase(s.buckets.begin(), s.buckets.lower_bound(keepFrom));

  const double stddev = std::max(std::sqrt(std::max(s.variance, 0.0)), config.minStddev);
  const double z = (static_cast<double>(inWindow) - s.mean) / stddev;
  const bool surging = s.windows >= config.warmupWindows && inWindow >= config.minCount && z >= config.zThreshold;
  if (out.lateness != Lateness::onTime && !surging) return out;  // a late report never ends an episode
  const bool starts = surging && !s.inSurge;
  s.inSurge = surging;
  if (!starts) return out;
  s.surgeUntilMs = end;
  SurgeEvent e;
  e.cellL13 = cellL13;
  e.category = std::string(category);
  e.count = inWindow;
  e.baselineMean = s.mean;
  e.baselineStddev = stddev;
  e.zScore = z;
  e.windowStart = core::fromEpochMillis(windowStart);
  e.windowEnd = core::fromEpochMillis(end);
  out.surge = e;
  return out;
}

std::string encodeSurgeState(const SurgeState& s) {
  std::ostringstream out;
  out.precision(17);
  out << "v1 " << s.mean << ' ' << s.variance << ' ' << s.foldedUntilMs << ' ' << s.windows << ' ' << s.surgeUntilMs << ' '
      << (s.inSurge ? 1 : 0) << ' ' << s.maxEventMs;
  for (const auto& [start, n] : s.buckets) out << ' ' << start << ':' << n;
  return out.str();
}

std::optional<SurgeState> decodeSurgeState(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string version;
  SurgeState s;
  if (!(in >> version) || version != "v1") return std::nullopt;
  int inSurge = 0;
  if (!(in >> s.mean >> s.variance >> s.foldedUntilMs >> s.windows >> s.surgeUntilMs >> inSurge >> s.maxEventMs)) {
    return std::nullopt;
  }
  s.inSurge = inSurge != 0;
  std::string item;
  while (in >> item) {
    auto colon = item.find(':');
    if (colon == std::string::npos) return std::nullopt;
    try {
      s.buckets[std::stoll(item.substr(0, colon))] = std::stoll(item.substr(colon + 1));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!std::isfinite(s.mean) || !std::isfinite(s.variance)) return std::nullopt;
  return s;
}

}  // namespace safestream::processor::alerting
