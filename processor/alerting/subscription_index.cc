#include "processor/alerting/subscription_index.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>
#include <absl/strings/string_view.h>
#include <s2/s1angle.h>
#include <s2/s2cap.h>
#include <s2/s2cell.h>
#include <s2/s2cell_id.h>
#include <s2/s2cell_union.h>
#include <s2/s2error.h>
#include <s2/s2latlng.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2loop.h>
#include <s2/s2polygon.h>
#include <s2/s2region_coverer.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

namespace safestream::processor::alerting {
namespace {

// The cap used for covering is this much wider than the circle, so that a
// point exactly on the edge by the haversine formula (the exact test) is never
// outside the covering because S2 rounds differently.
constexpr double kCoverPadM = 0.5;
constexpr std::uint32_t kUnknownCategoryBit = 1u << 31;

S2Point toPoint(core::GeoPoint p) { return S2LatLng::FromDegrees(p.lat, p.lon).Normalized().ToPoint(); }

std::uint32_t categoryBit(std::string_view category) {
  auto cats = core::alertCategories();
  for (std::size_t i = 0; i < cats.size() && i < 31; ++i) {
    if (cats[i] == category) return 1u << i;
  }
  return kUnknownCategoryBit;
}

std::uint32_t categoryMask(const std::vector<std::string>& categories) {
  std::uint32_t mask = 0;
  for (const auto& c : categories) mask |= categoryBit(c);
  return mask;
}

std::string upperCase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Neighbourhood subscriptions are keyed by (city, upper-case name).
std::string hoodKey(std::string_view city, std::string_view name) {
  std::string key(city);
  key += '\n';
  key += upperCase(name);
  return key;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Builds an S2 loop from a closed GeoJSON ring; the smaller side of the loop
// is its interior (orientation in the source files varies).
std::unique_ptr<S2Loop> makeLoop(const core::Ring& ring, S2Error& error) {
  std::vector<S2Point> vertices;
  for (std::size_t i = 0; i + 1 < ring.size(); ++i) {
    S2Point p = toPoint(ring[i]);
    if (vertices.empty() || vertices.back() != p) vertices.push_back(p);
  }
  while (vertices.size() > 1 && vertices.front() == vertices.back()) vertices.pop_back();
  auto loop = std::make_unique<S2Loop>(vertices, S2Debug::DISABLE);
  if (loop->FindValidationError(&error)) return nullptr;
  loop->Normalize();
  return loop;
}

// A neighbourhood's loops (outer rings; holes ignored: the covering only has
// to contain the area, and the exact test compares names) and its covering.
// A ring S2 rejects (real boundary files have rings that touch themselves)
// is covered by its bounding rectangle instead: a covering only has to
// contain the area.
struct Shape {
  std::vector<std::unique_ptr<S2Loop>> loops;
  std::vector<S2LatLngRect> rects;
  std::vector<S2CellId> covering;
  bool mayIntersect(const S2Cell& cell) const {
    for (const auto& l : loops) {
      if (l->MayIntersect(cell)) return true;
    }
    for (const auto& r : rects) {
      if (r.MayIntersect(cell)) return true;
    }
    return false;
  }
};

}  // namespace

struct SubscriptionIndex::Impl {
  struct Entry {
    std::shared_ptr<const core::Subscription> sub;
    S2Cap cap;                                   // circle (padded for covering; exact test by distance)
    std::shared_ptr<const S2Polygon> polygon;    // polygon
    std::shared_ptr<const Shape> shape;          // neighbourhood (no loops: a city without a boundary file)
    std::uint32_t categories = 0;                // 0: every category
    bool live = false;
  };
  using Bucket = absl::InlinedVector<std::uint32_t, 4>;

  std::shared_ptr<const core::CityCatalog> cities;
  CoveringOptions options;
  S2RegionCoverer coverer;
  std::vector<Entry> entries;
  std::vector<std::uint32_t> freeSlots;
  // Keys view the id inside the entry's Subscription (kept alive by the
  // entry), so each id is stored once.
  absl::flat_hash_map<absl::string_view, std::uint32_t> byId;
  absl::flat_hash_map<std::uint64_t, Bucket> cells;
  std::array<std::size_t, S2CellId::kMaxLevel + 1> perLevel{};  // entries per level, to skip empty levels
  std::vector<int> levelsInUse;
  std::size_t cellEntries = 0;
  std::map<std::string, std::shared_ptr<const Shape>, std::less<>> shapes;  // cache by hoodKey(city, name)
  // Neighbourhood subscriptions are found by the report's enriched
  // neighbourhood name, not by cell: many of them share one area, and a
  // name look-up is exact where a covering is not. Keyed by hoodKey(city, name).
  std::map<std::string, std::vector<std::uint32_t>, std::less<>> byNeighbourhood;

