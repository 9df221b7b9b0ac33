#pragma once
// Polls every configured source on its schedule: one worker thread per source
// (a failing or slow source never holds up the others), each target (area,
// tile or ZIP) polled every poll_interval within the source's rate limit and
// daily quota. A poll: fetch with retries -> parse -> skip what was already
// published -> publish and wait for acks -> advance the checkpoint. Bad
// records are counted and logged once; a failed poll is counted and retried
// at the next interval (or when Retry-After says).
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "ingest/area_context_store.h"
#include "ingest/checkpoint_store.h"
#include "ingest/http_client.h"
#include "ingest/ingest_metrics.h"
#include "ingest/publisher.h"
#include "ingest/sources_config.h"

namespace safestream::ingest {

struct PollReport {
  bool ok = false;
  std::string error;  // when !ok: code and message
  std::size_t fetched = 0, published = 0, skipped = 0, rejected = 0;
  std::optional<std::chrono::milliseconds> notBefore;  // the source asked us to wait
};

// Returns true when the wait ended because shutdown was requested.
using StopWaiter = std::function<bool(std::chrono::milliseconds)>;

class Scheduler {
 public:
  struct Deps {
    HttpClient& http;
    Publisher& publisher;
    CheckpointStore& checkpoints;
    AreaContextStore* areaContext;  // may be null when no source needs it
    IngestMetrics& metrics;
    const core::Clock& clock;
  };
  Scheduler(SourcesConfig config, Deps deps, StopWaiter waitForStop);
  ~Scheduler();

  // Blocks: runs the per-source workers until waitForStop reports shutdown;
  // joins them (each finishes its current request first, bounded by its timeout).
  void run();
  // One poll of one target, on the calling thread (tests, and the workers).
  PollReport pollOnce(std::size_t source, std::size_t target);
  std::size_t sourceCount() const;
  std::size_t targetCount(std::size_t source) const;
  std::string targetKey(std::size_t source, std::size_t target) const;
  // Polls completed (ok or not) since start, for readiness and tests.
  std::uint64_t pollsDone() const { return polls_.load(); }

 private:
  struct SourceState;
  SourcesConfig config_;
  Deps deps_;
  StopWaiter waitForStop_;
  std::vector<std::unique_ptr<SourceState>> sources_;
  std::atomic<std::uint64_t> polls_{0};
};

}  // namespace safestream::ingest
