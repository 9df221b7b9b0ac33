#include "api/alert_hub.h"

#include <gtest/gtest.h>

#include <vector>

namespace safestream::api {
namespace {

class Recorder : public LiveSubscriber {
 public:
  void deliver(const std::string& cursor, const std::string& json) override { got.emplace_back(cursor, json); }
  void resync() override { ++resyncs; }
  std::vector<std::pair<std::string, std::string>> got;
  int resyncs = 0;
};

TEST(AlertHub, FansOutByChannelAndForgetsRemovedSessions) {
  AlertHub hub;
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>(), c = std::make_shared<Recorder>();
  auto ha = hub.add("s1", a);
  hub.add("s1", b);
  hub.add("s2", c);
  const std::string msg = R"({"alert_id":"x","cursor":"1700000000000-3"})";
  EXPECT_EQ(hub.dispatch("safestream:alerts:live:s1", msg), 2u);
  ASSERT_EQ(a->got.size(), 1u);
  EXPECT_EQ(a->got[0].first, "1700000000000-3");
  EXPECT_TRUE(c->got.empty());
  hub.remove(ha);
  EXPECT_EQ(hub.dispatch("safestream:alerts:live:s1", msg), 1u);
  EXPECT_EQ(hub.dispatch("other:channel:s1", msg), 0u);
  EXPECT_EQ(hub.dispatch("safestream:alerts:live:s1", R"({"alert_id":"no cursor"})"), 0u) << "frames without a cursor cannot be resumed";
  b.reset();  // a session that went away without remove() is skipped
  EXPECT_EQ(hub.dispatch("safestream:alerts:live:s1", msg), 0u);
  hub.resyncAll();
  EXPECT_EQ(c->resyncs, 1);
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