  Impl(std::shared_ptr<const core::CityCatalog> c, CoveringOptions o) : cities(std::move(c)), options(o) {
    S2RegionCoverer::Options opts;
    opts.set_min_level(options.minLevel);
    opts.set_max_level(options.maxLevel);
    opts.set_max_cells(options.maxCells);
    coverer = S2RegionCoverer(opts);
  }

  void refreshLevels() {
    levelsInUse.clear();
    for (int l = 0; l <= S2CellId::kMaxLevel; ++l) {
      if (perLevel[l] > 0) levelsInUse.push_back(l);
    }
  }

  // The subscription's city: the one it names, else the only city having a
  // neighbourhood of that name. Errors name the field.
  core::Result<std::string> resolveCity(const core::Subscription& sub) const {
    const std::string& name = sub.neighbourhood;
    if (!sub.city.empty()) {
      const core::City* city = cities ? cities->find(sub.city) : nullptr;
      if (!city) return core::makeError("invalid_field", "area.city: '" + sub.city + "' is not a configured city", "area.city");
      if (city->boundaries && !cities->boundary(city->id, name)) {
        return core::makeError("invalid_field", "area.name: '" + name + "' is not a neighbourhood of " + city->id,
                               "area.name");
      }
      return city->id;
    }
    const auto ids = cities ? cities->citiesWithNeighbourhood(name) : std::vector<std::string>{};
    if (ids.empty()) {
      return core::makeError("invalid_field", "area.name: '" + name + "' is not a neighbourhood in the boundary files",
                             "area.name");
    }
    if (ids.size() > 1) {
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
      return core::makeError("invalid_field", "area.city: is required: '" + name + "' is a neighbourhood of " + list,
                             "area.city");
    }
    return ids.front();
  }

  core::Result<std::shared_ptr<const Shape>> shapeFor(const std::string& city, const std::string& name) {
    const std::string key = hoodKey(city, name);
    if (auto it = shapes.find(key); it != shapes.end()) return it->second;
    const core::MultiPolygon* mp = cities ? cities->boundary(city, name) : nullptr;
    if (!mp) {
      // A city without a boundary file: the name is its district column's
      // value; matched by name, no covering (no surge audience by cell).
      auto empty = std::make_shared<const Shape>();
      shapes.emplace(key, empty);
      return empty;
    }
    auto shape = std::make_shared<Shape>();
    std::vector<S2CellId> all;
    for (const auto& polygon : *mp) {
      S2Error error;
      std::vector<S2CellId> cov;
      if (auto loop = makeLoop(polygon.front(), error)) {
        coverer.GetCovering(*loop, &cov);
        shape->loops.push_back(std::move(loop));
      } else {
        S2LatLngRect rect = S2LatLngRect::Empty();
        for (const auto& p : polygon.front()) rect.AddPoint(S2LatLng::FromDegrees(p.lat, p.lon));
        coverer.GetCovering(rect, &cov);
        shape->rects.push_back(rect);
      }
      all.insert(all.end(), cov.begin(), cov.end());
    }
    if (shape->loops.empty() && shape->rects.empty()) {
      return core::makeError("invalid_field", "area.name: the boundary of '" + name + "' has no valid ring",
                             "area.name");
    }
    S2CellUnion u(std::move(all));  // normalises: no cell inside another
    shape->covering = u.cell_ids();
    shapes.emplace(key, shape);
    return std::shared_ptr<const Shape>(shape);
  }

  core::Result<std::shared_ptr<const S2Polygon>> buildPolygon(const std::vector<core::Ring>& rings) {
    std::vector<std::unique_ptr<S2Loop>> loops;
    for (std::size_t r = 0; r < rings.size(); ++r) {
      S2Error error;
      auto loop = makeLoop(rings[r], error);
      const std::string field = "area.coordinates[" + std::to_string(r) + "]";
      if (!loop) return core::makeError("invalid_field", field + ": not a valid ring: " + error.text(), field);
      if (r > 0 && !loops.front()->Contains(*loop)) {
        return core::makeError("invalid_field", field + ": a hole must lie inside the outer ring", field);
      }
      loops.push_back(std::move(loop));
    }
    auto polygon = std::make_shared<S2Polygon>();
    polygon->set_s2debug_override(S2Debug::DISABLE);
    polygon->InitNested(std::move(loops));
    S2Error error;
    if (polygon->FindValidationError(&error)) {
      return core::makeError("invalid_field", "area.coordinates: not a valid polygon: " + error.text(),
                             "area.coordinates");
    }
    return std::shared_ptr<const S2Polygon>(std::move(polygon));
  }

  std::vector<S2CellId> coveringOf(const Entry& e) {
    std::vector<S2CellId> cov;
    switch (e.sub->areaType) {
      case core::AreaType::circle: coverer.GetCovering(e.cap, &cov); break;
      case core::AreaType::polygon: coverer.GetCovering(*e.polygon, &cov); break;
      case core::AreaType::neighbourhood: cov = e.shape->covering; break;
    }
    return cov;
  }

