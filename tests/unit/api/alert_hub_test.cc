#include "api/alert_hub.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <vector>

namespace safestream::api {
namespace {

class Recorder : public LiveSubscriber {
 public:
  void deliver(const LiveFramePtr& frame) override { got.push_back(frame); }
  void resync() override { ++resyncs; }
  std::vector<LiveFramePtr> got;
  int resyncs = 0;
};

const std::string kS1 = "safestream:alerts:s1";
const std::string kS2 = "safestream:alerts:s2";

TEST(AlertHub, FansOutByFeedAndForgetsRemovedSessions) {
  AlertHub hub;  // no shards: one, run on the caller's thread
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>(), c = std::make_shared<Recorder>();
  hub.add(0, kS1, a);
  hub.add(0, kS1, b);
  hub.add(0, kS2, c);
  EXPECT_EQ(hub.size(), 3u);
  const std::string msg = R"({"alert_id":"x","cursor":"1700000000000-3"})";
  EXPECT_EQ(hub.dispatch("safestream:alerts:live:s1", msg), 1u);
  ASSERT_EQ(a->got.size(), 1u);
  ASSERT_EQ(b->got.size(), 1u);
  EXPECT_EQ(a->got[0]->cursor, "1700000000000-3");
  EXPECT_EQ(a->got[0]->json, msg);
  EXPECT_EQ(a->got[0].get(), b->got[0].get()) << "one frame shared by every session, not a copy each";
  EXPECT_TRUE(c->got.empty());
  hub.remove(0, kS1, a.get());
  hub.remove(0, kS1, a.get());  // twice is harmless
  EXPECT_EQ(hub.size(), 2u);
  hub.dispatch("safestream:alerts:live:s1", msg);
  EXPECT_EQ(a->got.size(), 1u);
  EXPECT_EQ(b->got.size(), 2u);
  EXPECT_EQ(hub.dispatch("other:channel:s1", msg), 0u);
  EXPECT_EQ(hub.dispatch("safestream:alerts:live:s1", R"({"alert_id":"no cursor"})"), 0u) << "frames without a cursor cannot be resumed";
  hub.resyncAll();
  EXPECT_EQ(c->resyncs, 1);
  EXPECT_EQ(b->resyncs, 1);
  EXPECT_EQ(a->resyncs, 0);
}

TEST(AlertHub, BroadcastChannelsAreFeedsOfTheirOwn) {
  AlertHub hub;
  auto city = std::make_shared<Recorder>(), hood = std::make_shared<Recorder>();
  hub.add(0, "safestream:channel:city:chicago", city);
  hub.add(0, "safestream:channel:neighbourhood:chicago:HYDE PARK", hood);
  hub.dispatch("safestream:channel:live:city:chicago", R"({"type":"report","cursor":"5-0"})");
  hub.dispatch("safestream:channel:live:neighbourhood:chicago:HYDE PARK", R"({"type":"surge","cursor":"6-0"})");
  ASSERT_EQ(city->got.size(), 1u);
  ASSERT_EQ(hood->got.size(), 1u);
  EXPECT_EQ(hood->got[0]->cursor, "6-0");
}

// Each shard runs its tasks on "its thread" (here: a queue drained by the
// test); a dispatch posts one task per shard, and a session is reached only
// through its own shard.
TEST(AlertHub, ShardsGetOneTaskEachAndOnlyTheirOwnSessions) {
  std::vector<std::deque<std::function<void()>>> queues(2);
  AlertHub hub;
  hub.setShards({[&](std::function<void()> t) { queues[0].push_back(std::move(t)); },
                 [&](std::function<void()> t) { queues[1].push_back(std::move(t)); }});
  EXPECT_EQ(hub.shards(), 2u);
  std::vector<std::shared_ptr<Recorder>> sessions;
  for (int i = 0; i < 10; ++i) {
    sessions.push_back(std::make_shared<Recorder>());
    hub.add(static_cast<std::size_t>(i % 2), kS1, sessions.back());
  }
  hub.dispatch("safestream:alerts:live:s1", R"({"cursor":"1-1"})");
  EXPECT_EQ(queues[0].size(), 1u);
  EXPECT_EQ(queues[1].size(), 1u);
  for (auto& s : sessions) EXPECT_TRUE(s->got.empty()) << "nothing runs before the shard's thread does";
  queues[0].front()();
  queues[0].pop_front();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sessions[static_cast<std::size_t>(i)]->got.size(), i % 2 == 0 ? 1u : 0u);
  queues[1].front()();
  queues[1].pop_front();
  for (auto& s : sessions) EXPECT_EQ(s->got.size(), 1u);
  // Removal in the middle keeps every other session reachable (swap-remove).
  hub.remove(0, kS1, sessions[2].get());
  hub.dispatch("safestream:alerts:live:s1", R"({"cursor":"1-2"})");
  for (auto& q : queues) {
    while (!q.empty()) {
      q.front()();
      q.pop_front();
    }
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sessions[static_cast<std::size_t>(i)]->got.size(), i == 2 ? 1u : 2u) << i;
  hub.clear();
  EXPECT_EQ(hub.size(), 0u);
}

TEST(AlertHub, BroadcastChannelNamesFromTheQuery) {
  HttpResponse error;
  EXPECT_EQ(broadcastChannelName({{"city", "chicago"}}, error), "city:chicago");
  EXPECT_EQ(broadcastChannelName({{"city", "los-angeles"}, {"after", "1-0"}}, error), "city:los-angeles");
  EXPECT_EQ(broadcastChannelName({{"city", "chicago"}, {"neighbourhood", "HYDE PARK"}}, error),
            "neighbourhood:chicago:HYDE PARK");
  EXPECT_FALSE(broadcastChannelName({}, error));
  EXPECT_EQ(error.status, 400);
  EXPECT_NE(error.body.find("\"field\":\"city\""), std::string::npos) << error.body;
  EXPECT_FALSE(broadcastChannelName({{"city", "Chicago"}}, error));
  EXPECT_FALSE(broadcastChannelName({{"city", "chi:cago"}}, error));
  EXPECT_FALSE(broadcastChannelName({{"neighbourhood", "HYDE PARK"}}, error));
  EXPECT_FALSE(broadcastChannelName({{"city", "chicago"}, {"neighbourhood", std::string("a\nb")}}, error));
  EXPECT_FALSE(broadcastChannelName({{"city", "chicago"}, {"bbox", "1,2,3,4"}}, error));
  EXPECT_NE(error.body.find("unknown_parameter"), std::string::npos) << error.body;
}

TEST(AlertHub, StreamIdsCompareNumerically) {
  EXPECT_LT(compareStreamIds("1700000000000-9", "1700000000000-10"), 0);
  EXPECT_LT(compareStreamIds("999-0", "1000-0"), 0);
  EXPECT_EQ(compareStreamIds("5-5", "5-5"), 0);
  EXPECT_GT(compareStreamIds("5-0", ""), 0);
  EXPECT_TRUE(isStreamId("1-0"));
  EXPECT_FALSE(isStreamId("1-"));
  EXPECT_FALSE(isStreamId("abc"));
  EXPECT_FALSE(isStreamId("0"));
  EXPECT_EQ(extractCursor(R"({"a":1, "cursor" : "12-3","b":2})"), "12-3");
  EXPECT_EQ(extractCursor(R"({"a":1})"), "");
}

}  // namespace
}  // namespace safestream::api
