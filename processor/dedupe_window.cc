#include "processor/dedupe_window.h"

#include <algorithm>

#include "processor/neighbourhood_index.h"

namespace safestream::processor {

DedupeWindow::DedupeWindow(DedupeSettings settings) : settings_(settings) {}

std::optional<core::ReportId> DedupeWindow::check(const core::ReportId& id, const std::string& category,
                                                  const std::optional<core::GeoPoint>& location,
                                                  core::Timestamp occurredAt) {
  if (!location) return std::nullopt;
  const auto toResult = [](const std::optional<std::string>& s) -> std::optional<core::ReportId> {
    if (!s) return std::nullopt;
    return core::ReportId{*s};
  };
  // The same report again: answer as before so a replay does not change links.
  if (auto known = cellOfId_.find(id.value); known != cellOfId_.end()) {
    auto& entries = byCell_[known->second];
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id.value; });
    if (it != entries.end() && it->category == category &&
        distanceMetres(it->point, *location) <= settings_.radiusMetres) {
      it->occurredAt = occurredAt;
      return toResult(it->duplicateOf);
    }
    // It moved or changed category: forget the old entry and decide afresh.
    if (it != entries.end()) {
      entries.erase(it);
      --size_;
    }
    cellOfId_.erase(known);
  }

  const auto cells = cellAndNeighbours(*location, kCellLevelMid);
  const Entry* best = nullptr;
  for (auto cell : cells) {
    auto bucket = byCell_.find(cell);
    if (bucket == byCell_.end()) continue;
    for (const auto& e : bucket->second) {
      if (e.category != category) continue;
      const auto dt = e.occurredAt > occurredAt ? e.occurredAt - occurredAt : occurredAt - e.occurredAt;
      if (dt > settings_.window) continue;
      if (distanceMetres(e.point, *location) > settings_.radiusMetres) continue;
      // Prefer an original over a duplicate, then the earliest event, so
      // links point at the root of the group.
      if (!best || (best->duplicateOf && !e.duplicateOf) ||
          (!best->duplicateOf == !e.duplicateOf && e.occurredAt < best->occurredAt)) {
        best = &e;
      }
    }
  }
  std::optional<std::string> dup;
  if (best) dup = best->duplicateOf ? best->duplicateOf : std::optional<std::string>(best->id);

  while (size_ >= settings_.maxEntries && !order_.empty()) evictOldest();
  byCell_[cells.front()].push_back(Entry{id.value, category, *location, occurredAt, dup});
  cellOfId_[id.value] = cells.front();
  order_.emplace_back(cells.front(), id.value);
  ++size_;
  return toResult(dup);
}

void DedupeWindow::evictOldest() {
  auto [cell, id] = order_.front();
  order_.pop_front();
  auto bucket = byCell_.find(cell);
  if (bucket == byCell_.end()) return;
  auto& v = bucket->second;
  auto it = std::find_if(v.begin(), v.end(), [&](const Entry& e) { return e.id == id; });
  if (it == v.end()) return;  // already replaced (the report moved)
  v.erase(it);
  --size_;
  if (auto c = cellOfId_.find(id); c != cellOfId_.end() && c->second == cell) cellOfId_.erase(c);
  if (v.empty()) byCell_.erase(bucket);
}

}  // namespace safestream::processor
