#pragma once
// The processor's loop, as sink lanes:
//
//   reports.raw ─► poll ─► decode/validate ─► enrich ─► BatchPtr (immutable, shared)
//                                                          │ pushed to every lane, never copied
//        ┌──────────────┬──────────────┬───────────────────┼───────────────┬──────────────┐
//        ▼              ▼              ▼                   ▼               ▼              ▼
//     dlq lane      alerts lane   postgres lane        s3 lane       kafka_enriched   (more sinks)
//     (own thread, queue, retry; each publishes durable offsets per partition)
//        └──────────────┴──────────────┴─── commit = min over lanes of durable ─┴──────────────┘
//
// Every poll's messages go to the lanes at once (a lane takes what is
// queued, merged up to --batch-size, whenever it is free), so the alert
// lane sees a report milliseconds after it was consumed, whatever
// PostgreSQL or S3 are doing. The offsets committed per partition are the
// lowest every lane made durable (processor/commit_rule.h), at most every
// commitInterval. A failing lane retries with backoff and marks the
// processor not ready; consumption pauses only when some lane's queue is
// full (and resumes when every queue is below half). On a rebalance and on
// shutdown each lane flushes what it can within flushTimeout, the durable
// prefix is committed, and the rest is read again (by the next owner).
//
// Written against RecordSource, core::MessageSink (DLQ) and ReportSink so the
// same code runs on in-memory fakes (unit tests) and real adapters. Time
// comes from the injected clock only.
// Threading: run()/runOnce() on one thread (the revoke handler runs on it,
// inside poll); ready()/problem()/laneDurable() from any.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/report_codec.h"
#include "core/time.h"
#include "processor/dead_letter.h"
#include "processor/enricher.h"
#include "processor/processor_metrics.h"
#include "processor/record_source.h"
#include "processor/report_sink.h"
#include "processor/sink_lane.h"

namespace safestream::processor {

struct PipelineSettings {
  std::size_t batchSize = 10000;                 // messages per sink write at most (PostgreSQL: one transaction)
  std::size_t pollMax = 1000;                    // messages handed to the lanes per poll at most
  std::chrono::milliseconds pollTimeout{200};    // idle wait per poll
  std::chrono::milliseconds backoffInitial{200};  // first retry delay of a failing lane
  std::chrono::milliseconds backoffMax{10000};
  std::chrono::milliseconds flushTimeout{10000};  // rebalance / shutdown: how long lanes may flush
  std::chrono::milliseconds dlqTimeout{30000};    // DLQ delivery wait
  std::chrono::milliseconds commitInterval{100};  // one offset commit this often at most while running
  std::chrono::milliseconds tickInterval{1000};   // idle lanes let their sinks close what is due this often
  std::chrono::milliseconds pauseAfter{1000};     // a full lane this long pauses the partitions (else: just wait)
  std::size_t laneQueueMessages = 50000;          // per lane; consumption pauses when one is full
  // Per lane (a sink's name, or "dlq"): how long queued reports wait for
  // more to join their write (LaneSettings::linger); lanes not named: 0.
  std::map<std::string, std::chrono::milliseconds> laneLinger;
  std::size_t maxMessageBytes = 1 << 20;          // larger messages go to the DLQ (too_large)
  std::string dlqTopic = "reports.dlq";
};

class Pipeline {
 public:
  // Everything passed by reference must outlive the pipeline. `stop` is
  // polled between steps. The DLQ gets a lane of its own (named "dlq").
  Pipeline(RecordSource& source, core::MessageSink& dlq, std::vector<ReportSink*> sinks, Enricher& enricher,
           const core::Clock& clock, ProcessorMetrics& metrics, PipelineSettings settings,
           std::function<bool()> stop);
  ~Pipeline();

  // Loops until stop; then every lane flushes (bounded by flushTimeout) and
  // the durable prefix is committed.
  void run();
  // One poll, handed to the lanes, drained by every lane and committed.
  // Returns the number of messages consumed (0 when idle). Returns only
  // when that is committed or stop was requested.
  std::size_t runOnce();

  bool ready() const;  // no lane is failing
  std::string problem() const;
  // Lane state, for tests and readiness: durable offsets of the lane named
  // `lane` (a sink's name, or "dlq"); what was committed last.
  core::OffsetMap laneDurable(const std::string& lane) const;
  bool laneFailing(const std::string& lane) const;
  core::OffsetMap committed() const;
  bool paused() const { return paused_.load(); }

 private:
  void step();
  BatchPtr prepare(std::vector<core::InMessage>& msgs);
  void dispatch(const BatchPtr& batch);
  // The commit rule applied: commits what every lane made durable and was
  // not committed yet. `force` ignores commitInterval.
  void commitDurable(bool force);
  // Every lane writes what it holds and flushes, until done or `deadline`
  // (on the injected clock); `untilStop` waits without deadline instead,
  // until done or stop.
  bool drainLanes(core::Timestamp deadline, bool untilStop = false);
  void onRevoked();
  void rewindDropped(const std::vector<core::InMessage>& dropped);
  void updateReadiness();  // the ready gauge; from any thread
  bool anyLaneFull() const;
  bool everyLaneBelowHalf() const;
  void waitForProgress(std::chrono::milliseconds atMost);
  SinkLane* lane(const std::string& name) const;

  RecordSource& source_;
  Enricher& enricher_;
  const core::Clock& clock_;
  ProcessorMetrics& metrics_;
  PipelineSettings settings_;
  std::function<bool()> stop_;
  DeadLetterSink dlqSink_;
  std::atomic<bool> paused_{false};
  std::mutex readyMu_;
  bool lanesReady_ = false;  // lanes_ complete and alive: lane threads may read it (under readyMu_)

  std::mutex progressMu_;
  std::condition_variable progressCv_;
  std::uint64_t progressSeq_ = 0;

  mutable std::mutex committedMu_;
  core::OffsetMap committed_;          // what was committed last, per partition
  std::deque<BatchPtr> uncommitted_;   // dispatched, not yet wholly committed (for ingest_to_commit)
  core::Timestamp lastCommitAt_{};
  core::Timestamp blockedSince_{};
  bool blocked_ = false;
  core::OffsetMap discarded_;          // first offset per partition polled (and dropped) while paused
  std::uint64_t revokeEpoch_ = 0;      // counts revokes, so a poll can tell one happened inside it
  std::vector<std::unique_ptr<SinkLane>> lanes_;  // last: their threads stop first
};

}  // namespace safestream::processor
