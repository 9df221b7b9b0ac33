#include "processor/dedupe_window.h"

#include <algorithm>

#include "processor/neighbourhood_index.h"

namespace safestream::processor {

DedupeWindow::DedupeWindow(DedupeSettings settings) : settings_(settings) {
  if (settings_.window.count() <= 0) settings_.window = std::chrono::milliseconds(1);
}

std::int64_t DedupeWindow::slotOf(core::Timestamp t) const {
  const auto ms = t.time_since_epoch().count();
  const auto w = settings_.window.count();
  return ms >= 0 ? ms / w : -((-ms + w - 1) / w);  // floor, also before 1970
}

std::optional<core::ReportId> DedupeWindow::check(const core::ReportId& id, const std::string& category,
                                                  const std::optional<core::GeoPoint>& location,
                                                  core::Timestamp occurredAt) {
  if (!location) return std::nullopt;
  const auto toResult = [](const std::optional<std::string>& s) -> std::optional<core::ReportId> {
    if (!s) return std::nullopt;
    return core::ReportId{*s};
  };
  // The same report again: answer as before so a replay does not change links.
  if (auto known = bucketOfId_.find(id.value); known != bucketOfId_.end()) {
    auto& entries = buckets_[known->second];
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id.value; });
    if (it != entries.end() && it->category == category &&
        distanceMetres(it->point, *location) <= settings_.radiusMetres) {
      it->occurredAt = occurredAt;
      const auto answer = it->duplicateOf;
      const Bucket home{known->second.cell, slotOf(occurredAt)};
      if (!(home == known->second)) {  // its time moved to another slot: so does the entry
        Entry moved = std::move(*it);
        entries.erase(it);
        if (entries.empty()) buckets_.erase(known->second);
        buckets_[home].push_back(std::move(moved));
        known->second = home;
        order_.emplace_back(home, id.value);
      }
      return toResult(answer);
    }
    // It moved or changed category: forget the old entry and decide afresh.
    if (it != entries.end()) {
      entries.erase(it);
      --size_;
    }
    bucketOfId_.erase(known);
  }

  const auto cells = cellsNear(*location, kCellLevelMid, settings_.radiusMetres);
  const std::int64_t slot = slotOf(occurredAt);
  const Entry* best = nullptr;
  for (auto cell : cells) {
    for (std::int64_t s = slot - 1; s <= slot + 1; ++s) {
      auto bucket = buckets_.find(Bucket{cell, s});
      if (bucket == buckets_.end()) continue;
      for (const auto& e : bucket->second) {
        const auto dt = e.occurredAt > occurredAt ? e.occurredAt - occurredAt : occurredAt - e.occurredAt;
        if (dt > settings_.window) continue;
        if (e.category != category) continue;
        if (distanceMetres(e.point, *location) > settings_.radiusMetres) continue;
        // Prefer an original over a duplicate, then the earliest event, then
        // the first seen (so the answer does not depend on bucket order):
        // links point at the root of the group.
        if (!best || (best->duplicateOf && !e.duplicateOf) ||
            (!best->duplicateOf == !e.duplicateOf &&
             (e.occurredAt < best->occurredAt || (e.occurredAt == best->occurredAt && e.seq < best->seq)))) {
          best = &e;
        }
      }
    }
  }
  std::optional<std::string> dup;
  if (best) dup = best->duplicateOf ? best->duplicateOf : std::optional<std::string>(best->id);

  while (size_ >= settings_.maxEntries && !order_.empty()) evictOldest();
  const Bucket home{cells.front(), slot};
  buckets_[home].push_back(Entry{id.value, category, *location, occurredAt, dup, nextSeq_++});
  bucketOfId_[id.value] = home;
  order_.emplace_back(home, id.value);
  ++size_;
  return toResult(dup);
}

void DedupeWindow::evictOldest() {
  auto [home, id] = order_.front();
  order_.pop_front();
  auto bucket = buckets_.find(home);
  if (bucket == buckets_.end()) return;
  auto& v = bucket->second;
  auto it = std::find_if(v.begin(), v.end(), [&](const Entry& e) { return e.id == id; });
  if (it == v.end()) return;  // already replaced (the report moved)
  v.erase(it);
  --size_;
  if (auto c = bucketOfId_.find(id); c != bucketOfId_.end() && c->second == home) bucketOfId_.erase(c);
  if (v.empty()) buckets_.erase(bucket);
}

}  // namespace safestream::processor