  void addCells(std::uint32_t slot, const std::vector<S2CellId>& cov) {
    bool levelsChanged = false;
    for (auto c : cov) {
      cells[c.id()].push_back(slot);
      if (perLevel[c.level()]++ == 0) levelsChanged = true;
      ++cellEntries;
    }
    if (levelsChanged) refreshLevels();
  }

  void removeCells(std::uint32_t slot, const std::vector<S2CellId>& cov) {
    bool levelsChanged = false;
    for (auto c : cov) {
      auto it = cells.find(c.id());
      if (it == cells.end()) continue;
      auto& bucket = it->second;
      auto pos = std::find(bucket.begin(), bucket.end(), slot);
      if (pos == bucket.end()) continue;
      *pos = bucket.back();
      bucket.pop_back();
      if (bucket.empty()) cells.erase(it);
      if (--perLevel[c.level()] == 0) levelsChanged = true;
      --cellEntries;
    }
    if (levelsChanged) refreshLevels();
  }

  bool eraseId(std::string_view id) {
    auto it = byId.find(absl::string_view(id.data(), id.size()));
    if (it == byId.end()) return false;
    std::uint32_t slot = it->second;
    if (entries[slot].sub->areaType == core::AreaType::neighbourhood) {
      auto n = byNeighbourhood.find(hoodKey(entries[slot].sub->city, entries[slot].sub->neighbourhood));
      if (n != byNeighbourhood.end()) {
        auto& v = n->second;
        v.erase(std::remove(v.begin(), v.end(), slot), v.end());
        if (v.empty()) byNeighbourhood.erase(n);
      }
    } else {
      removeCells(slot, coveringOf(entries[slot]));
    }
    byId.erase(it);  // before the entry (and the id it views) goes
    entries[slot] = Entry{};
    freeSlots.push_back(slot);
    return true;
  }

