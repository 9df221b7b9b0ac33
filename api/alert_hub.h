#pragma once
// Fan-out of live alerts from the one Redis pub/sub listener of this process
// to the WebSocket sessions of each subscription. Pure (no vendor headers).
//
// Threading: dispatch() and resyncAll() are called from the listener thread;
// add()/remove() from session threads. Subscribers are called with the hub's
// lock released, in publication order per subscription; they must not block
// (sessions post onto their own strand).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace safestream::api {

class LiveSubscriber {
 public:
  virtual ~LiveSubscriber() = default;
  // One alert: `cursor` is its stream id, `json` the frame to send.
  virtual void deliver(const std::string& cursor, const std::string& json) = 0;
  // The listener lost messages (reconnect): re-read the stream after the last cursor.
  virtual void resync() = 0;
};

class AlertHub {
 public:
  using Handle = std::uint64_t;
  Handle add(const std::string& subscriptionId, std::weak_ptr<LiveSubscriber> subscriber);
  void remove(Handle handle);
  // `channel` is "safestream:alerts:live:{subscription_id}"; messages of
  // other channels or without a cursor are counted and dropped. Returns the
  // number of subscribers reached.
  std::size_t dispatch(std::string_view channel, const std::string& message);
  void resyncAll();
  std::size_t size() const;

 private:
  struct Entry {
    std::string subscriptionId;
    std::weak_ptr<LiveSubscriber> subscriber;
  };
  mutable std::mutex mu_;
  Handle next_ = 1;
  std::map<Handle, Entry> entries_;
  std::multimap<std::string, Handle> bySubscription_;
};

inline constexpr std::string_view kLiveChannelPrefix = "safestream:alerts:live:";
inline constexpr std::string_view kAlertStreamPrefix = "safestream:alerts:";

// Redis stream ids "ms-seq": <0, 0, >0 like strcmp; "" and "0" are the start.
// A malformed id compares as the start.
int compareStreamIds(std::string_view a, std::string_view b);
bool isStreamId(std::string_view id);
// The "cursor" field of an alert JSON, or "" (cheap scan, no full parse).
std::string extractCursor(std::string_view json);

}  // namespace safestream::api
