#include "processor/pipeline.h"

#include <algorithm>

#include "core/log.h"
#include "core/metrics.h"
#include "processor/commit_rule.h"

namespace safestream::processor {
namespace {

// Lowers each partition's entry in `first` to the smallest offset among `msgs`.
void noteFirstOffsets(core::OffsetMap& first, const std::vector<core::InMessage>& msgs) {
  for (const auto& m : msgs) {
    auto [it, fresh] = first.try_emplace({m.topic, m.partition}, m.offset);
    if (!fresh) it->second = std::min(it->second, m.offset);
  }
}

constexpr std::chrono::milliseconds kPausedPoll{50};
constexpr std::chrono::milliseconds kWaitSlice{20};

}  // namespace

Pipeline::Pipeline(RecordSource& source, core::MessageSink& dlq, std::vector<ReportSink*> sinks, Enricher& enricher,
                   const core::Clock& clock, ProcessorMetrics& metrics, PipelineSettings settings,
                   std::function<bool()> stop)
    : source_(source),
      enricher_(enricher),
      clock_(clock),
      metrics_(metrics),
      settings_(std::move(settings)),
      stop_(std::move(stop)),
      dlqSink_(dlq, settings_.dlqTimeout) {
  LaneSettings ls;
  ls.maxBatchReports = settings_.batchSize;
  ls.queueReports = settings_.laneQueueMessages;
  ls.backoffInitial = settings_.backoffInitial;
  ls.backoffMax = settings_.backoffMax;
  ls.tickInterval = settings_.tickInterval;
  ls.flushTimeout = settings_.flushTimeout;
  auto notify = [this] {
    updateReadiness();  // the gauge follows a lane turning failing or healthy at once
    {
      std::lock_guard<std::mutex> lock(progressMu_);
      ++progressSeq_;
    }
    progressCv_.notify_all();
  };
  auto settingsOf = [&](const std::string& name) {
    LaneSettings l = ls;
    if (auto it = settings_.laneLinger.find(name); it != settings_.laneLinger.end()) l.linger = it->second;
    return l;
  };
  lanes_.push_back(std::make_unique<SinkLane>(dlqSink_, clock_, metrics_, settingsOf(dlqSink_.name()), notify));
  for (auto* sink : sinks) {
    lanes_.push_back(std::make_unique<SinkLane>(*sink, clock_, metrics_, settingsOf(sink->name()), notify));
  }
  {
    std::lock_guard<std::mutex> lock(readyMu_);
    lanesReady_ = true;
  }
  metrics_.ready.Set(1);
  lastCommitAt_ = clock_.now();
  source_.setRevokeHandler([this] { onRevoked(); });
}

Pipeline::~Pipeline() {
  source_.setRevokeHandler({});
  std::lock_guard<std::mutex> lock(readyMu_);
  lanesReady_ = false;  // lane threads no longer look at lanes_, which goes next
}

SinkLane* Pipeline::lane(const std::string& name) const {
  for (const auto& l : lanes_) {
    if (l->name() == name) return l.get();
  }
  return nullptr;
}

core::OffsetMap Pipeline::laneDurable(const std::string& name) const {
  auto* l = lane(name);
  return l ? l->durable() : core::OffsetMap{};
}

bool Pipeline::laneFailing(const std::string& name) const {
  auto* l = lane(name);
  return l && l->failing();
}

core::OffsetMap Pipeline::committed() const {
  std::lock_guard<std::mutex> lock(committedMu_);
  return committed_;
}

std::string Pipeline::problem() const {
  std::string out;
  for (const auto& l : lanes_) {
    if (!l->failing()) continue;
    if (!out.empty()) out += "; ";
    out += l->problem();
  }
  return out;
}

bool Pipeline::ready() const {
  return std::none_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return l->failing(); });
}

void Pipeline::updateReadiness() {
  std::lock_guard<std::mutex> lock(readyMu_);
  if (lanesReady_) metrics_.ready.Set(ready() ? 1 : 0);
}

bool Pipeline::anyLaneFull() const {
  return std::any_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return l->full(); });
}

bool Pipeline::everyLaneBelowHalf() const {
  return std::all_of(lanes_.begin(), lanes_.end(),
                     [&](const auto& l) { return l->queuedMessages() * 2 < settings_.laneQueueMessages; });
}

void Pipeline::waitForProgress(std::chrono::milliseconds atMost) {
  std::unique_lock<std::mutex> lock(progressMu_);
  const auto seen = progressSeq_;
  progressCv_.wait_for(lock, atMost, [&] { return progressSeq_ != seen; });
}

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

