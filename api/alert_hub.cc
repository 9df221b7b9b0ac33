#include "api/alert_hub.h"

#include <charconv>
#include <vector>

namespace safestream::api {

AlertHub::Handle AlertHub::add(const std::string& subscriptionId, std::weak_ptr<LiveSubscriber> subscriber) {
  std::lock_guard lock(mu_);
  Handle h = next_++;
  entries_[h] = Entry{subscriptionId, std::move(subscriber)};
  bySubscription_.emplace(subscriptionId, h);
  return h;
}

void AlertHub::remove(Handle handle) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(handle);
  if (it == entries_.end()) return;
  auto range = bySubscription_.equal_range(it->second.subscriptionId);
  for (auto i = range.first; i != range.second; ++i) {
    if (i->second == handle) {
      bySubscription_.erase(i);
      break;
    }
  }
  entries_.erase(it);
}

std::size_t AlertHub::dispatch(std::string_view channel, const std::string& message) {
  if (channel.substr(0, kLiveChannelPrefix.size()) != kLiveChannelPrefix) return 0;
  const std::string id(channel.substr(kLiveChannelPrefix.size()));
  const std::string cursor = extractCursor(message);
  if (!isStreamId(cursor)) return 0;
  std::vector<std::shared_ptr<LiveSubscriber>> targets;
  {
    std::lock_guard lock(mu_);
    auto range = bySubscription_.equal_range(id);
    for (auto i = range.first; i != range.second; ++i) {
      if (auto s = entries_[i->second].subscriber.lock()) targets.push_back(std::move(s));
    }
  }
  for (auto& t : targets) t->deliver(cursor, message);
  return targets.size();
}

void AlertHub::resyncAll() {
  std::vector<std::shared_ptr<LiveSubscriber>> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [_, e] : entries_) {
      if (auto s = e.subscriber.lock()) targets.push_back(std::move(s));
    }
  }
  for (auto& t : targets) t->resync();
}

std::size_t AlertHub::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

namespace {
bool splitId(std::string_view id, unsigned long long& ms, unsigned long long& seq) {
  ms = seq = 0;
  if (id.empty() || id == "0") return true;
  auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= id.size()) return false;
  auto [p1, e1] = std::from_chars(id.data(), id.data() + dash, ms);
  auto [p2, e2] = std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  return e1 == std::errc() && e2 == std::errc() && p1 == id.data() + dash && p2 == id.data() + id.size();
}
}  // namespace

bool isStreamId(std::string_view id) {
  unsigned long long a = 0, b = 0;
  return !id.empty() && id != "0" && splitId(id, a, b);
}

int compareStreamIds(std::string_view a, std::string_view b) {
  unsigned long long am = 0, as = 0, bm = 0, bs = 0;
  if (!splitId(a, am, as)) am = as = 0;
  if (!splitId(b, bm, bs)) bm = bs = 0;
  if (am != bm) return am < bm ? -1 : 1;
  if (as != bs) return as < bs ? -1 : 1;
  return 0;
}

std::string extractCursor(std::string_view json) {
  // The processor writes "cursor":"<ms>-<seq>" (digits and a dash, no escapes).
  auto k = json.find("\"cursor\"");
  if (k == std::string_view::npos) return {};
  auto colon = json.find(':', k + 8);
  if (colon == std::string_view::npos) return {};
  auto q1 = json.find('"', colon + 1);
  if (q1 == std::string_view::npos) return {};
  for (auto i = colon + 1; i < q1; ++i) {
    if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') return {};
  }
  auto q2 = json.find('"', q1 + 1);
  if (q2 == std::string_view::npos) return {};
  return std::string(json.substr(q1 + 1, q2 - q1 - 1));
}

}  // namespace safestream::api
