#include "processor/alerting/alert_format.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/live_feed.h"
#include "core/report_codec.h"
#include "core/report_id.h"

namespace safestream::processor::alerting {

using nlohmann::json;

std::string rootReportId(const core::Report& report) {
  if (report.enrichment && report.enrichment->duplicateOf && !report.enrichment->duplicateOf->value.empty()) {
    return report.enrichment->duplicateOf->value;
  }
  return report.id.value;
}

std::string alertId(std::string_view subscriptionId, std::string_view key) {
  return core::reportIdFor("alert:" + std::string(subscriptionId), key).value;
}

std::string streamKey(std::string_view id) { return core::live::subscriptionStream(id); }
std::string liveChannel(std::string_view id) { return core::live::subscriptionChannel(id); }
std::string dedupeKey(std::string_view id, std::string_view root) {
  return "safestream:alerted:" + std::string(id) + ":" + std::string(root);
}

std::string reportAlertJson(std::string_view subscriptionId, const core::Report& r, std::optional<double> distanceM,
                            core::Timestamp createdAt) {
  json j;
  j["alert_id"] = alertId(subscriptionId, rootReportId(r));
  j["type"] = "report";
  j["subscription_id"] = subscriptionId;
  j["created_at"] = core::formatTimestamp(createdAt);
  j["report_id"] = r.id.value;
  if (r.enrichment) {
    j["category"] = r.enrichment->category;
    if (r.enrichment->severity >= 1) j["severity"] = r.enrichment->severity;
    j["neighbourhood"] = r.enrichment->neighbourhood ? json(*r.enrichment->neighbourhood) : json(nullptr);
  }
  j["occurred_at"] = core::formatTimestamp(r.occurredAt);
  j["description"] = r.description.empty() ? r.rawType : r.description;
  j["address"] = r.address ? json(*r.address) : json(nullptr);
  if (r.location) {
    j["lat"] = r.location->lat;
    j["lon"] = r.location->lon;
  }
  j["distance_m"] = distanceM ? json(std::round(*distanceM * 10) / 10) : json(nullptr);
  j["url"] = "/v1/reports/" + r.id.value;
  // Invalid UTF-8 from a source must not make delivery throw: replace it.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string broadcastReportJson(std::string_view channel, const core::Report& r) {
  // The report as GET /v1/reports/{id} shows it (public fields only: never
  // contact or raw).
  json report;
  report["id"] = r.id.value;
  report["source"] = r.source;
  report["category"] = r.enrichment ? json(r.enrichment->category) : json("other");
  report["severity"] = r.enrichment ? r.enrichment->severity : 1;
  report["description"] = r.description.empty() ? r.rawType : r.description;
  report["occurred_at"] = core::formatTimestamp(r.occurredAt);
  report["reported_at"] = core::formatTimestamp(r.reportedAt);
  report["lat"] = r.location ? json(r.location->lat) : json(nullptr);
  report["lon"] = r.location ? json(r.location->lon) : json(nullptr);
  report["address"] = r.address ? json(*r.address) : json(nullptr);
  report["neighbourhood"] =
      r.enrichment && r.enrichment->neighbourhood ? json(*r.enrichment->neighbourhood) : json(nullptr);
  report["city"] = r.enrichment && r.enrichment->city ? json(*r.enrichment->city) : json(nullptr);
  report["time_zone"] = r.timeZone ? json(*r.timeZone) : json(nullptr);
  report["url"] = "/v1/reports/" + r.id.value;
  json j;
  j["type"] = "report";
  j["channel"] = channel;
  j["report"] = std::move(report);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string digestAlertJsonOpen(std::string_view subscriptionId, core::Timestamp hourStart, core::Timestamp createdAt) {
  json j;
  j["alert_id"] = alertId(subscriptionId, "digest:" + std::to_string(core::toEpochMillis(hourStart)));
  j["type"] = "digest";
  j["subscription_id"] = subscriptionId;
  j["created_at"] = core::formatTimestamp(createdAt);
  j["window_start"] = core::formatTimestamp(hourStart);
  j["window_end"] = core::formatTimestamp(hourStart + std::chrono::hours(1));
  std::string text = j.dump();
  text.pop_back();  // the closing brace; the delivery script completes the object
  return text;
}

std::string SurgeEvent::key() const {
  return "surge:" + core::cellToken(cellL13) + ":" + category + ":" + std::to_string(core::toEpochMillis(windowStart));
}

namespace {
// The fields of a surge, shared by the subscriptions' alert and the feeds' event.
json surgeFields(const SurgeEvent& s, core::Timestamp createdAt) {
  json j;
  j["type"] = "surge";
  j["created_at"] = core::formatTimestamp(createdAt);
  j["category"] = s.category;
  j["cell"] = core::cellToken(s.cellL13);
  j["count"] = s.count;
  j["baseline_mean"] = std::round(s.baselineMean * 1000) / 1000;
  j["z_score"] = std::round(s.zScore * 100) / 100;
  j["window_start"] = core::formatTimestamp(s.windowStart);
  j["window_end"] = core::formatTimestamp(s.windowEnd);
  return j;
}
}  // namespace

std::string surgeAlertJson(std::string_view subscriptionId, const SurgeEvent& s, core::Timestamp createdAt) {
  json j = surgeFields(s, createdAt);
  j["alert_id"] = alertId(subscriptionId, s.key());
  j["subscription_id"] = subscriptionId;
  return j.dump();
}

std::string broadcastSurgeJson(std::string_view channel, const SurgeEvent& s, core::Timestamp createdAt) {
  json j = surgeFields(s, createdAt);
  j["channel"] = channel;
  return j.dump();
}

}  // namespace safestream::processor::alerting
