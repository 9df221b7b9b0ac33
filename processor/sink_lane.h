#pragma once
// One sink's lane: its own thread, its own bounded queue of immutable
// batches (shared with the other lanes, never copied), its own retry with
// exponential backoff, and the offset per partition up to which its writes
// are durable (`durable()`, read by the pipeline for the commit rule of
// processor/commit_rule.h). Lanes never wait for each other.
//
//   push ─► [queue: BatchPtr …] ─► thread: take up to maxBatchReports ─► sink.writeAll
//                                   (once the oldest is `linger` old, or maxBatchReports are queued,
//                                    or a drain is asked)
//                                            │ ok: written ≤ offsets, capped by sink.pending()
//                                            │ error: failing, back off (clock), retry the same batches
//                                  idle: sink.tick(now) every tickInterval; on request, sink.flush
//
// Time comes from the injected clock only (backoff due times, ticks); the
// thread waits in short slices and re-reads the clock, so a test clock that
// does not move holds retries and ticks.
//
// Threading: push/full/durable/failing/problem/requestDrain/drained/revoke
// from the pipeline thread (any thread, in fact: all under the lane's lock);
// every sink call from the lane's thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/time.h"
#include "processor/processor_metrics.h"
#include "processor/report_sink.h"

namespace safestream::processor {

struct LaneSettings {
  std::size_t maxBatchReports = 10000;  // messages per sink write at most (queued batches merged up to it)
  std::size_t queueReports = 50000;     // capacity in messages; the pipeline pauses consumption when full
  std::chrono::milliseconds backoffInitial{200};
  std::chrono::milliseconds backoffMax{10000};
  std::chrono::milliseconds tickInterval{1000};  // how often an idle lane calls sink.tick
  std::chrono::milliseconds flushTimeout{10000};
  // How long queued reports may wait for more to join them in one write
  // (by the injected clock; a full batch or a drain does not wait). A sink
  // whose every write has a fixed cost (a PostgreSQL transaction and its
  // commit, a Kafka produce batch) makes fewer, bigger writes at low rates
  // and leaves the CPU to the lanes a person waits for; under load writes
  // are longer than this anyway. Zero: write as soon as anything is queued.
  std::chrono::milliseconds linger{0};
};

class SinkLane {
 public:
  // `onProgress` runs on the lane thread after anything the pipeline waits
  // for changed (durable offsets, queue room, failing state, drain done).
  SinkLane(ReportSink& sink, const core::Clock& clock, ProcessorMetrics& metrics, LaneSettings settings,
           std::function<void()> onProgress = {});
  ~SinkLane();  // stops the thread after the sink call in hand
  SinkLane(const SinkLane&) = delete;
  SinkLane& operator=(const SinkLane&) = delete;

  const std::string& name() const { return name_; }
  void push(BatchPtr batch);  // never blocks: capacity is checked by the pipeline (full())
  bool full() const;
  std::size_t queuedMessages() const;
  core::OffsetMap durable() const;
  bool failing() const;
  std::string problem() const;
  // Write everything queued, then flush the sink; drained() is true once
  // that is done and nothing was pushed after it. A failing lane keeps
  // retrying (with backoff) meanwhile.
  void requestDrain();
  bool drained() const;
  // A rebalance: drops everything queued, forgets the durable offsets (the
  // pipeline forgets its commits with them), and has the sink drop what it
  // holds (partitionsRevoked, from the lane thread, after the call in hand).
  // revoked() is true once the lane thread did that.
  void revoke();
  bool revoked() const;

 private:
  void loop();
  std::size_t messagesOf(const SinkBatch& b) const;
  void publishDurable(const core::OffsetMap& written, std::uint64_t epoch);
  void fail(const core::Error& e, std::uint64_t epoch);
  void recovered(std::uint64_t epoch);
  void progress();

  ReportSink& sink_;
  const std::string name_;
  const core::Clock& clock_;
  ProcessorMetrics& metrics_;
  const LaneSettings settings_;
  std::function<void()> onProgress_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Queued {
    BatchPtr batch;
    core::Timestamp at;  // when pushed (injected clock)
  };
  std::deque<Queued> queue_;
  std::size_t queued_ = 0;  // messages in queue_
  core::OffsetMap durable_;
  bool failing_ = false;
  std::string problem_;
  bool drainWanted_ = false, drainDone_ = false;
  std::uint64_t epoch_ = 0;        // counts revokes
  std::uint64_t laneEpoch_ = 0;    // the last revoke the lane thread carried out
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above is set up
};

}  // namespace safestream::processor
