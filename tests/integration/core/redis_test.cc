#include <gtest/gtest.h>

#include "core/redis_client.h"
#include "core/report_id.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

TEST(Redis, CommandsPipelinesAndErrors) {
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  ASSERT_TRUE(redis.ping().ok());
  const std::string key = "test:" + core::randomUuid();
  const std::string binary("a\0b\r\n", 5);
  ASSERT_TRUE(redis.command({"SET", key, binary, "EX", "60"}).ok());
  auto got = redis.command({"GET", key});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->str, binary);
  auto many = redis.pipeline({{"INCR", key + ":n"}, {"INCR", key + ":n"}, {"DEL", key, key + ":n"}});
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->size(), 3u);
  EXPECT_EQ((*many)[1].integer, 2);
  auto bad = redis.command({"NOSUCHCOMMAND"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "redis_error");
  EXPECT_TRUE(redis.ping().ok()) << "connection unusable after an error reply";
}

TEST(Redis, UnreachableServerIsRetriableError) {
  core::RedisClient redis({"redis://127.0.0.1:1", std::chrono::milliseconds(500)});
  auto s = redis.ping();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().retriable);
  EXPECT_NE(s.error().message.find("127.0.0.1:1"), std::string::npos);
}

TEST(Redis, MalformedUrlIsConfigError) {
  EXPECT_THROW(core::RedisClient({"http://localhost"}), core::ConfigError);
}

}  // namespace
}  // namespace safestream
