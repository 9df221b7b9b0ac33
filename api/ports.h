#pragma once
// The domain interfaces the API's handlers are written against. Adapters:
// kafka_report_publisher.cc (Kafka), postgres_store.cc (PostgreSQL),
// redis_state.cc (Redis). Unit tests use in-memory fakes.
//
// Threading: every method may be called concurrently from the worker pool;
// implementations guard their connections. Every call has a timeout inside
// the adapter and reports failure as data (retriable errors -> 503).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/report_query.h"
#include "api/stats_query.h"
#include "core/report.h"
#include "core/result.h"
#include "core/subscription.h"

namespace safestream::api {

class ReportPublisher {
 public:
  virtual ~ReportPublisher() = default;
  // Publishes to reports.raw; `done` runs exactly once (any thread) after the
  // broker acknowledged with acks=all, or with the error.
  virtual void publish(const core::Report& report, std::function<void(core::Status)> done) = 0;
};

class ReportStore {
 public:
  virtual ~ReportStore() = default;
  virtual core::Result<std::optional<PublicReport>> get(const std::string& id) = 0;
  virtual core::Result<ReportPage> query(const ReportQuery& q) = 0;
};

// Near-duplicate links (reports.duplicate_of, set by the processor's dedupe
// window: same category, within its radius and time window). A duplicate
// links to its group's root; a root lists the reports linked to it.
struct DuplicateRef {
  std::string id;
  std::string source;                       // "" when the row is not stored (any more)
  std::optional<core::Timestamp> occurredAt;
};
struct DuplicateLinks {
  std::optional<DuplicateRef> duplicateOf;  // set when the report is a duplicate
  std::vector<DuplicateRef> duplicates;     // of a root: oldest first (occurred_at, id)
  bool more = false;                        // more duplicates than `limit`
};
class DuplicateStore {
 public:
  virtual ~DuplicateStore() = default;
  // The links of report `reportId` (none for an unknown id), at most
  // `limit` duplicates. One statement on reports_duplicate_of_idx (0711),
  // bounded by the statement timeout.
  virtual core::Result<DuplicateLinks> links(const std::string& reportId, int limit) = 0;
};

// The dashboard's statistics: runs statsSql(request) and hands back its rows
// (columns per kind, see StatsRow). Bounded by the statement timeout.
class StatsStore {
 public:
  virtual ~StatsStore() = default;
  virtual core::Result<std::vector<StatsRow>> stats(const StatsRequest& request) = 0;
};

// The configured cities (deploy/cities.json through core/cities), as the API
// shows them. Immutable after construction: safe from any thread.
struct CityView {
  std::string id;    // "chicago"
  std::string name;  // "Chicago"
  std::string zone;  // "America/Chicago"
  BoundingBox bbox;
  std::vector<std::string> neighbourhoods;  // the boundary file's names, file order
};
struct CityBoundaries {
  std::string geojson;  // FeatureCollection; each feature's properties {"city","name"}
  std::string gzip;     // the same, gzipped once
  std::string etag;
};
class CityDirectory {
 public:
  virtual ~CityDirectory() = default;
  virtual const std::vector<CityView>& cities() const = 0;
  // Null when the city is unknown or has no boundary file.
  virtual const CityBoundaries* boundaries(const std::string& cityId) const = 0;
};

class SubscriptionStore {
 public:
  virtual ~SubscriptionStore() = default;
  virtual core::Status create(const core::Subscription& s) = 0;
  virtual core::Result<std::optional<core::Subscription>> get(const std::string& id) = 0;
  // Replaces the filters and area of an existing row; false if it is gone.
  virtual core::Result<bool> update(const core::Subscription& s) = 0;
  virtual core::Result<bool> remove(const std::string& id) = 0;
};

struct RateDecision {
  bool allowed = true;
  int retryAfterSeconds = 0;
  long long remaining = 0;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes one token from the bucket of `clientKey`.
  virtual core::Result<RateDecision> take(const std::string& clientKey) = 0;
  // The same without waiting: `done` runs exactly once, on any thread (the
  // Redis adapter batches the checks of concurrent requests into one round
  // trip and runs `done` on its own thread). The default calls take().
  virtual void takeAsync(const std::string& clientKey, std::function<void(core::Result<RateDecision>)> done) {
    done(take(clientKey));
  }
};

// Stored outcome of a request made with an Idempotency-Key.
struct StoredResponse {
  std::string fingerprint;  // of the request body: another body with the same key is refused
  bool pending = true;      // the first request is still being processed
  int status = 0;
  std::string body;
  std::string location;
};

class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;
  // Reserves `key` for this request (returns nullopt), or returns what is
  // already stored under it.
  virtual core::Result<std::optional<StoredResponse>> reserve(const std::string& key, const std::string& fingerprint) = 0;
  virtual core::Status complete(const std::string& key, const StoredResponse& response) = 0;
  // Frees the key after a failure so the client's retry can try again.
  virtual core::Status release(const std::string& key) = 0;
};

struct AlertEntry {
  std::string cursor;  // Redis stream entry id
  std::string json;    // the alert JSON as published (with "cursor" added)
};

class AlertHistory {
 public:
  virtual ~AlertHistory() = default;
  // `feed` is the feed's Redis stream key (core/live_feed.h: a
  // subscription's alerts or a broadcast channel).
  // Entries strictly after `after` ("" or "0": from the start), oldest first.
  virtual core::Result<std::vector<AlertEntry>> after(const std::string& feed, const std::string& after,
                                                      int limit) = 0;
  // The newest entry id, or "0" when the stream is empty: where a live
  // connection without a cursor starts, so a reconnect of the listener can
  // re-read from there.
  virtual core::Result<std::string> lastCursor(const std::string& feed) = 0;
};

// Readiness of a dependency for /readyz (cached state, quick).
using ReadinessProbe = std::function<std::optional<std::string>()>;  // problem text, or nullopt when fine

}  // namespace safestream::api
