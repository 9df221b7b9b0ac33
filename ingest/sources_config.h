#pragma once
// The daemon's sources file (JSON, schemas/ingest-config.v1.json): sources,
// their areas (points with a radius, or bounding boxes tiled into points),
// poll intervals, API keys (named environment variables, never literal),
// rate limits and retry policy. Loading validates everything and throws
// core::ConfigError naming the file, the line and the key.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "ingest/column_mapping.h"
#include "ingest/retrying_fetcher.h"

namespace safestream::ingest {

struct Area {
  std::string name;       // unique within the source; part of the checkpoint key
  double lat = 0, lon = 0;
  double radius = 0.5;    // in the source's unit (SpotCrime: miles)
  std::string timeZone;   // IANA zone of the place (local times in the feed)
};

enum class SourceKind { spotcrime, rapidapiIncidents, rapidapiZipGrades, socrata };

struct SourceConfig {
  std::string name;        // config name, unique ("austin", "crimedata")
  std::string reportSource;  // report `source`: spotcrime, rapidapi:<name>, socrata:<name>
  SourceKind kind = SourceKind::spotcrime;
  std::string baseUrl;
  std::string path;        // endpoint path (defaults per kind)
  std::string key;         // resolved from keyEnv at load; never logged
  std::string keyEnv;
  std::string rapidApiHost;
  std::chrono::milliseconds pollInterval{300000};
  std::chrono::milliseconds timeout{10000};
  double perSecond = 0;    // 0: unlimited
  std::int64_t perDay = 0; // 0: no quota
  RetryPolicy retry;
  std::chrono::hours lookback{48};  // how far back a poll asks past the high-water mark
  // Where the very first pull starts when there is no checkpoint yet
  // (backfill); unset: now - lookback.
  std::optional<core::Timestamp> since;
  std::vector<Area> areas;          // spotcrime, rapidapi incidents
  std::vector<std::string> zips;    // rapidapi zip grades
  ColumnMapping mapping;            // rapidapi incidents, socrata
  std::string recordsKey;           // where the array is inside the response ("" = top level)
  std::string dataset;              // socrata dataset id
  int pageLimit = 1000;             // socrata $limit
};

struct SourcesConfig {
  std::string file;
  std::vector<SourceConfig> sources;
};

SourcesConfig loadSourcesConfig(const std::string& path);
// Same from text (tests); `file` names it in errors.
SourcesConfig parseSourcesConfig(const std::string& text, const std::string& file);

}  // namespace safestream::ingest
