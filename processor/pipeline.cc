#include "processor/pipeline.h"

#include <algorithm>
#include <future>
#include <thread>

#include "core/log.h"
#include "core/metrics.h"
#include "processor/dead_letter.h"

namespace safestream::processor {
Pipeline::Pipeline(RecordSource& source, core::MessageSink& dlq, std::vector<ReportSink*> sinks, Enricher& enricher,
                   const core::Clock& clock, ProcessorMetrics& metrics, PipelineSettings settings,
                   std::function<bool()> stop)
    : source_(source),
      dlq_(dlq),
      sinks_(std::move(sinks)),
      enricher_(enricher),
      clock_(clock),
      metrics_(metrics),
      settings_(std::move(settings)),
      stop_(std::move(stop)) {
  metrics_.ready.Set(1);
  source_.setRevokeHandler([this] { onRevoked(); });
}

namespace {
// Lowers each partition's entry in `first` to the smallest offset among `msgs`.
void noteFirstOffsets(core::OffsetMap& first, const std::vector<core::InMessage>& msgs) {
  for (const auto& m : msgs) {
    auto [it, fresh] = first.try_emplace({m.topic, m.partition}, m.offset);
    if (!fresh) it->second = std::min(it->second, m.offset);
  }
}
}  // namespace

void Pipeline::rewindDropped(const std::vector<core::InMessage>& dropped) {
  // The same poll may have run the revoke and then fetched from the new
  // assignment (starting at the committed offsets): those messages are
  // dropped here, so the partitions are rewound to them. Seeking a partition
  // no longer assigned fails harmlessly.
  core::OffsetMap first;
  noteFirstOffsets(first, dropped);
  for (const auto& [tp, off] : first) {
    if (auto s = source_.seek({{tp, off}}); !s.ok()) {
      core::log::debug("rewind_skipped", {{"partition", tp.partition}, {"error", s.error().message}});
    }
  }
}

void Pipeline::onRevoked() {
  ++revokeEpoch_;
  // Told last, once no write of theirs is running any more.
  struct Tell {
    Pipeline* self;
    ~Tell() {
      for (auto* sink : self->sinks_) sink->partitionsRevoked();
    }
  } tell{this};
  discarded_.clear();
  // The partitions are handed over with every batch in flight either
  // committed or left whole to the new owner (the sinks are idempotent):
  // never half-written under a commit. Only batches whose first attempts all
  // succeeded are committed here; retrying a failing sink here would race
  // with the new owner.
  bool previousCommitted = true;
  for (Prepared* p : {inflight_, inflightNext_}) {
    if (!p || p->done) continue;
    bool ok = p->firstPending && previousCommitted;
    if (p->firstPending) {
      for (auto& f : p->first) {
        try {
          if (!f.get().ok()) ok = false;
        } catch (const std::exception&) {
          ok = false;
        }
      }
      p->firstPending = false;
    }
    const bool committed = ok && commitBatch(*p);
    if (!committed) core::log::warn("batch_left_to_new_owner", {{"reports", p->batch.reports.size()}});
    p->done = true;
    p->settle(committed);  // releases the next batch's writes waiting for this commit
    previousCommitted = committed;
  }
}

std::string Pipeline::problem() const {
  std::lock_guard<std::mutex> lock(problemMu_);
  return problem_;
}

void Pipeline::setProblem(const std::string& p) {
  std::lock_guard<std::mutex> lock(problemMu_);
  problem_ = p;
}

namespace {
constexpr const char* kPredecessorFailed = "predecessor_failed";
}  // namespace

bool Pipeline::writeAll(Prepared& p) {
  std::vector<std::size_t> pending(p.writes.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  auto delay = settings_.backoffInitial;
  bool paused = false;
  bool firstRound = true;
  while (true) {
    // Sinks are independent, so they write in parallel: a batch costs the
    // slowest sink, not the sum. Calls of one sink never overlap.
    std::vector<std::shared_future<core::Status>> running;
    if (firstRound) {
      running = p.first;  // the first attempts, already under way
      p.firstPending = false;
      firstRound = false;
    } else {
      running.reserve(pending.size());
      for (auto i : pending) running.push_back(std::async(std::launch::async, p.writes[i]).share());
    }
    std::vector<std::size_t> failed;
    bool onlyWaiting = true;  // every failure is a write that waited for a failed predecessor
    std::string firstProblem;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      core::Status s = core::makeError("sink_threw", "sink threw an exception", "", true);
      try {
        s = running[k].get();
      } catch (const std::exception& e) {
        s = core::makeError("sink_threw", std::string("sink threw: ") + e.what(), "", true);
      }
      if (s.ok()) continue;
      failed.push_back(pending[k]);
      // Not written because the previous batch's write failed first (that
      // one was retried until it succeeded): not a failure of its own.
      if (s.error().code == kPredecessorFailed) continue;
      onlyWaiting = false;
      const std::string& what = p.names[pending[k]];
      metrics_.sinkErrors(what).Increment();
      core::log::warn("sink_write_failed", {{"sink", what},
                                            {"error", s.error().message},
                                            {"retriable", s.error().retriable},
                                            {"retry_in_ms", static_cast<long long>(delay.count())}});
      if (firstProblem.empty()) firstProblem = what + ": " + s.error().message;
    }
    if (failed.empty()) break;
    pending = std::move(failed);  // only the writes that failed run again
    if (onlyWaiting) continue;    // at once: their predecessors are written by now
    setProblem(firstProblem);
    if (!paused) {
      // Stop fetching while we cannot write; the batch in hand is retried.
      source_.pause();
      paused = true;
      ready_.store(false);
      metrics_.ready.Set(0);
    }
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
      if (stop_()) return false;
      // Keeps the group membership alive (rebalance callbacks run inside
      // poll). Partitions are paused, so nothing should arrive; if anything
      // does, it is dropped here and re-read through the seek after the batch.
      const std::uint64_t epoch = revokeEpoch_;
      auto stray = source_.poll(16, std::chrono::milliseconds(50));
      if (revokeEpoch_ != epoch) {  // rebalanced: the batch went to the new owner
        rewindDropped(stray);
        break;
      }
      noteFirstOffsets(discarded_, stray);
    }
    if (p.done) break;
    delay = std::min(delay * 2, settings_.backoffMax);
  }
  if (paused) {
    source_.resume();
    ready_.store(true);
    metrics_.ready.Set(1);
    setProblem("");
    core::log::info("sinks_recovered", {});
  }
  return !p.done;
}

