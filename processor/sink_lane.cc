#include "processor/sink_lane.h"

#include <algorithm>

#include "core/log.h"
#include "core/metrics.h"

namespace safestream::processor {
namespace {
// Longest real wait before the lane looks at the clock again.
constexpr std::chrono::milliseconds kSlice{20};
}  // namespace

SinkLane::SinkLane(ReportSink& sink, const core::Clock& clock, ProcessorMetrics& metrics, LaneSettings settings,
                   std::function<void()> onProgress)
    : sink_(sink),
      name_(sink.name()),
      clock_(clock),
      metrics_(metrics),
      settings_(settings),
      onProgress_(std::move(onProgress)),
      thread_([this] { loop(); }) {}

SinkLane::~SinkLane() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::size_t SinkLane::messagesOf(const SinkBatch& b) const {
  return std::max<std::size_t>(1, b.reports.size() + b.deadLetters.size());
}

void SinkLane::push(BatchPtr batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_ += messagesOf(*batch);
    queue_.push_back({std::move(batch), clock_.now()});
    drainDone_ = false;
    metrics_.laneQueued(name_).Set(static_cast<double>(queued_));
  }
  cv_.notify_all();
}

bool SinkLane::full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_ >= settings_.queueReports;
}

std::size_t SinkLane::queuedMessages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

core::OffsetMap SinkLane::durable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_;
}

bool SinkLane::failing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failing_;
}

std::string SinkLane::problem() const {
  std::lock_guard<std::mutex> lock(mu_);
  return problem_;
}

void SinkLane::requestDrain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    drainWanted_ = true;
    drainDone_ = false;
  }
  cv_.notify_all();
}

bool SinkLane::drained() const {
  std::lock_guard<std::mutex> lock(mu_);
  return drainWanted_ && drainDone_;
}

void SinkLane::revoke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++epoch_;
    queue_.clear();
    queued_ = 0;
    durable_.clear();
    drainWanted_ = drainDone_ = false;
    metrics_.laneQueued(name_).Set(0);
  }
  cv_.notify_all();
}

bool SinkLane::revoked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return laneEpoch_ == epoch_;
}

void SinkLane::progress() {
  if (onProgress_) onProgress_();
}

void SinkLane::publishDurable(const core::OffsetMap& written, std::uint64_t epoch) {
  // Written, except what the sink still holds (an open archive object).
  core::OffsetMap d = written;
  for (const auto& [tp, first] : sink_.pending()) {
    auto it = d.find(tp);
    if (it != d.end()) it->second = std::min(it->second, first);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (epoch != epoch_) return;  // revoked meanwhile: these offsets belong to the next owner now
    if (d == durable_) return;
    for (const auto& [tp, off] : d) metrics_.laneDurable(name_, tp).Set(static_cast<double>(off));
    durable_ = std::move(d);
  }
  progress();
}

void SinkLane::fail(const core::Error& e, std::uint64_t epoch) {
  metrics_.sinkErrors(name_).Increment();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (epoch != epoch_) return;
    failing_ = true;
    problem_ = name_ + ": " + e.message;
  }
  progress();
}

void SinkLane::recovered(std::uint64_t epoch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failing_ || epoch != epoch_) return;
    failing_ = false;
    problem_.clear();
  }
  core::log::info("sink_recovered", {{"sink", name_}});
  progress();
}

void SinkLane::loop() {
  std::vector<BatchPtr> inHand;  // taken from the queue, not yet written
  core::OffsetMap written;       // next offset after what the sink accepted, per partition
  std::uint64_t epoch = 0;
  auto delay = settings_.backoffInitial;
  bool backingOff = false;
  core::Timestamp retryAt{};
  core::Timestamp nextTick = clock_.now() + settings_.tickInterval;
  while (true) {
    enum class Step { write, flush, tick, revoke } step;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        if (stopping_) return;
        if (epoch_ != epoch) {
          step = Step::revoke;
          break;
        }
        const auto now = clock_.now();
        const bool mayTry = !backingOff || now >= retryAt;
        // Queued reports are written once the oldest has lingered long
        // enough, a write's worth is queued, or a drain wants everything.
        const bool queueDue = !queue_.empty() && (drainWanted_ || queued_ >= settings_.maxBatchReports ||
                                                  now >= queue_.front().at + settings_.linger);
        if (mayTry && (!inHand.empty() || queueDue)) {
          step = Step::write;
          break;
        }
        if (mayTry && drainWanted_ && !drainDone_) {
          step = Step::flush;
          break;
        }
        if (mayTry && now >= nextTick) {
          step = Step::tick;
          break;
        }
        cv_.wait_for(lock, kSlice);
      }
      if (step == Step::revoke) {
        epoch = epoch_;
      } else if (step == Step::write && inHand.empty()) {
        // Queued batches merged into one write, up to the lane's batch size.
        std::size_t taken = 0;
        while (!queue_.empty() &&
               (inHand.empty() || taken + messagesOf(*queue_.front().batch) <= settings_.maxBatchReports)) {
          taken += messagesOf(*queue_.front().batch);
          inHand.push_back(std::move(queue_.front().batch));
          queue_.pop_front();
        }
        queued_ -= std::min(queued_, taken);
        metrics_.laneQueued(name_).Set(static_cast<double>(queued_));
      }
    }
    if (step == Step::write && !inHand.empty()) progress();  // room in the queue

    core::Status status = core::okStatus();
    switch (step) {
      case Step::revoke:
        inHand.clear();
        written.clear();
        backingOff = false;
        delay = settings_.backoffInitial;
        sink_.partitionsRevoked();
        {
          std::lock_guard<std::mutex> lock(mu_);
          failing_ = false;
          problem_.clear();
          laneEpoch_ = epoch;
        }
        progress();
        continue;
      case Step::write: {
        core::ScopedTimer timer(metrics_.sinkLatency(name_));
        try {
          status = sink_.writeAll(inHand);
        } catch (const std::exception& e) {
          status = core::makeError("sink_threw", std::string("sink threw: ") + e.what(), "", true);
        }
        if (status.ok()) {
          for (const auto& b : inHand) {
            for (const auto& r : b->ranges) written[r.partition] = r.lastOffset + 1;
          }
          inHand.clear();
        }
        break;
      }
      case Step::flush:
        try {
          status = sink_.flush(settings_.flushTimeout);
        } catch (const std::exception& e) {
          status = core::makeError("sink_threw", std::string("sink threw: ") + e.what(), "", true);
        }
        if (status.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          if (epoch == epoch_ && queue_.empty()) drainDone_ = true;
        }
        break;
      case Step::tick:
        try {
          status = sink_.tick(clock_.now());
        } catch (const std::exception& e) {
          status = core::makeError("sink_threw", std::string("sink threw: ") + e.what(), "", true);
        }
        nextTick = clock_.now() + settings_.tickInterval;
        break;
    }
    if (status.ok()) {
      backingOff = false;
      delay = settings_.backoffInitial;
      publishDurable(written, epoch);
      recovered(epoch);
    } else {
      core::log::warn("sink_write_failed", {{"sink", name_},
                                            {"error", status.error().message},
                                            {"retriable", status.error().retriable},
                                            {"retry_in_ms", static_cast<long long>(delay.count())}});
      fail(status.error(), epoch);
      // What the sink accepted before the failure may have become durable
      // (an archive closed some objects): publish it anyway.
      publishDurable(written, epoch);
      backingOff = true;
      retryAt = clock_.now() + delay;
      nextTick = std::max(nextTick, retryAt);
      delay = std::min(delay * 2, settings_.backoffMax);
    }
  }
}

}  // namespace safestream::processor
