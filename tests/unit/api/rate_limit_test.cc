// shareRateAnswer (api/rate_limit.h): one answer for n checks of a client,
// shared out as the answers of n checks in a row.
#include "api/rate_limit.h"

#include <gtest/gtest.h>

namespace safestream::api {
namespace {

TEST(ShareRateAnswer, TheFirstTakenPassWithOneTokenFewerEachAndTheRestWait) {
  // 3.5 tokens, 5 checks: 3 pass (leaving 2.5, 1.5, 0.5), 2 wait for the missing half token.
  auto d = shareRateAnswer(3, 1500, 0, 5);
  ASSERT_EQ(d.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(d[i].allowed) << i;
    EXPECT_EQ(d[i].retryAfterSeconds, 0) << i;
    EXPECT_EQ(d[i].remaining, 2 - i) << i;
  }
  for (int i = 3; i < 5; ++i) {
    EXPECT_FALSE(d[i].allowed) << i;
    EXPECT_EQ(d[i].retryAfterSeconds, 2) << i;  // 1.5 s rounded up
    EXPECT_EQ(d[i].remaining, 0) << i;
  }
}

TEST(ShareRateAnswer, OneCheckIsTheScriptsOwnAnswer) {
  auto pass = shareRateAnswer(1, 0, 7, 1);
  ASSERT_EQ(pass.size(), 1u);
  EXPECT_TRUE(pass[0].allowed);
  EXPECT_EQ(pass[0].remaining, 7);
  auto wait = shareRateAnswer(0, 20, 0, 1);
  EXPECT_FALSE(wait[0].allowed);
  EXPECT_EQ(wait[0].retryAfterSeconds, 1) << "a wait under a second is still Retry-After: 1";
}

TEST(ShareRateAnswer, AllPassWhenTheBucketHoldsEnoughAndAnOddAnswerIsClamped) {
  auto d = shareRateAnswer(4, 0, 10, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(d[i].remaining, 13 - i) << i;
  auto clamped = shareRateAnswer(9, 0, 0, 2);  // never more passes than checks
  EXPECT_TRUE(clamped[0].allowed && clamped[1].allowed);
  EXPECT_EQ(clamped[1].remaining, 0);
}

}  // namespace
}  // namespace safestream::api