std::size_t Pipeline::runOnce() {
  std::unique_ptr<Prepared> p = prepare();
  if (!p) return 0;
  start(*p, nullptr);
  finish(*p);
  return p->consumed;
}

void Pipeline::run() {
  std::unique_ptr<Prepared> current;
  while (!stop_()) {
    if (!current) {
      current = prepare();
      if (!current) continue;
      start(*current, nullptr);
    }
    // While the sinks write this batch, the next one is read, enriched and
    // started: each of its writes waits only for the same sink's write of
    // this batch.
    std::unique_ptr<Prepared> next;
    if (!stop_()) next = prepare();
    if (next) start(*next, current->done ? nullptr : current.get());
    const Outcome outcome = finish(*current);
    current = std::move(next);
    if (!current) continue;
    // Offsets are committed in order, so a batch after one that was not
    // written is not committed either: both are read again.
    if (outcome == Outcome::notWritten) abandon(*current);
    if (current->done) current.reset();
  }
  if (current) finish(*current);  // started before the stop: written and committed, or read again later
  // Every batch is written before its commit, so there is no half-written
  // batch here; flush lets sinks release connections cleanly.
  for (auto* sink : sinks_) {
    if (auto s = sink->flush(settings_.flushTimeout); !s.ok()) {
      core::log::warn("sink_flush_failed", {{"sink", sink->name()}, {"error", s.error().message}});
    }
  }
}

