#pragma once
// The processor's loop, batch by batch:
//   poll reports.raw -> decode/validate (core::decodeReport) -> invalid ones
//   to the DLQ -> normalise, dedupe, enrich -> every sink -> commit offsets.
// Offsets are committed only after the DLQ and every sink acknowledged the
// batch. Sinks write a batch in parallel (one task per sink; calls of one
// sink never overlap). A failing sink pauses consumption, marks the processor not ready and
// is retried with exponential backoff until it succeeds or shutdown is
// requested (then nothing is committed and the batch is read again later).
//
// Written against RecordSource, core::MessageSink (DLQ) and ReportSink so the
// same code runs on in-memory fakes (unit tests) and real adapters.
// Threading: run()/runOnce() on one thread; ready()/problem() from any.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
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
  std::size_t batchSize = 5000;                            // messages per batch at most
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
  // Reads and enriches batch N+1 while the sinks write batch N (commits stay
  // in order: N+1 is committed only after N).
  void run();
  // One batch. Returns the number of messages consumed (0 when idle).
  // Returns only when the batch is committed or stop was requested.
  std::size_t runOnce();

  bool ready() const { return ready_.load(); }
  std::string problem() const;

 private:
  // Runs every write (in parallel) until each has succeeded or stop; pauses
  // the source and turns not-ready while any fails, retrying only the failed
  // ones with backoff. False only when stopped before success.
  bool writeAll(const std::vector<std::string>& names, const std::vector<std::function<core::Status()>>& writes,
                std::vector<std::future<core::Status>>* started);

  // A batch read and enriched, not yet written.
  struct Prepared {
    std::size_t consumed = 0;
    SinkBatch batch;
    std::vector<core::OutMessage> deadLetters;
  };
  std::optional<Prepared> prepare();  // poll, validate, enrich; nullopt when idle
  // Writes DLQ + sinks (retrying), then commits. With prepareNext, reads the
  // next batch into ahead_ while the first write attempt runs.
  void deliver(Prepared& p, bool prepareNext);
  // Commits a written batch; false if the commit failed.
  bool commitBatch(const Prepared& p);
  // Rebalance: finish + commit the batch in flight (or leave it to the new
  // owner if a sink failed), drop everything read but not committed.
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
  std::optional<Prepared> ahead_;  // the next batch, read while the current one was written
  core::OffsetMap discarded_;
  // The batch being written (pipeline thread only; the revoke handler runs
  // on it too, inside poll()).
  Prepared* inflight_ = nullptr;
  std::vector<std::future<core::Status>>* inflightFirst_ = nullptr;  // its first attempt, still running
  bool inflightDone_ = false;  // committed or abandoned by a revoke
  std::uint64_t revokeEpoch_ = 0;  // first offset per partition polled (and dropped) while paused
};

}  // namespace safestream::processor
