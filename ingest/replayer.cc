#include "ingest/replayer.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/report_id.h"
#include "ingest/csv_reader.h"
#include "ingest/source_parsers.h"

namespace safestream::ingest {
namespace {

std::vector<core::Report> loadSpotCrime(const std::string& file, const std::string& zone) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw core::ConfigError(file + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  auto b = parseSpotCrime(s.str(), zone);
  if (!b) throw core::ConfigError(file + ": " + b.error().message);
  return std::move(b->reports);
}

std::vector<core::Report> loadChicago(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw core::ConfigError(file + ": cannot open");
  CsvReader reader(in);
  std::vector<std::string> header, row;
  if (!reader.next(header)) throw core::ConfigError(file + ": empty");
  std::unordered_map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  const ColumnMapping m = chicagoMapping();
  std::vector<core::Report> out;
  while (reader.next(row)) {
    if (row.size() != header.size()) continue;
    auto r = mapRecord(m, [&](const std::string& n) -> std::optional<std::string_view> {
      auto it = col.find(n);
      if (it == col.end()) return std::nullopt;
      return std::string_view(row[it->second]);
    });
    if (!r) continue;
    nlohmann::json raw = nlohmann::json::object();
    for (std::size_t i = 0; i < header.size(); ++i) raw[header[i]] = row[i];
    r->rawJson = raw.dump();
    out.push_back(std::move(*r));
  }
  return out;
}

void retime(std::vector<core::Report>& reports, double speedup, const std::string& runTag,
            std::vector<ReplayItem>& out) {
  if (reports.empty()) return;
  core::Timestamp first = reports.front().occurredAt;
  for (const auto& r : reports) first = std::min(first, r.occurredAt);
  for (auto& r : reports) {
    const double ms = static_cast<double>((r.occurredAt - first).count()) / speedup;
    ReplayItem item;
    item.offset = std::chrono::milliseconds(static_cast<long long>(ms));
    r.sourceId += "~" + runTag;
    r.id = core::reportIdFor(r.source, r.sourceId);
    item.report = std::move(r);
    out.push_back(std::move(item));
  }
}

}  // namespace

std::vector<ReplayItem> loadReplay(const std::string& spotcrimeFile, const std::string& spotcrimeZone,
                                   const std::string& chicagoFile, double speedup, const std::string& runTag) {
  std::vector<ReplayItem> items;
  if (!spotcrimeFile.empty()) {
    auto r = loadSpotCrime(spotcrimeFile, spotcrimeZone);
    retime(r, speedup, runTag, items);
  }
  if (!chicagoFile.empty()) {
    auto r = loadChicago(chicagoFile);
    retime(r, speedup, runTag, items);
  }
  std::stable_sort(items.begin(), items.end(), [](const ReplayItem& a, const ReplayItem& b) { return a.offset < b.offset; });
  return items;
}

ReplayStats runReplay(std::vector<ReplayItem> items, Publisher& publisher, const StopWaiter& waitForStop,
                      IngestMetrics* metrics) {
  using std::chrono::milliseconds;
  ReplayStats stats;
  const auto start = std::chrono::steady_clock::now();
  const core::Timestamp wallStart = core::nowUtc();
  std::size_t next = 0;
  auto lastLog = start;
  while (next < items.size()) {
    const auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    std::map<std::string, std::vector<core::Report>> due;  // by source, for per-source metrics
    while (next < items.size() && items[next].offset <= elapsed) {
      core::Report r = std::move(items[next].report);
      r.occurredAt = wallStart + items[next].offset;
      r.reportedAt = r.occurredAt;
      due[r.source].push_back(std::move(r));
      ++next;
    }
    for (auto& [source, reports] : due) {
      auto out = publisher.publish(source, reports);
      stats.published += out.published;
      stats.failed += out.failed;
      stats.rejected += out.rejections.size();
      reportRejections(source, out.rejections, metrics);
      if (metrics && out.published) metrics->lastSuccessNow(source);
    }
    if (std::chrono::steady_clock::now() - lastLog > std::chrono::seconds(10)) {
      core::log::info("replay_progress", {{"published", stats.published}, {"remaining", items.size() - next}});
      lastLog = std::chrono::steady_clock::now();
    }
    if (next >= items.size()) break;
    const auto wait = items[next].offset - std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (waitForStop(std::clamp(wait, milliseconds(0), milliseconds(1000)))) {
      stats.stopped = true;
      break;
    }
  }
  return stats;
}

}  // namespace safestream::ingest
