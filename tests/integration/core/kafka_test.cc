#include <gtest/gtest.h>

#include <set>

#include "core/kafka.h"
#include "core/report_id.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

core::KafkaSettings kafka() {
  core::KafkaSettings s;
  s.bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  s.extra["allow.auto.create.topics"] = "true";
  return s;
}

std::vector<core::InMessage> consumeUntil(core::KafkaConsumer& c, size_t n, std::chrono::milliseconds timeout) {
  std::vector<core::InMessage> got;
  testing::waitUntil(
      [&] {
        auto batch = c.poll(n - got.size(), 200ms);
        got.insert(got.end(), batch.begin(), batch.end());
        return got.size() >= n;
      },
      timeout, 0ms);
  return got;
}

// The caller's message.timeout.ms (the API's --publish-timeout-ms) is the one
// in force: the producer's own 30 s default used to be set after it, so a
// message to an unreachable cluster waited 30 s, not the 0.5 s asked for.
TEST(Kafka, ACallersMessageTimeoutIsNotOverriddenByTheProducersDefault) {
  core::KafkaSettings s;
  s.bootstrap = "127.0.0.1:1";  // nothing listens on port 1
  s.extra["message.timeout.ms"] = "500";
  core::KafkaProducer producer(s, {});
  auto results = producer.sendAndWait({{"test.unreachable", "k", "v", {}}}, 15s);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  // librdkafka's own delivery report (message timed out), not our wait giving up.
  EXPECT_NE(results[0].error, "no delivery report within timeout");
}

TEST(Kafka, ProduceConsumeInAGroupCommitAndResume) {
  const std::string topic = "test." + core::randomUuid().substr(0, 8);
  const std::string group = "g-" + core::randomUuid().substr(0, 8);
  core::KafkaProducer producer(kafka(), {});
  std::vector<core::OutMessage> batch;
  for (int i = 0; i < 100; ++i) {
    batch.push_back({topic, "key-" + std::to_string(i), "value-" + std::to_string(i), {{"h", "v"}}});
  }
  auto results = producer.sendAndWait(batch, 30s);
  ASSERT_EQ(results.size(), 100u);
  for (const auto& r : results) ASSERT_TRUE(r.ok) << r.error;

  std::set<std::string> seen;
  {
    core::KafkaConsumer first(kafka(), {.groupId = group, .topics = {topic}});
    auto got = consumeUntil(first, 50, 30s);
    ASSERT_EQ(got.size(), 50u);
    core::OffsetMap offsets;
    for (const auto& m : got) {
      EXPECT_TRUE(seen.insert(m.value).second);
      EXPECT_EQ(m.headers, (core::Headers{{"h", "v"}}));
      EXPECT_EQ("value-" + m.key.substr(4), m.value);
      auto& next = offsets[{m.topic, m.partition}];
      next = std::max(next, m.offset + 1);
    }
    ASSERT_TRUE(first.commit(offsets).ok());
    auto committed = first.committed(first.assignment(), 5s);
    ASSERT_TRUE(committed.ok());
    for (const auto& [tp, off] : offsets) EXPECT_EQ((*committed)[tp], off);
  }
  // A new member of the same group resumes after the committed offsets.
  core::KafkaConsumer second(kafka(), {.groupId = group, .topics = {topic}});
  auto rest = consumeUntil(second, 50, 30s);
  ASSERT_EQ(rest.size(), 50u);
  for (const auto& m : rest) EXPECT_TRUE(seen.insert(m.value).second) << "re-delivered " << m.value;
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_TRUE(second.poll(10, 500ms).empty());
}

TEST(Kafka, KcatTalksToTheDevBroker) {
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  auto list = testing::runCommand("kcat -b " + bootstrap + " -L -m 5", 30);
  ASSERT_EQ(list.exitCode, 0) << list.output;
  for (const char* t : {"reports.raw", "reports.enriched", "reports.dlq", "alerts"}) {
    EXPECT_NE(list.output.find(std::string("topic \"") + t + "\""), std::string::npos) << t << "\n" << list.output;
  }
  const std::string topic = "test.kcat." + core::randomUuid().substr(0, 8);
  // kcat produces; our consumer group reads it.
  auto prod = testing::runCommand("printf 'k1:hello\\nk2:world\\n' | kcat -b " + bootstrap + " -P -K: -t " + topic, 30);
  ASSERT_EQ(prod.exitCode, 0) << prod.output;
  core::KafkaConsumer c(kafka(), {.groupId = "g-" + core::randomUuid().substr(0, 8), .topics = {topic}});
  auto got = consumeUntil(c, 2, 30s);
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> values{got[0].value, got[1].value};
  EXPECT_EQ(values, (std::set<std::string>{"hello", "world"}));
  // Our producer writes; kcat reads (as a consumer-group member, too).
  core::KafkaProducer p(kafka(), {});
  auto r = p.sendAndWait({{topic, "k3", "from-safestream", {}}}, 10s);
  ASSERT_TRUE(r[0].ok) << r[0].error;
  auto read = testing::runCommand("kcat -b " + bootstrap + " -C -e -q -o beginning -f '%k=%s\\n' -t " + topic, 30);
  ASSERT_EQ(read.exitCode, 0) << read.output;
  EXPECT_NE(read.output.find("k3=from-safestream"), std::string::npos) << read.output;
  EXPECT_NE(read.output.find("k1=hello"), std::string::npos) << read.output;
}

TEST(Kafka, UnreachableBrokerIsReportedNotHung) {
  auto s = core::checkKafka({"127.0.0.1:1", {}}, 1500ms);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "kafka_unreachable");
}

}  // namespace
}  // namespace safestream
