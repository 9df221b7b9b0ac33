#pragma once
// Fan-out of live alerts from the one Redis pub/sub listener of this process
// to the WebSocket sessions of each feed (a subscription's alerts or a
// broadcast channel, see core/live_feed.h). Pure (no vendor headers).
//
// Why it is sharded: with 50,000 sessions on one feed, one alert used to
// cost 50,000 copies of its JSON and 50,000 cross-thread posts. Now the
// listener parses the cursor once, wraps the message in one shared immutable
// LiveFrame and posts one task per shard (one shard = one I/O thread with
// its own io_context); that task walks the shard's own registry and hands
// the same frame to each session, on the thread the session lives on.
//
// Threading: setShards() once, before sessions exist. add()/remove() only on
// the shard's own thread (the session's); the registry of a shard is touched
// by nothing else, so it needs no lock. dispatch() and resyncAll() from any
// thread (the listener's). Subscribers run on their shard's thread and must
// not block.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/http_types.h"

namespace safestream::api {

// One published alert, shared read-only by every session that sends it.
struct LiveFrame {
  std::string cursor;  // its stream entry id
  std::string json;    // the frame's text, as published
};
using LiveFramePtr = std::shared_ptr<const LiveFrame>;

class LiveSubscriber {
 public:
  virtual ~LiveSubscriber() = default;
  // One alert of the feed the subscriber was added to; on its shard's thread.
  virtual void deliver(const LiveFramePtr& frame) = 0;
  // The listener lost messages (reconnect): re-read the stream after the last cursor.
  virtual void resync() = 0;

 private:
  friend class AlertHub;
  std::size_t hubSlot_ = 0;  // position in its shard's list, kept by the hub (O(1) remove)
};

class AlertHub {
 public:
  // Runs `task` on the shard's thread (e.g. net::post to its io_context).
  using Executor = std::function<void(std::function<void()> task)>;

  AlertHub();

  // Without shards (tests, or before the server starts) add/dispatch work
  // synchronously on the caller's thread, as one shard.
  void setShards(std::vector<Executor> shards);
  std::size_t shards() const;

  // `feed` is the feed's stream key (core::live::subscriptionStream(id) or
  // broadcastStream(name)). The hub keeps `subscriber` alive until remove().
  void add(std::size_t shard, const std::string& feed, std::shared_ptr<LiveSubscriber> subscriber);
  void remove(std::size_t shard, const std::string& feed, const LiveSubscriber* subscriber);

  // `channel` is a live-feed pub/sub channel (core/live_feed.h); messages of
  // other channels or without a cursor are dropped. Returns 1 when the frame
  // was handed to the shards, 0 when dropped.
  std::size_t dispatch(std::string_view channel, std::string message);
  void resyncAll();
  // Sessions registered (all shards); approximate while sessions come and go.
  std::size_t size() const { return count_.load(std::memory_order_relaxed); }
  // Drops every registration (server stop), so sessions can be freed.
  void clear();

 private:
  struct Shard {
    Executor post;
    std::unordered_map<std::string, std::vector<std::shared_ptr<LiveSubscriber>>> feeds;
  };
  Shard& shard(std::size_t i);
  void runOn(std::size_t shard, std::function<void()> task);

  mutable std::mutex mu_;  // guards shards_ (the vector), not the registries
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> count_{0};
};

// The broadcast channel GET /v1/live?city=…[&neighbourhood=…] names
// ("city:{city}" or "neighbourhood:{city}:{neighbourhood}", core/live_feed.h),
// or the 400 to answer: city is a lower-case slug, neighbourhood needs city,
// and no other parameter than `after` is accepted.
std::optional<std::string> broadcastChannelName(const std::map<std::string, std::string>& query, HttpResponse& error);

// Redis stream ids "ms-seq": <0, 0, >0 like strcmp; "" and "0" are the start.
// A malformed id compares as the start.
int compareStreamIds(std::string_view a, std::string_view b);
bool isStreamId(std::string_view id);
// The "cursor" field of an alert JSON, or "" (cheap scan, no full parse).
std::string extractCursor(std::string_view json);

}  // namespace safestream::api
