#include "api/alert_hub.h"

#include <charconv>
#include <vector>

#include "core/live_feed.h"

namespace safestream::api {

AlertHub::AlertHub() { shards_.push_back(std::make_unique<Shard>()); }

void AlertHub::setShards(std::vector<Executor> shards) {
  std::lock_guard lock(mu_);
  shards_.clear();
  for (auto& e : shards) {
    auto s = std::make_unique<Shard>();
    s->post = std::move(e);
    shards_.push_back(std::move(s));
  }
  if (shards_.empty()) shards_.push_back(std::make_unique<Shard>());
}

std::size_t AlertHub::shards() const {
  std::lock_guard lock(mu_);
  return shards_.size();
}

AlertHub::Shard& AlertHub::shard(std::size_t i) {
  // shards_ is only replaced by setShards(), before any session exists.
  return *shards_[i % shards_.size()];
}

void AlertHub::add(std::size_t i, const std::string& feed, std::shared_ptr<LiveSubscriber> subscriber) {
  auto& list = shard(i).feeds[feed];
  subscriber->hubSlot_ = list.size();
  list.push_back(std::move(subscriber));
  count_.fetch_add(1, std::memory_order_relaxed);
}

void AlertHub::remove(std::size_t i, const std::string& feed, const LiveSubscriber* subscriber) {
  auto& feeds = shard(i).feeds;
  auto it = feeds.find(feed);
  if (it == feeds.end()) return;
  auto& list = it->second;
  const std::size_t slot = subscriber->hubSlot_;
  if (slot >= list.size() || list[slot].get() != subscriber) return;  // not registered (or already removed)
  if (slot + 1 != list.size()) {
    list[slot] = std::move(list.back());
    list[slot]->hubSlot_ = slot;
  }
  list.pop_back();
  if (list.empty()) feeds.erase(it);
  count_.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t AlertHub::dispatch(std::string_view channel, std::string message) {
  std::string feed = core::live::streamOfChannel(channel);
  if (feed.empty()) return 0;
  std::string cursor = extractCursor(message);
  if (!isStreamId(cursor)) return 0;
  // The one copy of this alert every session of every shard sends.
  auto frame = std::make_shared<const LiveFrame>(LiveFrame{std::move(cursor), std::move(message)});
  auto key = std::make_shared<const std::string>(std::move(feed));
  std::vector<Shard*> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& s : shards_) targets.push_back(s.get());
  }
  for (Shard* s : targets) {
    auto task = [s, key, frame] {
      auto it = s->feeds.find(*key);
      if (it == s->feeds.end()) return;
      // deliver() never removes synchronously (sessions leave from their
      // read handler), so the list is stable during the walk.
      const auto& list = it->second;
      for (std::size_t i = 0; i < list.size(); ++i) list[i]->deliver(frame);
    };
    if (s->post) s->post(std::move(task));
    else task();
  }
  return 1;
}

void AlertHub::resyncAll() {
  std::vector<Shard*> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& s : shards_) targets.push_back(s.get());
  }
  for (Shard* s : targets) {
    auto task = [s] {
      for (auto& [_, list] : s->feeds) {
        for (std::size_t i = 0; i < list.size(); ++i) list[i]->resync();
      }
    };
    if (s->post) s->post(std::move(task));
    else task();
  }
}

void AlertHub::clear() {
  std::lock_guard lock(mu_);
  for (auto& s : shards_) s->feeds.clear();
  count_ = 0;
}

std::optional<std::string> broadcastChannelName(const std::map<std::string, std::string>& query, HttpResponse& error) {
  for (const auto& [k, _] : query) {
    if (k != "city" && k != "neighbourhood" && k != "after") {
      error = errorResponse(400, "unknown_parameter", "unknown query parameter '" + k.substr(0, 40) + "'", k.substr(0, 40));
      return std::nullopt;
    }
  }
  auto city = query.find("city");
  if (city == query.end() || city->second.empty()) {
    error = errorResponse(400, "invalid_parameter", "city is required (a city id such as chicago)", "city");
    return std::nullopt;
  }
  const std::string& c = city->second;
  bool slug = c.size() <= 64 && c.front() != '-';
  for (unsigned char ch : c) slug = slug && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
  if (!slug) {
    error = errorResponse(400, "invalid_parameter", "city must be a city id: lower-case letters, digits and '-'", "city");
    return std::nullopt;
  }
  auto n = query.find("neighbourhood");
  if (n == query.end()) return core::live::cityChannelName(c);
  const std::string& name = n->second;
  bool ok = !name.empty() && name.size() <= 128;
  for (unsigned char ch : name) ok = ok && ch >= 0x20 && ch != 0x7f;
  if (!ok) {
    error = errorResponse(400, "invalid_parameter", "neighbourhood must be 1 to 128 characters without control characters",
                          "neighbourhood");
    return std::nullopt;
  }
  return core::live::neighbourhoodChannelName(c, name);
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
