#include "ingest/replayer.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/report_id.h"
#include "ingest/column_mapping.h"
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

std::vector<core::Report> loadCsv(const std::string& file, const ColumnMapping& m) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw core::ConfigError(file + ": cannot open");
  CsvReader reader(in);
  std::vector<std::string> header, row;
  if (!reader.next(header)) throw core::ConfigError(file + ": empty");
  std::unordered_map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  std::vector<core::Report> out;
  std::size_t skipped = 0;
  while (reader.next(row)) {
    if (row.size() != header.size()) {
      if (!(row.size() == 1 && row[0].empty())) ++skipped;
      continue;
    }
    auto r = mapRecord(m, [&](const std::string& n) -> std::optional<std::string_view> {
      auto it = col.find(n);
      if (it == col.end()) return std::nullopt;
      return std::string_view(row[it->second]);
    });
    if (!r) {
      ++skipped;
      continue;
    }
    nlohmann::json raw = nlohmann::json::object();
    for (std::size_t i = 0; i < header.size(); ++i) raw[header[i]] = row[i];
    r->rawJson = raw.dump();
    out.push_back(std::move(*r));
  }
  // The import command reports rejected rows one by one; the demo only says how many.
  if (skipped) core::log::info("replay_rows_skipped", {{"file", file}, {"rows", skipped}});
  return out;
}

void freshId(core::Report& r, const std::string& runTag) {
  r.sourceId += "~" + runTag;
  r.id = core::reportIdFor(r.source, r.sourceId);
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
    freshId(r, runTag);
    item.report = std::move(r);
    out.push_back(std::move(item));
  }
}

// The shifted timeline of one sample (see replayer.h): history items get
// their offsets once every sample is in (they are paced together).
void shift(std::vector<core::Report>& reports, const ReplayOptions& o, std::vector<ReplayItem>& out) {
  if (reports.empty()) return;
  core::Timestamp last = reports.front().occurredAt;
  for (const auto& r : reports) last = std::max(last, r.occurredAt);
  for (auto& r : reports) {
    const auto before = last - r.occurredAt;  // distance to the sample's end
    if (o.historyWindow && before > *o.historyWindow) continue;
    ReplayItem item;
    item.history = before > o.liveWindow;
    if (o.part == ReplayPart::history && !item.history) continue;
    if (o.part == ReplayPart::live && item.history) continue;
    r.occurredAt = *o.endAt - before;
    r.reportedAt = r.occurredAt;
    if (!item.history) {
      const double ms = static_cast<double>(before.count()) / o.speedup;
      item.publishAt = *o.endAt - std::chrono::milliseconds(static_cast<long long>(ms));
    }
    freshId(r, o.runTag);
    item.report = std::move(r);
    out.push_back(std::move(item));
  }
}

}  // namespace

std::vector<ReplayItem> loadReplay(const ReplayOptions& o) {
  if (!(o.speedup > 0) || !(o.historySpeedup > 0)) throw core::ConfigError("replay: the speed-ups must be positive");
  std::vector<std::vector<core::Report>> samples;
  if (!o.spotcrimeFile.empty()) samples.push_back(loadSpotCrime(o.spotcrimeFile, o.spotcrimeZone));
  if (!o.chicagoFile.empty()) samples.push_back(loadCsv(o.chicagoFile, chicagoMapping()));
  for (const auto& c : o.csvFiles) samples.push_back(loadCsv(c.file, loadColumnMapping(c.mapping)));
  std::vector<ReplayItem> items;
  if (!o.endAt) {
    for (auto& s : samples) retime(s, o.speedup, o.runTag, items);
    std::stable_sort(items.begin(), items.end(),
                     [](const ReplayItem& a, const ReplayItem& b) { return a.offset < b.offset; });
    return items;
  }
  for (auto& s : samples) shift(s, o, items);
  // History first, by event time, paced from the first of it; then the live
  // records by publication time.
  std::stable_sort(items.begin(), items.end(), [](const ReplayItem& a, const ReplayItem& b) {
    if (a.history != b.history) return a.history;
    if (a.history) return a.report.occurredAt < b.report.occurredAt;
    return *a.publishAt < *b.publishAt;
  });
  if (!items.empty() && items.front().history) {
    const core::Timestamp first = items.front().report.occurredAt;
    for (auto& it : items) {
      if (!it.history) break;
      const double ms = static_cast<double>((it.report.occurredAt - first).count()) / o.historySpeedup;
      it.offset = std::chrono::milliseconds(static_cast<long long>(ms));
    }
  }
  return items;
}

std::vector<ReplayItem> loadReplay(const std::string& spotcrimeFile, const std::string& spotcrimeZone,
                                   const std::string& chicagoFile, double speedup, const std::string& runTag) {
  ReplayOptions o;
  o.spotcrimeFile = spotcrimeFile;
  o.spotcrimeZone = spotcrimeZone;
  o.chicagoFile = chicagoFile;
  o.speedup = speedup;
  o.runTag = runTag;
  return loadReplay(o);
}

ReplayStats runReplay(std::vector<ReplayItem> items, Publisher& publisher, const StopWaiter& waitForStop,
                      IngestMetrics* metrics) {
  using std::chrono::milliseconds;
  ReplayStats stats;
  const auto start = std::chrono::steady_clock::now();
  const core::Timestamp wallStart = core::nowUtc();
  // How long from now until `item` is due (<= 0: due).
  auto dueIn = [&](const ReplayItem& item) {
    if (item.publishAt) return std::chrono::duration_cast<milliseconds>(*item.publishAt - core::nowUtc());
    return item.offset - std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  };
  const bool hasHistory = !items.empty() && items.front().history;
  std::size_t next = 0;
  auto lastLog = start;
  while (next < items.size()) {
    std::map<std::string, std::vector<core::Report>> due;  // by source, for per-source metrics
    std::size_t historyDue = 0;
    // One batch is history or live, never both: the history is complete
    // (and logged so) before the first live record goes out.
    const bool historyBatch = items[next].history;
    while (next < items.size() && items[next].history == historyBatch && dueIn(items[next]).count() <= 0) {
      core::Report r = std::move(items[next].report);
      if (!items[next].publishAt && !items[next].history) {  // compressed timeline
        r.occurredAt = wallStart + items[next].offset;
        r.reportedAt = r.occurredAt;
      }
      historyDue += items[next].history ? 1 : 0;
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
    stats.history += historyDue;
    if (hasHistory && historyBatch && (next >= items.size() || !items[next].history)) {
      core::log::info("replay_history_done", {{"published", stats.published}, {"rejected", stats.rejected},
                                              {"failed", stats.failed}, {"remaining", items.size() - next}});
    }
    if (std::chrono::steady_clock::now() - lastLog > std::chrono::seconds(10)) {
      core::log::info("replay_progress", {{"published", stats.published}, {"remaining", items.size() - next}});
      lastLog = std::chrono::steady_clock::now();
    }
    if (next >= items.size()) break;
    const auto wait = dueIn(items[next]);
    if (waitForStop(std::clamp(wait, milliseconds(0), milliseconds(1000)))) {
      stats.stopped = true;
      break;
    }
  }
  return stats;
}

}  // namespace safestream::ingest
