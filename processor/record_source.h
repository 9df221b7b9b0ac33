#pragma once
// Where the pipeline reads from: reports.raw through a consumer group
// (KafkaSource) in production, an in-memory fake in unit tests.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "core/kafka.h"
#include "core/result.h"

namespace safestream::processor {

// Threading: every call comes from the pipeline thread.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Up to `max` messages, waiting at most `timeout` for the first one. Never
  // throws on broker trouble (logged, empty result).
  virtual std::vector<core::InMessage> poll(std::size_t max, std::chrono::milliseconds timeout) = 0;
  // Commits the next offset to read per partition. Called only after every
  // sink acknowledged everything before those offsets.
  virtual core::Status commit(const core::OffsetMap& next) = 0;
  // Rewinds partitions so the given offsets are read next.
  virtual core::Status seek(const core::OffsetMap& next) = 0;
  // Stops / restarts fetching while a sink is down (the group membership stays).
  virtual void pause() = 0;
  virtual void resume() = 0;
  // Messages behind the high watermark per partition (cached, no I/O).
  virtual std::map<core::TopicPartition, std::int64_t> lag() const = 0;
  // `handler` runs inside poll(), on the polling thread, before partitions
  // are taken away (rebalance): the owner finishes and commits what is in
  // flight there. After it, fetch positions restart at the committed offsets
  // (eager rebalancing), so anything read but not committed must be dropped.
  virtual void setRevokeHandler(std::function<void()> handler) { (void)handler; }
};

}  // namespace safestream::processor
