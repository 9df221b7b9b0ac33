#pragma once
// The processor's loop, batch by batch:
//   poll reports.raw -> decode/validate (core::decodeReport) -> invalid ones
//   to the DLQ -> normalise, dedupe, enrich -> every sink -> commit offsets.
// Offsets are committed only after the DLQ and every sink acknowledged the
// batch. Sinks write a batch in parallel (one task per sink; calls of one
// sink never overlap, and each sink sees the batches in order). Up to two
// batches are in flight: a sink starts batch N+1 as soon as it has written
// N (a sink that asks for it, after N's commit), so the slowest sink writes
// back to back instead of waiting for the others at every batch. A failing
// sink pauses consumption, marks the processor not ready and is retried
// with exponential backoff until it succeeds or shutdown is requested (then
// nothing is committed and the batch is read again later).
//
// Written against RecordSource, core::MessageSink (DLQ) and ReportSink so the
// same code runs on in-memory fakes (unit tests) and real adapters.
// Threading: run()/runOnce() on one thread; ready()/problem() from any.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/report_codec.h"
#include "core/time.h"
#include "processor/enricher.h"
#include "processor/processor_metrics.h"
#include "processor/record_source.h"
#include "processor/report_sink.h"

namespace safestream::processor {

struct PipelineSettings {
  std::size_t batchSize = 10000;                           // messages per batch at most
  std::chrono::milliseconds batchTimeout{500};             // a batch closes this long after its first message
  std::chrono::milliseconds pollTimeout{200};              // idle wait per poll
  std::chrono::milliseconds backoffInitial{200};           // first retry delay of a failing sink
  std::chrono::milliseconds backoffMax{10000};
  std::chrono::milliseconds flushTimeout{10000};           // per sink on shutdown
  std::chrono::milliseconds dlqTimeout{30000};             // DLQ delivery wait
  std::size_t maxMessageBytes = 1 << 20;                   // larger messages go to the DLQ (too_large)
  std::string dlqTopic = "reports.dlq";
};

class Pipeline {
 public:
  // Everything passed by reference must outlive the pipeline. `stop` is
  // polled between steps and during backoff.
  Pipeline(RecordSource& source, core::MessageSink& dlq, std::vector<ReportSink*> sinks, Enricher& enricher,
           const core::Clock& clock, ProcessorMetrics& metrics, PipelineSettings settings,
           std::function<bool()> stop);

  // Loops until stop; then flushes every sink (bounded by flushTimeout).
  // Reads and enriches batch N+1 while the sinks write batch N, and starts
  // N+1's writes before N is committed (commits stay in order: N+1 is
  // committed only after N).
  void run();
  // One batch. Returns the number of messages consumed (0 when idle).
  // Returns only when the batch is committed or stop was requested.
  std::size_t runOnce();

  bool ready() const { return ready_.load(); }
  std::string problem() const;

 private:
  // A batch read and enriched, then written: each write (DLQ, every sink)
  // is one attempt of that write; `first` are the first attempts, started
  // by start() (possibly chained behind the previous batch's).
  struct Prepared {
    std::size_t consumed = 0;
    SinkBatch batch;
    std::vector<core::OutMessage> deadLetters;
    std::vector<std::string> names;
    std::vector<const ReportSink*> sinks;  // per write; null for the DLQ
    std::vector<std::function<core::Status()>> writes;
    std::vector<std::shared_future<core::Status>> first;
    bool firstPending = false;  // `first` not yet taken over by writeAll
    bool done = false;          // committed or abandoned
    std::promise<bool> settled;  // set once: true committed, false not
    std::shared_future<bool> settledFuture = settled.get_future().share();
    void settle(bool committed) {
      if (!isSettled) settled.set_value(committed);
      isSettled = true;
    }
    bool isSettled = false;
  };
  std::unique_ptr<Prepared> prepare();  // poll, validate, enrich; null when idle
  // Starts the first attempt of every write, each behind the same write of
  // `previous` (still in flight) when given.
  void start(Prepared& p, Prepared* previous);
  // Retries what failed (pausing the source, backing off) until every write
  // succeeded, then commits.
  enum class Outcome { committed, writtenNotCommitted, notWritten };
  Outcome finish(Prepared& p);
  // A started batch that must not be committed (the one before it was not
  // written): waits for its first attempts, then drops it; it is read again.
  void abandon(Prepared& p);
  void leaveInflight(Prepared& p);
  // Waits for the first attempts (or retries the failed ones with backoff
  // while the source is paused and the processor not ready) until each
  // write has succeeded or stop. False only when stopped or handed over.
  bool writeAll(Prepared& p);
  // Commits a written batch; false if the commit failed.
  bool commitBatch(const Prepared& p);
  // Rebalance: finish + commit the batches in flight whose writes all
  // succeeded (or leave them to the new owner), drop everything read but
  // not committed.
  void onRevoked();
  void rewindDropped(const std::vector<core::InMessage>& dropped);
  void setProblem(const std::string& p);

  RecordSource& source_;
  core::MessageSink& dlq_;
  std::vector<ReportSink*> sinks_;
  Enricher& enricher_;
  const core::Clock& clock_;
  ProcessorMetrics& metrics_;
  PipelineSettings settings_;
  std::function<bool()> stop_;
  std::atomic<bool> ready_{true};
  mutable std::mutex problemMu_;
  std::string problem_;
  core::OffsetMap discarded_;  // first offset per partition polled (and dropped) while paused
  // The batches in flight, oldest first (pipeline thread only; the revoke
  // handler runs on it too, inside poll()).
  Prepared* inflight_ = nullptr;
  Prepared* inflightNext_ = nullptr;
  std::uint64_t revokeEpoch_ = 0;  // counts revokes, so a poll can tell one happened inside it
};

}  // namespace safestream::processor
