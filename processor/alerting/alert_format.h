#pragma once
// Alert messages as schemas/alert.v1.json describes them, and the Redis key
// names of the delivery contract. Pure: nlohmann stays in the .cc.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/report.h"
#include "core/time.h"

namespace safestream::processor::alerting {

// The report a duplicate points to, else the report itself: alerts are
// deduplicated on this id, so near-duplicates never alert twice.
std::string rootReportId(const core::Report& report);

// UUIDv5 of (subscription, key): the same alert always gets the same id.
std::string alertId(std::string_view subscriptionId, std::string_view key);

std::string streamKey(std::string_view subscriptionId);        // safestream:alerts:{id}
std::string liveChannel(std::string_view subscriptionId);      // safestream:alerts:live:{id}
std::string dedupeKey(std::string_view subscriptionId, std::string_view rootKey);  // safestream:alerted:{id}:{root}

// A report alert. distanceM only for circle areas.
std::string reportAlertJson(std::string_view subscriptionId, const core::Report& report,
                            std::optional<double> distanceM, core::Timestamp createdAt);

// Broadcast channels (core/live_feed.h: a city's and a neighbourhood's feed,
// read by GET /v1/live): a new report, as GET /v1/reports/{id} shows it,
// {"type":"report","channel","report":{...}}; and a surge,
// {"type":"surge","channel", the surge fields of schemas/alert.v1.json}.
std::string broadcastReportJson(std::string_view channel, const core::Report& report);

// A digest alert *without* its closing brace: the delivery script appends
// "held_back" (read atomically from Redis) and, for pub/sub, "cursor".
std::string digestAlertJsonOpen(std::string_view subscriptionId, core::Timestamp hourStart,
                                core::Timestamp createdAt);

struct SurgeEvent {
  std::uint64_t cellL13 = 0;
  std::string category;
  long long count = 0;
  double baselineMean = 0;
  double baselineStddev = 0;
  double zScore = 0;
  core::Timestamp windowStart{};
  core::Timestamp windowEnd{};
  bool operator==(const SurgeEvent&) const = default;
  // Stable key of this surge: cell token, category and window start.
  std::string key() const;
};

// A surge alert for one subscription (or "*" for the alerts topic).
std::string surgeAlertJson(std::string_view subscriptionId, const SurgeEvent& surge, core::Timestamp createdAt);
std::string broadcastSurgeJson(std::string_view channel, const SurgeEvent& surge, core::Timestamp createdAt);

}  // namespace safestream::processor::alerting