  // The exact test and the filters: the same code for the index and the
  // brute-force path, so they can only disagree through the covering.
  std::optional<Match> test(const Entry& e, const MatchPoint& p, const S2Point& point) const {
    const auto& sub = *e.sub;
    if (sub.paused) return std::nullopt;  // kept indexed, so resuming is a plain upsert
    if (p.severity < sub.minSeverity) return std::nullopt;
    if (e.categories != 0 && (e.categories & categoryBit(p.category)) == 0) return std::nullopt;
    if (e.categories == 0 && p.category == core::kNonCrimeCategory) return std::nullopt;  // opt-in only
    switch (sub.areaType) {
      case core::AreaType::circle: {
        double d = core::distanceMetres(sub.center, p.location);
        if (d > sub.radiusM) return std::nullopt;
        return Match{e.sub, d};
      }
      case core::AreaType::polygon:
        if (!e.polygon->Contains(point)) return std::nullopt;
        return Match{e.sub, std::nullopt};
      case core::AreaType::neighbourhood:
        if (p.city != sub.city || !equalsIgnoreCase(p.neighbourhood, sub.neighbourhood)) return std::nullopt;
        return Match{e.sub, std::nullopt};
    }
    return std::nullopt;
  }
};

SubscriptionIndex::SubscriptionIndex(std::shared_ptr<const core::CityCatalog> cities, CoveringOptions options)
    : impl_(std::make_unique<Impl>(std::move(cities), options)) {}
SubscriptionIndex::~SubscriptionIndex() = default;
SubscriptionIndex::SubscriptionIndex(SubscriptionIndex&&) noexcept = default;
SubscriptionIndex& SubscriptionIndex::operator=(SubscriptionIndex&&) noexcept = default;

core::Status SubscriptionIndex::upsert(core::Subscription subscription) {
  auto& d = *impl_;
  d.eraseId(subscription.id);
  if (auto s = core::validateSubscription(subscription); !s) return s;
  Impl::Entry e;
  switch (subscription.areaType) {
    case core::AreaType::circle: {
      double angle = (subscription.radiusM + kCoverPadM) / core::kEarthRadiusMetres;
      e.cap = S2Cap(toPoint(subscription.center), S1Angle::Radians(angle));
      break;
    }
    case core::AreaType::polygon: {
      auto polygon = d.buildPolygon(subscription.polygon);
      if (!polygon) return polygon.error();
      e.polygon = std::move(*polygon);
      break;
    }
    case core::AreaType::neighbourhood: {
      auto city = d.resolveCity(subscription);
      if (!city) return city.error();
      subscription.city = std::move(*city);
      auto shape = d.shapeFor(subscription.city, subscription.neighbourhood);
      if (!shape) return shape.error();
      e.shape = std::move(*shape);
      break;
    }
  }
  e.categories = categoryMask(subscription.categories);
  e.live = true;
  e.sub = std::make_shared<const core::Subscription>(std::move(subscription));
  std::uint32_t slot;
  if (!d.freeSlots.empty()) {
    slot = d.freeSlots.back();
    d.freeSlots.pop_back();
    d.entries[slot] = std::move(e);
  } else {
    slot = static_cast<std::uint32_t>(d.entries.size());
    d.entries.push_back(std::move(e));
  }
  const std::string& id = d.entries[slot].sub->id;
  d.byId.emplace(absl::string_view(id.data(), id.size()), slot);
  if (d.entries[slot].sub->areaType == core::AreaType::neighbourhood) {
    d.byNeighbourhood[hoodKey(d.entries[slot].sub->city, d.entries[slot].sub->neighbourhood)].push_back(slot);
  } else {
    d.addCells(slot, d.coveringOf(d.entries[slot]));
  }
  return core::okStatus();
}

bool SubscriptionIndex::erase(std::string_view id) { return impl_->eraseId(id); }

void SubscriptionIndex::match(const MatchPoint& p, std::vector<Match>& out) const {
  const auto& d = *impl_;
  const S2Point point = toPoint(p.location);
  if (!p.neighbourhood.empty() && !d.byNeighbourhood.empty()) {
    auto it = d.byNeighbourhood.find(hoodKey(p.city, p.neighbourhood));
    if (it != d.byNeighbourhood.end()) {
      for (std::uint32_t slot : it->second) {
        if (auto m = d.test(d.entries[slot], p, point)) out.push_back(std::move(*m));
      }
    }
  }
  if (d.cells.empty()) return;
  const S2CellId leaf(point);
  for (int level : d.levelsInUse) {
    auto it = d.cells.find(leaf.parent(level).id());
    if (it == d.cells.end()) continue;
    for (std::uint32_t slot : it->second) {
      if (auto m = d.test(d.entries[slot], p, point)) out.push_back(std::move(*m));
    }
  }
}

void SubscriptionIndex::matchBruteForce(const MatchPoint& p, std::vector<Match>& out) const {
  const auto& d = *impl_;
  const S2Point point = toPoint(p.location);
  for (const auto& e : d.entries) {
    if (!e.live) continue;
    if (auto m = d.test(e, p, point)) out.push_back(std::move(*m));
  }
}

void SubscriptionIndex::subscriptionsForCell(std::uint64_t cellId, std::string_view category,
                                             std::vector<std::shared_ptr<const core::Subscription>>& out) const {
  const auto& d = *impl_;
  const S2CellId target(cellId);
  if (!target.is_valid()) return;
  const S2Cell cell(target);
  const std::uint32_t bit = categoryBit(category);
  std::vector<std::uint32_t> slots;
  // Covering cells that contain the target (its ancestors) or lie inside it
  // (its descendants down to the finest level in use).
  for (int level : d.levelsInUse) {
    if (level <= target.level()) {
      if (auto it = d.cells.find(target.parent(level).id()); it != d.cells.end()) {
        slots.insert(slots.end(), it->second.begin(), it->second.end());
      }
    } else {
      for (S2CellId c = target.child_begin(level); c != target.child_end(level); c = c.next()) {
        if (auto it = d.cells.find(c.id()); it != d.cells.end()) {
          slots.insert(slots.end(), it->second.begin(), it->second.end());
        }
      }
    }
  }
  for (const auto& [name, members] : d.byNeighbourhood) {
    if (!members.empty() && d.entries[members.front()].shape->mayIntersect(cell)) {
      slots.insert(slots.end(), members.begin(), members.end());
    }
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  for (auto slot : slots) {
    const auto& e = d.entries[slot];
    if (e.sub->paused) continue;  // no surge alerts while paused either
    if (e.categories != 0 && (e.categories & bit) == 0) continue;
    bool intersects = false;
    switch (e.sub->areaType) {
      case core::AreaType::circle: intersects = e.cap.MayIntersect(cell); break;
      case core::AreaType::polygon: intersects = e.polygon->MayIntersect(cell); break;
      case core::AreaType::neighbourhood: intersects = e.shape->mayIntersect(cell); break;
    }
    if (intersects) out.push_back(e.sub);
  }
}

std::size_t SubscriptionIndex::size() const { return impl_->byId.size(); }
std::size_t SubscriptionIndex::cellEntries() const { return impl_->cellEntries; }
std::size_t SubscriptionIndex::distinctCells() const { return impl_->cells.size(); }

std::shared_ptr<const core::Subscription> SubscriptionIndex::find(std::string_view id) const {
  auto it = impl_->byId.find(absl::string_view(id.data(), id.size()));
  return it == impl_->byId.end() ? nullptr : impl_->entries[it->second].sub;
}

}  // namespace safestream::processor::alerting
