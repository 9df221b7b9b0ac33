#pragma once
// The live subscription index shared by the listener thread (writes) and the
// pipeline thread (reads). Threading: a std::shared_mutex; readers hold it
// only for one match (microseconds), single changes take it exclusively for
// one upsert, and a full reload builds a new index without the lock and
// swaps it in, so a reload of a million rows never stalls the pipeline.
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "processor/alerting/alert_metrics.h"
#include "core/cities.h"
#include "processor/alerting/subscription_index.h"

namespace safestream::processor::alerting {

class SubscriptionRegistry {
 public:
  explicit SubscriptionRegistry(std::shared_ptr<const core::CityCatalog> cities, AlertMetrics* metrics = nullptr,
                                CoveringOptions options = {});

  // Full reload; rows that cannot be indexed are logged and counted. Returns
  // how many were rejected.
  std::size_t replaceAll(std::vector<core::Subscription> subscriptions);
  core::Status upsert(core::Subscription subscription);
  bool erase(std::string_view id);

  std::vector<Match> match(const MatchPoint& point) const;
  std::vector<std::shared_ptr<const core::Subscription>> forCell(std::uint64_t cellId, std::string_view category) const;
  std::shared_ptr<const core::Subscription> find(std::string_view id) const;
  std::size_t size() const;

 private:
  void updateGauges();  // with the lock held
  std::shared_ptr<const core::CityCatalog> cities_;
  AlertMetrics* metrics_;
  CoveringOptions options_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<SubscriptionIndex> index_;
};

}  // namespace safestream::processor::alerting
