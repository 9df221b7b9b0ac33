#include "processor/dedupe_window.h"

#include <algorithm>

#include "core/geo.h"
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

void DedupeWindow::unlinkRoot(const Node& node) {
  auto bucket = roots_.find(node.second.home);
  if (bucket == roots_.end()) return;
  auto& v = bucket->second;
  v.erase(std::remove(v.begin(), v.end(), &node), v.end());
  if (v.empty()) roots_.erase(bucket);
}

void DedupeWindow::forget(Entries::iterator it) {
  if (!it->second.duplicateOf) unlinkRoot(*it);
  entries_.erase(it);
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
  if (auto known = entries_.find(id.value); known != entries_.end()) {
    Entry& e = known->second;
    if (e.category == category && core::distanceMetres(e.point, *location) <= settings_.radiusMetres) {
      e.occurredAt = occurredAt;
      if (!e.duplicateOf) {
        const Bucket home{e.home.cell, slotOf(occurredAt)};
        if (!(home == e.home)) {  // a root whose time moved to another slot: so does its bucket entry
          unlinkRoot(*known);
          e.home = home;
          roots_[home].push_back(&*known);
        }
      }
      return toResult(e.duplicateOf);
    }
    // It moved or changed category: forget the old entry and decide afresh.
    forget(known);
  }

  const auto cells = cellsNear(*location, kCellLevelMid, settings_.radiusMetres);
  const std::int64_t slot = slotOf(occurredAt);
  const Node* best = nullptr;
  for (auto cell : cells) {
    for (std::int64_t s = slot - 1; s <= slot + 1; ++s) {
      auto bucket = roots_.find(Bucket{cell, s});
      if (bucket == roots_.end()) continue;
      candidatesExamined_ += bucket->second.size();
      for (const Node* node : bucket->second) {
        const Entry& e = node->second;
        const auto dt = e.occurredAt > occurredAt ? e.occurredAt - occurredAt : occurredAt - e.occurredAt;
        if (dt > settings_.window) continue;
        if (e.category != category) continue;
        if (core::distanceMetres(e.point, *location) > settings_.radiusMetres) continue;
        // The earliest event, then the smallest id: neither bucket order nor
        // the order in which the roots were decided (which differs between
        // processors of a group) changes the answer.
        if (!best || e.occurredAt < best->second.occurredAt ||
            (e.occurredAt == best->second.occurredAt && node->first < best->first)) {
          best = node;
        }
      }
    }
  }
  std::optional<std::string> dup;
  if (best) dup = best->first;

  while (entries_.size() >= settings_.maxEntries && !order_.empty()) evictOldest();
  const Bucket home{cells.front(), slot};
  const std::uint64_t seq = nextSeq_++;
  auto [it, inserted] = entries_.insert_or_assign(id.value, Entry{category, *location, occurredAt, dup, home, seq});
  if (!dup) roots_[home].push_back(&*it);
  order_.emplace_back(id.value, seq);
  // Reports decided afresh (moved, recategorised) leave stale order entries;
  // drop them once they are as many as the live ones, so order_ stays bounded.
  if (order_.size() > 2 * std::max<std::size_t>(settings_.maxEntries, entries_.size()) + 16) {
    std::deque<std::pair<std::string, std::uint64_t>> live;
    for (auto& o : order_) {
      auto e = entries_.find(o.first);
      if (e != entries_.end() && e->second.seq == o.second) live.push_back(std::move(o));
    }
    order_ = std::move(live);
  }
  return toResult(dup);
}

core::Result<std::vector<std::optional<core::ReportId>>> DedupeWindow::checkAll(
    std::span<const DuplicateQuery> queries) {
  std::vector<std::optional<core::ReportId>> out;
  out.reserve(queries.size());
  for (const auto& q : queries) out.push_back(check(q.id, q.category, q.location, q.occurredAt));
  return out;
}

void DedupeWindow::evictOldest() {
  auto [id, seq] = order_.front();
  order_.pop_front();
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.seq != seq) return;  // already forgotten or decided afresh since
  forget(it);
}

}  // namespace safestream::processor