std::unique_ptr<Pipeline::Prepared> Pipeline::prepare() {
  // ---- 1. collect a batch: up to batchSize, closed batchTimeout after its first message
  const std::uint64_t epoch = revokeEpoch_;
  std::vector<core::InMessage> msgs = source_.poll(settings_.batchSize, settings_.pollTimeout);
  if (revokeEpoch_ != epoch) {
    rewindDropped(msgs);  // a rebalance: what was read is read again
    return nullptr;
  }
  if (msgs.empty()) {
    for (const auto& [tp, lag] : source_.lag()) metrics_.lag(tp).Set(static_cast<double>(lag));
    return nullptr;
  }
  const auto closeAt = std::chrono::steady_clock::now() + settings_.batchTimeout;
  while (msgs.size() < settings_.batchSize && !stop_()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(closeAt - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto more = source_.poll(settings_.batchSize - msgs.size(), std::min(left, settings_.pollTimeout));
    if (revokeEpoch_ != epoch) {
      msgs.insert(msgs.end(), more.begin(), more.end());
      rewindDropped(msgs);
      return nullptr;
    }
    if (more.empty() && left < settings_.pollTimeout) break;
    std::move(more.begin(), more.end(), std::back_inserter(msgs));
  }
  metrics_.consumed.Increment(static_cast<double>(msgs.size()));

  // ---- 2. validate, normalise, dedupe, enrich
  auto out = std::make_unique<Prepared>();
  out->consumed = msgs.size();
  SinkBatch& batch = out->batch;
  std::vector<core::OutMessage>& deadLetters = out->deadLetters;
  std::map<core::TopicPartition, SinkBatch::Range> ranges;
  const core::Timestamp now = clock_.now();
  core::DecodeOptions decode;
  decode.maxBytes = settings_.maxMessageBytes;
  decode.now = now;
  batch.reports.reserve(msgs.size());
  for (const auto& m : msgs) {
    const core::TopicPartition tp{m.topic, m.partition};
    auto [it, fresh] = ranges.try_emplace(tp, SinkBatch::Range{tp, m.offset, m.offset});
    if (!fresh) {
      it->second.firstOffset = std::min(it->second.firstOffset, m.offset);
      it->second.lastOffset = std::max(it->second.lastOffset, m.offset);
    }
    auto decoded = core::decodeReport(m.value, decode);
    if (!decoded.ok()) {
      metrics_.dlq(dlqReason(decoded.error())).Increment();
      deadLetters.push_back(makeDeadLetter(m, decoded.error(), now, settings_.dlqTopic));
      continue;
    }
    core::Report& r = decoded.value();
    const EnrichOutcome o = enricher_.enrich(r);
    if (o.unmappedType) metrics_.unmapped(r.source).Increment();
    if (!o.geocoded) metrics_.ungeocoded.Increment();
    if (o.duplicate) metrics_.duplicatesLinked.Increment();
    metrics_.eventAge.Observe(std::max(0.0, std::chrono::duration<double>(now - r.occurredAt).count()));
    std::string json = core::encodeReport(r, /*includePrivate=*/false);
    batch.reports.push_back(ProcessedReport{std::move(r), tp, m.offset, m.timestampMs.value_or(0), std::move(json)});
  }
  metrics_.valid.Increment(static_cast<double>(batch.reports.size()));
  for (auto& [tp, range] : ranges) batch.ranges.push_back(range);
  return out;
}

void Pipeline::start(Prepared& p, Prepared* previous) {
  // ---- 3. the DLQ and every sink, in parallel; each retried until it acknowledges
  if (!p.deadLetters.empty()) {
    p.names.push_back("dlq");
    p.sinks.push_back(nullptr);
    p.writes.push_back([this, &p]() -> core::Status {
      auto results = dlq_.sendAndWait(p.deadLetters, settings_.dlqTimeout);
      for (const auto& r : results) {
        if (!r.ok) return core::makeError("dlq_failed", "reports.dlq: " + r.error, "", r.retriable);
      }
      return core::okStatus();
    });
  }
  if (!p.batch.reports.empty()) {
    for (auto* sink : sinks_) {
      p.names.push_back(sink->name());
      p.sinks.push_back(sink);
      p.writes.push_back([this, &p, sink]() -> core::Status {
        core::ScopedTimer timer(metrics_.sinkLatency(sink->name()));
        return sink->write(p.batch);
      });
    }
  }
  for (std::size_t i = 0; i < p.writes.size(); ++i) {
    // Behind the same write of the previous batch: its first attempt, or,
    // for a sink that needs it, that batch's commit.
    std::shared_future<core::Status> before;
    std::shared_future<bool> committed;
    if (previous && !previous->done) {
      for (std::size_t j = 0; j < previous->names.size(); ++j) {
        if (previous->names[j] != p.names[i]) continue;
        if (p.sinks[i] && p.sinks[i]->writesAfterCommitOnly()) committed = previous->settledFuture;
        else before = previous->first[j];
      }
    }
    auto write = p.writes[i];
    p.first.push_back(std::async(std::launch::async, [write, before, committed]() -> core::Status {
                        if (before.valid() && !before.get().ok()) {
                          return core::makeError(kPredecessorFailed, "the previous batch was not written yet", "",
                                                 true);
                        }
                        if (committed.valid() && !committed.get()) {
                          return core::makeError(kPredecessorFailed, "the previous batch was not committed", "",
                                                 true);
                        }
                        return write();
                      }).share());
  }
  p.firstPending = true;
  if (!inflight_ || inflight_->done) inflight_ = &p;
  else inflightNext_ = &p;
}

void Pipeline::leaveInflight(Prepared& p) {
  // The next batch (if any) becomes the oldest in flight.
  if (inflight_ == &p) {
    inflight_ = inflightNext_;
    inflightNext_ = nullptr;
  } else if (inflightNext_ == &p) {
    inflightNext_ = nullptr;
  }
}

Pipeline::Outcome Pipeline::finish(Prepared& p) {
  struct Clear {
    Pipeline* self;
    Prepared* p;
    ~Clear() {
      p->settle(false);  // no-op when committed
      self->leaveInflight(*p);
    }
  } clear{this, &p};
  if (p.done) return Outcome::notWritten;  // a rebalance committed (or handed over) this batch
  // False when stopping or handed over: nothing committed here, the batch is read again.
  if (!writeAll(p)) {
    p.done = true;
    return Outcome::notWritten;
  }
  // A commit that fails during a rebalance is not retried: the batch is
  // read again from the last committed offset (known gap: S3 may then hold
  // it twice under two offset ranges; PostgreSQL and Kafka consumers are
  // idempotent by id).
  const bool committed = commitBatch(p);
  p.done = true;
  p.settle(committed);
  return committed ? Outcome::committed : Outcome::writtenNotCommitted;
}

void Pipeline::abandon(Prepared& p) {
  if (!p.done) {
    p.settle(false);  // not committed
    for (auto& f : p.first) f.wait();
    p.firstPending = false;
    p.done = true;
    core::log::info("batch_not_committed", {{"reports", p.batch.reports.size()}});
  }
  leaveInflight(p);
}

bool Pipeline::commitBatch(const Prepared& p) {
  const SinkBatch& batch = p.batch;

  // ---- 4. commit what every sink acknowledged
  core::OffsetMap next;
  for (const auto& r : batch.ranges) next[r.partition] = r.lastOffset + 1;
  bool committed = true;
  if (auto s = source_.commit(next); !s.ok()) {
    // Not fatal: the writes were idempotent; after a rebalance the new owner
    // reads the batch again from the last commit.
    committed = false;
    metrics_.commitErrors.Increment();
    core::log::warn("commit_failed", {{"error", s.error().message}});
  } else {
    metrics_.batches.Increment();
    const auto committedAt = clock_.now();
    for (const auto& r : batch.reports) {
      if (r.report.ingestedAt) {
        metrics_.ingestToCommit.Observe(
            std::max(0.0, std::chrono::duration<double>(committedAt - *r.report.ingestedAt).count()));
      }
    }
  }
  // Messages polled (and dropped) while paused are read again, commit or not.
  if (!discarded_.empty()) {
    core::OffsetMap rewind;
    rewind.swap(discarded_);
    if (auto s = source_.seek(rewind); !s.ok()) {
      core::log::warn("seek_failed", {{"error", s.error().message}});
    }
  }
  for (const auto& [tp, lag] : source_.lag()) metrics_.lag(tp).Set(static_cast<double>(lag));
  return committed;
}

void appendPublicJson(std::string& out, const ProcessedReport& p) {
  if (p.publicJson.empty()) out += core::encodeReport(p.report, /*includePrivate=*/false);
  else out += p.publicJson;
}

}  // namespace safestream::processor
