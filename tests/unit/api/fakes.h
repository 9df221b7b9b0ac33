#pragma once
// In-memory fakes behind api/ports.h for handler unit tests.
#include <map>
#include <mutex>

#include "api/api_service.h"
#include "api/ports.h"

namespace safestream::api::testing {

// A GET through the service as the server hands it over; behind the fakes
// it is answered before handle() returns.
inline HttpResponse handleGet(ApiService& service, const std::string& path, std::map<std::string, std::string> headers = {},
                              const std::string& query = "") {
  HttpRequest req;
  req.method = "GET";
  req.path = path;
  req.query = query;
  req.headers = std::move(headers);
  HttpResponse out;
  service.handle(req, [&](HttpResponse r) { out = std::move(r); });
  return out;
}

class FakePublisher : public ReportPublisher {
 public:
  void publish(const core::Report& report, std::function<void(core::Status)> done) override {
    std::lock_guard lock(mu);
    if (fail) return done(core::makeError("kafka", "broker down", "", true));
    published.push_back(report);
    done(core::okStatus());
  }
  std::mutex mu;
  std::vector<core::Report> published;
  bool fail = false;
};

class FakeReportStore : public ReportStore {
 public:
  core::Result<std::optional<PublicReport>> get(const std::string& id) override {
    for (const auto& r : rows) if (r.id == id) return std::optional<PublicReport>(r);
    return std::optional<PublicReport>();
  }
  core::Result<ReportPage> query(const ReportQuery& q) override {
    lastQuery = q;
    ++queries;
    ReportPage p;
    for (const auto& r : rows) if (static_cast<int>(p.reports.size()) < q.limit) p.reports.push_back(r);
    return p;
  }
  std::vector<PublicReport> rows;
  std::optional<ReportQuery> lastQuery;
  int queries = 0;
};

// Links by report id, as the processor would have set duplicate_of.
class FakeDuplicateStore : public DuplicateStore {
 public:
  core::Result<DuplicateLinks> links(const std::string& id, int limit) override {
    lastLimit = limit;
    if (fail) return core::makeError("postgres_unreachable", "down", "", true);
    DuplicateLinks out;
    if (auto it = rootOf.find(id); it != rootOf.end()) out.duplicateOf = DuplicateRef{it->second, "citizen", std::nullopt};
    for (const auto& [dup, root] : rootOf) {
      if (root != id) continue;
      if (static_cast<int>(out.duplicates.size()) == limit) {
        out.more = true;
        break;
      }
      out.duplicates.push_back(DuplicateRef{dup, "spotcrime", std::nullopt});
    }
    return out;
  }
  std::map<std::string, std::string> rootOf;  // duplicate id -> root id
  bool fail = false;
  int lastLimit = 0;
};

class FakeSubscriptionStore : public SubscriptionStore {
 public:
  core::Status create(const core::Subscription& s) override { rows[s.id] = s; return core::okStatus(); }
  core::Result<std::optional<core::Subscription>> get(const std::string& id) override {
    auto it = rows.find(id);
    if (it == rows.end()) return std::optional<core::Subscription>();
    return std::optional<core::Subscription>(it->second);
  }
  core::Result<bool> update(const core::Subscription& s) override {
    if (!rows.count(s.id)) return false;
    rows[s.id] = s;
    return true;
  }
  core::Result<bool> remove(const std::string& id) override { return rows.erase(id) > 0; }
  std::map<std::string, core::Subscription> rows;
};

class FakeRateLimiter : public RateLimiter {
 public:
  core::Result<RateDecision> take(const std::string& key) override {
    if (down) return core::makeError("redis_unreachable", "down", "", true);
    long long& used = counts[key];
    if (used >= capacity) return RateDecision{false, 7, 0};
    ++used;
    return RateDecision{true, 0, capacity - used};
  }
  // deferred: takeAsync() keeps its callbacks in `pending` until the test
  // runs them, as the Redis batcher answers later on its own thread.
  void takeAsync(const std::string& key, std::function<void(core::Result<RateDecision>)> done) override {
    if (!deferred) return done(take(key));
    pending.push_back([this, key, done = std::move(done)] { done(take(key)); });
  }
  std::map<std::string, long long> counts;
  long long capacity = 1000;
  bool down = false;
  bool deferred = false;
  std::vector<std::function<void()>> pending;
};

class FakeIdempotencyStore : public IdempotencyStore {
 public:
  core::Result<std::optional<StoredResponse>> reserve(const std::string& key, const std::string& fp) override {
    auto it = rows.find(key);
    if (it != rows.end()) return std::optional<StoredResponse>(it->second);
    rows[key] = StoredResponse{fp, true, 0, "", ""};
    return std::optional<StoredResponse>();
  }
  core::Status complete(const std::string& key, const StoredResponse& r) override { rows[key] = r; return core::okStatus(); }
  core::Status release(const std::string& key) override { rows.erase(key); return core::okStatus(); }
  std::map<std::string, StoredResponse> rows;
};

class FakeAlertHistory : public AlertHistory {
 public:
  core::Result<std::vector<AlertEntry>> after(const std::string& sub, const std::string& after, int limit) override {
    std::vector<AlertEntry> out;
    for (const auto& e : entries[sub]) {
      if (!after.empty() && after != "0" && e.cursor <= after) continue;
      if (static_cast<int>(out.size()) < limit) out.push_back(e);
    }
    return out;
  }
  core::Result<std::string> lastCursor(const std::string& sub) override {
    return entries[sub].empty() ? std::string("0") : entries[sub].back().cursor;
  }
  std::map<std::string, std::vector<AlertEntry>> entries;
};

class FixedClock : public core::Clock {
 public:
  core::Timestamp now() const override { return t; }
  core::Timestamp t = core::parseTimestamp("2026-11-22T12:00:00Z").value();
};

}  // namespace safestream::api::testing