// ---- the commit rule (processor/commit_rule.h), applied

void Pipeline::commitDurable(bool force) {
  const auto now = clock_.now();
  if (!force && now < lastCommitAt_ + settings_.commitInterval) return;
  lastCommitAt_ = now;
  std::vector<core::OffsetMap> durable;
  durable.reserve(lanes_.size());
  for (const auto& l : lanes_) durable.push_back(l->durable());
  core::OffsetMap next;
  {
    std::lock_guard<std::mutex> lock(committedMu_);
    for (const auto& [tp, off] : committable(durable)) {
      auto it = committed_.find(tp);
      if (it == committed_.end() || it->second < off) next[tp] = off;
    }
  }
  if (next.empty()) return;
  if (auto s = source_.commit(next); !s.ok()) {
    // Not fatal: the lanes' writes are idempotent; the next commit (or the
    // next owner, after a rebalance) covers these offsets.
    metrics_.commitErrors.Increment();
    core::log::warn("commit_failed", {{"error", s.error().message}});
    return;
  }
  metrics_.batches.Increment();
  {
    std::lock_guard<std::mutex> lock(committedMu_);
    for (const auto& [tp, off] : next) committed_[tp] = off;
  }
  // The end-to-end latency of every report whose batch is now committed whole.
  const auto committedAt = clock_.now();
  auto isCommitted = [&](const BatchPtr& b) {
    return std::all_of(b->ranges.begin(), b->ranges.end(), [&](const SinkBatch::Range& r) {
      auto it = committed_.find(r.partition);
      return it != committed_.end() && it->second > r.lastOffset;
    });
  };
  for (auto it = uncommitted_.begin(); it != uncommitted_.end();) {
    if (!isCommitted(*it)) {
      ++it;
      continue;
    }
    for (const auto& r : (*it)->reports) {
      if (r.report.ingestedAt) {
        metrics_.ingestToCommit.Observe(
            std::max(0.0, std::chrono::duration<double>(committedAt - *r.report.ingestedAt).count()));
      }
    }
    it = uncommitted_.erase(it);
  }
}

bool Pipeline::drainLanes(core::Timestamp deadline, bool untilStop) {
  for (const auto& l : lanes_) l->requestDrain();
  while (true) {
    if (std::all_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return l->drained(); })) return true;
    if (untilStop ? stop_() : clock_.now() >= deadline) return false;
    updateReadiness();
    waitForProgress(kWaitSlice);
  }
}

void Pipeline::onRevoked() {
  ++revokeEpoch_;
  // Each lane flushes what it can within the deadline; the durable prefix
  // is committed; everything else is dropped here and read again by the
  // next owner (eager rebalancing: positions restart at the committed
  // offsets). A lane still failing at the deadline holds the commit where
  // it is durable; its writes are idempotent, so the replay is harmless.
  const auto deadline = clock_.now() + settings_.flushTimeout;
  if (!drainLanes(deadline)) core::log::warn("rebalance_flush_incomplete", {{"problem", problem()}});
  commitDurable(/*force=*/true);
  for (const auto& l : lanes_) l->revoke();
  while (!std::all_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return l->revoked(); }) &&
         clock_.now() < deadline + settings_.flushTimeout) {
    waitForProgress(kWaitSlice);
  }
  {
    std::lock_guard<std::mutex> lock(committedMu_);
    committed_.clear();
  }
  uncommitted_.clear();
  discarded_.clear();
  updateReadiness();
}

BatchPtr Pipeline::prepare(std::vector<core::InMessage>& msgs) {
  metrics_.consumed.Increment(static_cast<double>(msgs.size()));
  auto out = std::make_shared<SinkBatch>();
  SinkBatch& batch = *out;
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
      batch.deadLetters.push_back(makeDeadLetter(m, decoded.error(), now, settings_.dlqTopic));
      continue;
    }
    batch.reports.push_back(ProcessedReport{std::move(decoded.value()), tp, m.offset, m.timestampMs.value_or(0), {}});
  }
  // The whole poll enriched at once: one near-duplicate index call for it.
  std::vector<core::Report*> reports;
  reports.reserve(batch.reports.size());
  for (auto& p : batch.reports) reports.push_back(&p.report);
  const auto outcomes = enricher_.enrichAll(reports);
  bool degraded = false;
  for (std::size_t i = 0; i < batch.reports.size(); ++i) {
    core::Report& r = batch.reports[i].report;
    const EnrichOutcome& o = outcomes[i];
    if (o.unmappedType) metrics_.unmapped(r.source).Increment();
    if (!o.geocoded) metrics_.ungeocoded.Increment();
    if (o.duplicate) metrics_.duplicatesLinked.Increment();
    if (o.dedupeUnavailable) {
      metrics_.dedupeUnavailable.Increment();
      degraded = true;
    }
    metrics_.eventAge.Observe(std::max(0.0, std::chrono::duration<double>(now - r.occurredAt).count()));
    batch.reports[i].publicJson = core::encodeReport(r, /*includePrivate=*/false);
  }
  if (degraded) core::log::warn("dedupe_unavailable", {{"error", enricher_.lastDedupeError()}});
  metrics_.valid.Increment(static_cast<double>(batch.reports.size()));
  for (auto& [tp, range] : ranges) batch.ranges.push_back(range);
  return out;
}

