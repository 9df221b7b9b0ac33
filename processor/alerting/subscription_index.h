#pragma once
// The in-memory cell -> subscriptions index the processor matches reports
// against. Each subscription's area is covered by S2 cells (RegionCoverer,
// levels minLevel..maxLevel, at most maxCells cells); the index maps each
// covering cell to the subscriptions it covers. A report looks up its leaf
// cell's ancestors at the levels in use (at most 9 hash look-ups), so the cost
// for a report that matches nothing does not grow with the number of
// subscriptions. Neighbourhood subscriptions are indexed by name instead (the
// report's enriched neighbourhood finds them in one look-up); their boundary
// covering is kept for the surge audience (subscriptionsForCell). The candidates then pass an exact test (great-circle
// distance for circles, S2 point-in-polygon for polygons, the report's
// enriched neighbourhood name for neighbourhoods) and the category and
// severity filters. A paused subscription stays indexed but matches nothing
// (neither reports nor surges) until an upsert resumes it. Quiet hours and the throttle are delivery decisions (they
// depend on the clock and on Redis state) and live in the sink.
//
// Threading: not synchronised; SubscriptionRegistry guards one with a lock.
// S2 stays inside the .cc so this header is cheap to include.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/subscription.h"
#include "core/cities.h"

namespace safestream::processor::alerting {

// What the matcher needs of an enriched report.
struct MatchPoint {
  core::GeoPoint location;
  std::string_view category;
  int severity = 0;
  std::string_view neighbourhood;  // "" when the report is in none
  std::string_view city;           // enrichment.city; "" when in none
};

struct Match {
  std::shared_ptr<const core::Subscription> subscription;
  std::optional<double> distanceM;  // circles: from the centre
};

struct CoveringOptions {
  int minLevel = 8;    // ~36 km cells: a 20 km circle needs few of them
  int maxLevel = 16;   // ~150 m cells: a 50 m circle is not covered by 1 km cells
  int maxCells = 8;
};

class SubscriptionIndex {
 public:
  // `cities` resolves neighbourhood subscriptions (city, name) to polygons;
  // null: none can be indexed.
  explicit SubscriptionIndex(std::shared_ptr<const core::CityCatalog> cities = nullptr, CoveringOptions options = {});
  ~SubscriptionIndex();
  SubscriptionIndex(SubscriptionIndex&&) noexcept;
  SubscriptionIndex& operator=(SubscriptionIndex&&) noexcept;

  // Adds the subscription or replaces the one with the same id. An area that
  // cannot be built (an invalid polygon, a neighbourhood not in the city's
  // boundary file, a name two cities share without area.city) is an error
  // naming the field; the old version, if any, is removed
  // then, so a broken update never keeps alerting with stale filters.
  core::Status upsert(core::Subscription subscription);
  bool erase(std::string_view id);

  // Appends the subscriptions `point` matches to `out` (not cleared).
  void match(const MatchPoint& point, std::vector<Match>& out) const;
  // The same answer by testing every subscription (property tests, debugging).
  void matchBruteForce(const MatchPoint& point, std::vector<Match>& out) const;
  // Subscriptions whose area may intersect S2 cell `cellId` and whose filters
  // accept `category` (severity not applied): the audience of a surge alert.
  void subscriptionsForCell(std::uint64_t cellId, std::string_view category,
                            std::vector<std::shared_ptr<const core::Subscription>>& out) const;

  std::size_t size() const;
  std::size_t cellEntries() const;  // (cell, subscription) pairs
  std::size_t distinctCells() const;
  std::shared_ptr<const core::Subscription> find(std::string_view id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safestream::processor::alerting
