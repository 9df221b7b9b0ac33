#include "processor/alerting/subscription_registry.h"

#include <mutex>

#include "core/log.h"

namespace safestream::processor::alerting {

SubscriptionRegistry::SubscriptionRegistry(std::shared_ptr<const core::CityCatalog> cities, AlertMetrics* metrics,
                                           CoveringOptions options)
    : cities_(std::move(cities)),
      metrics_(metrics),
      options_(options),
      index_(std::make_unique<SubscriptionIndex>(cities_, options_)) {}

std::size_t SubscriptionRegistry::replaceAll(std::vector<core::Subscription> subscriptions) {
  auto fresh = std::make_unique<SubscriptionIndex>(cities_, options_);
  std::size_t rejected = 0;
  for (auto& s : subscriptions) {
    std::string id = s.id;
    if (auto st = fresh->upsert(std::move(s)); !st) {
      ++rejected;
      if (metrics_) metrics_->subscriptionsRejected.Increment();
      core::log::warn("subscription_rejected", {{"subscription_id", id}, {"reason", st.error().message}});
    }
  }
  std::unique_lock lock(mu_);
  index_.swap(fresh);
  updateGauges();
  lock.unlock();
  // `fresh` (the old index) is destroyed here, outside the lock.
  return rejected;
}

core::Status SubscriptionRegistry::upsert(core::Subscription subscription) {
  std::string id = subscription.id;
  std::unique_lock lock(mu_);
  auto st = index_->upsert(std::move(subscription));
  updateGauges();
  lock.unlock();
  if (!st) {
    if (metrics_) metrics_->subscriptionsRejected.Increment();
    core::log::warn("subscription_rejected", {{"subscription_id", id}, {"reason", st.error().message}});
  }
  return st;
}

bool SubscriptionRegistry::erase(std::string_view id) {
  std::unique_lock lock(mu_);
  bool erased = index_->erase(id);
  updateGauges();
  return erased;
}

std::vector<Match> SubscriptionRegistry::match(const MatchPoint& point) const {
  std::vector<Match> out;
  std::shared_lock lock(mu_);
  index_->match(point, out);
  return out;
}

std::vector<std::shared_ptr<const core::Subscription>> SubscriptionRegistry::forCell(std::uint64_t cellId,
                                                                                     std::string_view category) const {
  std::vector<std::shared_ptr<const core::Subscription>> out;
  std::shared_lock lock(mu_);
  index_->subscriptionsForCell(cellId, category, out);
  return out;
}

std::shared_ptr<const core::Subscription> SubscriptionRegistry::find(std::string_view id) const {
  std::shared_lock lock(mu_);
  return index_->find(id);
}

std::size_t SubscriptionRegistry::size() const {
  std::shared_lock lock(mu_);
  return index_->size();
}

void SubscriptionRegistry::updateGauges() {
  if (!metrics_) return;
  metrics_->subscriptions.Set(static_cast<double>(index_->size()));
  metrics_->indexCells.Set(static_cast<double>(index_->cellEntries()));
}

}  // namespace safestream::processor::alerting