void Pipeline::dispatch(const BatchPtr& batch) {
  for (const auto& l : lanes_) l->push(batch);
  uncommitted_.push_back(batch);
}

void Pipeline::step() {
  updateReadiness();
  // ---- back-pressure: a full lane first makes the loop wait; if it stays
  // full, the partitions are paused (polls then only keep the membership).
  if (anyLaneFull()) {
    const auto now = clock_.now();
    if (!blocked_) {
      blocked_ = true;
      blockedSince_ = now;
    }
    if (!paused_ && now >= blockedSince_ + settings_.pauseAfter) {
      source_.pause();
      paused_ = true;
      core::log::info("consumption_paused", {{"problem", problem()}});
    }
  } else {
    blocked_ = false;
  }
  if (paused_ && !blocked_ && everyLaneBelowHalf()) {
    // Messages polled (and dropped) while paused are read again.
    if (!discarded_.empty()) {
      core::OffsetMap rewind;
      rewind.swap(discarded_);
      if (auto s = source_.seek(rewind); !s.ok()) core::log::warn("seek_failed", {{"error", s.error().message}});
    }
    source_.resume();
    paused_ = false;
    core::log::info("consumption_resumed", {});
  }
  if (blocked_ && !paused_) {
    waitForProgress(kWaitSlice);
    commitDurable(false);
    return;
  }
  const std::uint64_t epoch = revokeEpoch_;
  if (paused_) {
    // Keeps the group membership alive (rebalance callbacks run inside
    // poll). Partitions are paused, so nothing should arrive; if anything
    // does, it is dropped here and re-read through the seek on resume.
    auto stray = source_.poll(16, kPausedPoll);
    if (revokeEpoch_ != epoch) rewindDropped(stray);
    else noteFirstOffsets(discarded_, stray);
    commitDurable(false);
    return;
  }
  std::vector<core::InMessage> msgs = source_.poll(settings_.pollMax, settings_.pollTimeout);
  if (revokeEpoch_ != epoch) {
    rewindDropped(msgs);  // a rebalance: what was read is read again
    return;
  }
  if (msgs.empty()) {
    for (const auto& [tp, lag] : source_.lag()) metrics_.lag(tp).Set(static_cast<double>(lag));
  } else {
    dispatch(prepare(msgs));
  }
  commitDurable(false);
}

void Pipeline::run() {
  while (!stop_()) step();
  // Shutdown: what every lane makes durable within the deadline is
  // committed; the rest is read again by the next owner.
  if (!drainLanes(clock_.now() + settings_.flushTimeout)) {
    core::log::warn("shutdown_flush_incomplete", {{"problem", problem()}});
  }
  commitDurable(/*force=*/true);
  updateReadiness();
}

std::size_t Pipeline::runOnce() {
  const std::uint64_t epoch = revokeEpoch_;
  std::vector<core::InMessage> msgs = source_.poll(settings_.pollMax, settings_.pollTimeout);
  if (revokeEpoch_ != epoch) {
    rewindDropped(msgs);
    return 0;
  }
  if (msgs.empty()) return 0;
  const std::size_t consumed = msgs.size();
  dispatch(prepare(msgs));
  drainLanes({}, /*untilStop=*/true);
  commitDurable(/*force=*/true);
  updateReadiness();
  for (const auto& [tp, lag] : source_.lag()) metrics_.lag(tp).Set(static_cast<double>(lag));
  return consumed;
}

void appendPublicJson(std::string& out, const ProcessedReport& p) {
  if (p.publicJson.empty()) out += core::encodeReport(p.report, /*includePrivate=*/false);
  else out += p.publicJson;
}

}  // namespace safestream::processor
