#include <gtest/gtest.h>

#include <algorithm>

#include "core/report_id.h"
#include "core/s3_client.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

core::S3Settings settings() {
  core::S3Settings s;
  s.endpoint = testing::requireStackEnv("SAFESTREAM_S3_ENDPOINT");
  s.bucket = testing::requireStackEnv("SAFESTREAM_S3_BUCKET");
  s.accessKey = testing::requireStackEnv("SAFESTREAM_S3_ACCESS_KEY");
  s.secretKey = testing::requireStackEnv("SAFESTREAM_S3_SECRET_KEY");
  return s;
}

TEST(S3, SignedPutGetListDelete) {
  core::S3Client s3(settings());
  ASSERT_TRUE(s3.checkBucket().ok()) << s3.checkBucket().error().message;
  const std::string prefix = "test/" + core::randomUuid() + "/dt=2014-03-14/hour=23/";
  const std::string body = std::string("{\"a\":1}\n{\"b\":2}\n") + std::string("\x1f\x8b\x00", 3);
  for (int i = 0; i < 3; ++i) {
    auto s = s3.put(prefix + "part-" + std::to_string(i) + ".ndjson.gz", body, "application/gzip");
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  auto got = s3.get(prefix + "part-1.ndjson.gz");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, body);
  auto keys = s3.list(prefix);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_TRUE(std::is_sorted(keys->begin(), keys->end()));
  for (const auto& k : *keys) ASSERT_TRUE(s3.remove(k).ok());
  EXPECT_TRUE(s3.list(prefix)->empty());
  auto missing = s3.get(prefix + "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "s3_http_404");
}

// s3rver checks the access key of a SigV4 request but (as its source says)
// does not recompute V4 signatures; AWS and MinIO do.
TEST(S3, UnknownAccessKeyIsRejectedByTheServer) {
  auto s = settings();
  s.accessKey = "NOT-A-KEY";
  core::S3Client s3(s);
  auto r = s3.put("test/forbidden", "x", "text/plain");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "s3_http_403") << r.error().message;
}

TEST(S3, UnreachableEndpointIsRetriable) {
  auto s = settings();
  s.endpoint = "http://127.0.0.1:1";
  s.timeout = std::chrono::milliseconds(1000);
  core::S3Client s3(s);
  auto r = s3.checkBucket();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().retriable);
}

}  // namespace
}  // namespace safestream
