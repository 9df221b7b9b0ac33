#include "core/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace safestream::core {
namespace {

TEST(Log, RedactsPasswordsInUrls) {
  EXPECT_EQ(log::redactUrl("postgresql://app:hunter22@127.0.0.1:55432/safestream"),
            "postgresql://app:***@127.0.0.1:55432/safestream");
  EXPECT_EQ(log::redactUrl("redis://127.0.0.1:56379"), "redis://127.0.0.1:56379");
  EXPECT_EQ(log::redactUrl("redis://:pw@host:1/0"), "redis://:***@host:1/0");
}

TEST(Log, WritesOneJsonObjectPerLine) {
  log::init("test", "info");
  ::testing::internal::CaptureStderr();
  log::info("something_happened", {{"count", 3}, {"what", "a \"quoted\"\nline"}, {"ok", true}});
  log::debug("hidden");
  std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["event"], "something_happened");
  EXPECT_EQ(j["component"], "test");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["what"], "a \"quoted\"\nline");
  EXPECT_TRUE(j.contains("ts"));
}

}  // namespace
}  // namespace safestream::core
