#pragma once
// The Redis names of the live-feed contract between safestream-processor
// (the writer) and safestream-api (the reader), in one place.
//
// A feed is a Redis stream (the history: a client resumes after an entry id,
// its "cursor") plus a pub/sub channel (the live push: every message is the
// entry's JSON with "cursor" set to the entry id, published after the XADD).
// Two kinds of feed, with the same cursor rules:
//  - a subscription's alerts:
//      stream  safestream:alerts:{subscription_id}
//      channel safestream:alerts:live:{subscription_id}
//  - a broadcast channel, one per city and one per neighbourhood:
//      stream  safestream:channel:{name}
//      channel safestream:channel:live:{name}
//    with {name} = "city:{city id}" or "neighbourhood:{city id}:{neighbourhood}"
//    (the neighbourhood as the boundary file spells it). They carry the
//    city's "new report" events and surge alerts.
#include <string>
#include <string_view>

namespace safestream::core::live {

inline constexpr std::string_view kSubscriptionStreamPrefix = "safestream:alerts:";
inline constexpr std::string_view kSubscriptionChannelPrefix = "safestream:alerts:live:";
inline constexpr std::string_view kBroadcastStreamPrefix = "safestream:channel:";
inline constexpr std::string_view kBroadcastChannelPrefix = "safestream:channel:live:";

inline std::string subscriptionStream(std::string_view id) { return std::string(kSubscriptionStreamPrefix).append(id); }
inline std::string subscriptionChannel(std::string_view id) { return std::string(kSubscriptionChannelPrefix).append(id); }
inline std::string broadcastStream(std::string_view name) { return std::string(kBroadcastStreamPrefix).append(name); }
inline std::string broadcastChannel(std::string_view name) { return std::string(kBroadcastChannelPrefix).append(name); }
inline std::string cityChannelName(std::string_view city) { return std::string("city:").append(city); }
inline std::string neighbourhoodChannelName(std::string_view city, std::string_view neighbourhood) {
  return std::string("neighbourhood:").append(city).append(":").append(neighbourhood);
}

// The stream a pub/sub channel's messages are entries of, or "" when the
// channel is not a live feed.
inline std::string streamOfChannel(std::string_view channel) {
  if (channel.substr(0, kSubscriptionChannelPrefix.size()) == kSubscriptionChannelPrefix) {
    return subscriptionStream(channel.substr(kSubscriptionChannelPrefix.size()));
  }
  if (channel.substr(0, kBroadcastChannelPrefix.size()) == kBroadcastChannelPrefix) {
    return broadcastStream(channel.substr(kBroadcastChannelPrefix.size()));
  }
  return {};
}

}  // namespace safestream::core::live
