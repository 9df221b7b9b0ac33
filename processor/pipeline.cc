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

void Pipeline::rewindDropped(const std::vector<core::InMessage>& dropped) {
  // The same poll may have run the revoke and then fetched from the new
  // assignment (starting at the committed offsets): those messages are
  // dropped here, so the partitions are rewound to them. Seeking a partition
  // no longer assigned fails harmlessly.
  core::OffsetMap first;
  for (const auto& m : dropped) {
    auto [it, fresh] = first.try_emplace({m.topic, m.partition}, m.offset);
    if (!fresh) it->second = std::min(it->second, m.offset);
  }
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
  ahead_.reset();      // positions go back to the committed offsets: it is read again
  discarded_.clear();
  if (!inflight_ || inflightDone_) return;
  bool ok = inflightFirst_ != nullptr;
  if (inflightFirst_) {
    // The first write attempt is under way: wait for it, so the partitions
    // are handed over with that batch committed rather than half-written.
    for (auto& f : *inflightFirst_) {
      try {
        if (!f.get().ok()) ok = false;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    inflightFirst_ = nullptr;
  }
  if (ok) {
    commitBatch(*inflight_);
  } else {
    // A sink is failing: the new owner writes the batch again (the sinks are
    // idempotent); retrying here would race with it.
    core::log::warn("batch_left_to_new_owner", {{"reports", inflight_->batch.reports.size()}});
  }
  inflightDone_ = true;
}

std::string Pipeline::problem() const {
  std::lock_guard<std::mutex> lock(problemMu_);
  return problem_;
}

void Pipeline::setProblem(const std::string& p) {
  std::lock_guard<std::mutex> lock(problemMu_);
  problem_ = p;
}

bool Pipeline::writeAll(const std::vector<std::string>& names,
                        const std::vector<std::function<core::Status()>>& writes,
                        std::vector<std::future<core::Status>>* started) {
  std::vector<std::size_t> pending(names.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  auto delay = settings_.backoffInitial;
  bool paused = false;
  while (true) {
    // Sinks are independent, so they write in parallel: a batch costs the
    // slowest sink, not the sum. Calls of one sink never overlap.
    std::vector<std::future<core::Status>> running;
    if (started) {
      running = std::move(*started);  // the first attempt, already under way
      started = nullptr;
    } else {
      running.reserve(pending.size());
      for (auto i : pending) running.push_back(std::async(std::launch::async, writes[i]));
    }
    std::vector<std::size_t> failed;
    std::string firstProblem;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      core::Status s = core::makeError("sink_threw", "sink threw an exception", "", true);
      try {
        s = running[k].get();
      } catch (const std::exception& e) {
        s = core::makeError("sink_threw", std::string("sink threw: ") + e.what(), "", true);
      }
      if (s.ok()) continue;
      const std::string& what = names[pending[k]];
      failed.push_back(pending[k]);
      metrics_.sinkErrors(what).Increment();
      core::log::warn("sink_write_failed", {{"sink", what},
                                            {"error", s.error().message},
                                            {"retriable", s.error().retriable},
                                            {"retry_in_ms", static_cast<long long>(delay.count())}});
      if (firstProblem.empty()) firstProblem = what + ": " + s.error().message;
    }
    if (failed.empty()) break;
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
      for (const auto& m : stray) {
        auto [it, fresh] = discarded_.try_emplace({m.topic, m.partition}, m.offset);
        if (!fresh) it->second = std::min(it->second, m.offset);
      }
    }
    if (inflightDone_) break;
    delay = std::min(delay * 2, settings_.backoffMax);
    pending = std::move(failed);  // only the sinks that failed are written again
  }
  if (paused) {
    source_.resume();
    ready_.store(true);
    metrics_.ready.Set(1);
    setProblem("");
    core::log::info("sinks_recovered", {});
  }
  return !inflightDone_;
}

std::size_t Pipeline::runOnce() {
  std::optional<Prepared> p = std::move(ahead_);
  ahead_.reset();
  if (!p) p = prepare();
  if (!p) return 0;
  deliver(*p, /*prepareNext=*/false);
  return p->consumed;
}

void Pipeline::run() {
  while (!stop_()) {
    std::optional<Prepared> p = std::move(ahead_);
    ahead_.reset();
    if (!p) p = prepare();
    if (!p) continue;
    // While the sinks write this batch, the next one is read and enriched.
    deliver(*p, /*prepareNext=*/true);
  }
  ahead_.reset();  // read but not written: not committed, read again after restart
  // Every batch is written before its commit, so there is no half-written
  // batch here; flush lets sinks release connections cleanly.
  for (auto* sink : sinks_) {
    if (auto s = sink->flush(settings_.flushTimeout); !s.ok()) {
      core::log::warn("sink_flush_failed", {{"sink", sink->name()}, {"error", s.error().message}});
    }
  }
}

std::optional<Pipeline::Prepared> Pipeline::prepare() {
  // ---- 1. collect a batch: up to batchSize, closed batchTimeout after its first message
  const std::uint64_t epoch = revokeEpoch_;
  std::vector<core::InMessage> msgs = source_.poll(settings_.batchSize, settings_.pollTimeout);
  if (revokeEpoch_ != epoch) {
    rewindDropped(msgs);  // a rebalance: what was read is read again
    return std::nullopt;
  }
  if (msgs.empty()) {
    for (const auto& [tp, lag] : source_.lag()) metrics_.lag(tp).Set(static_cast<double>(lag));
    return std::nullopt;
  }
  const auto closeAt = std::chrono::steady_clock::now() + settings_.batchTimeout;
  while (msgs.size() < settings_.batchSize && !stop_()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(closeAt - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto more = source_.poll(settings_.batchSize - msgs.size(), std::min(left, settings_.pollTimeout));
    if (revokeEpoch_ != epoch) {
      msgs.insert(msgs.end(), more.begin(), more.end());
      rewindDropped(msgs);
      return std::nullopt;
    }
    if (more.empty() && left < settings_.pollTimeout) break;
    std::move(more.begin(), more.end(), std::back_inserter(msgs));
  }
  metrics_.consumed.Increment(static_cast<double>(msgs.size()));

  // ---- 2. validate, normalise, dedupe, enrich
  Prepared out;
  out.consumed = msgs.size();
  SinkBatch& batch = out.batch;
  std::vector<core::OutMessage>& deadLetters = out.deadLetters;
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

void Pipeline::deliver(Prepared& p, bool prepareNext) {
  SinkBatch& batch = p.batch;
  std::vector<core::OutMessage>& deadLetters = p.deadLetters;
  // ---- 3. the DLQ and every sink, in parallel; each retried until it acknowledges
  std::vector<std::string> names;
  std::vector<std::function<core::Status()>> writes;
  if (!deadLetters.empty()) {
    names.push_back("dlq");
    writes.push_back([&]() -> core::Status {
      auto results = dlq_.sendAndWait(deadLetters, settings_.dlqTimeout);
      for (const auto& r : results) {
        if (!r.ok) return core::makeError("dlq_failed", "reports.dlq: " + r.error, "", r.retriable);
      }
      return core::okStatus();
    });
  }
  if (!batch.reports.empty()) {
    for (auto* sink : sinks_) {
      names.push_back(sink->name());
      writes.push_back([&, sink]() -> core::Status {
        core::ScopedTimer timer(metrics_.sinkLatency(sink->name()));
        return sink->write(batch);
      });
    }
  }
  // First attempt of every write in parallel; meanwhile (run()) the pipeline
  // thread reads and enriches the next batch.
  std::vector<std::future<core::Status>> first;
  for (auto& w : writes) first.push_back(std::async(std::launch::async, w));
  inflight_ = &p;
  inflightFirst_ = &first;
  inflightDone_ = false;
  struct Clear {
    Pipeline* self;
    ~Clear() {
      self->inflight_ = nullptr;
      self->inflightFirst_ = nullptr;
    }
  } clear{this};
  if (prepareNext && !stop_()) ahead_ = prepare();
  if (inflightDone_) return;  // a rebalance inside prepare() committed (or handed over) this batch
  inflightFirst_ = nullptr;   // writeAll consumes the first attempt
  // False when stopping or handed over: nothing committed here, the batch is read again.
  if (!writeAll(names, writes, &first)) return;
  // A commit that fails during a rebalance is not retried: the batch is
  // read again from the last committed offset (known gap: S3 may then hold
  // it twice under two offset ranges; PostgreSQL and Kafka consumers are
  // idempotent by id).
  commitBatch(p);
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

std::string publicJsonOf(const ProcessedReport& p) {
  return p.publicJson.empty() ? core::encodeReport(p.report, /*includePrivate=*/false) : p.publicJson;
}

}  // namespace safestream::processor
