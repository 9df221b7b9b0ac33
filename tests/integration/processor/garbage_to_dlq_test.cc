// Garbage on reports.raw ends in reports.dlq with a reason naming the field,
// and the next good message still flows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/kafka.h"
#include "core/report_id.h"
#include "tests/integration/processor/processor_harness.h"
#include "tests/integration/processor/sample_reports.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

TEST(ProcessorGarbage, EveryBadMessageEndsInTheDlqWithItsReasonAndGoodOnesStillFlow) {
  auto run = testing::startProcessor("garbage");
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  std::vector<testing::SampleMessage> good;
  for (auto& m : testing::chicagoSample(run.tag)) {
    if (m.geocoded && good.size() < 2) good.push_back(m);
  }
  nlohmann::json valid = nlohmann::json::parse(good[0].json);

  struct Bad {
    std::string name, value, code, field;
  };
  std::vector<Bad> bad;
  bad.push_back({"binary", std::string("\x00\xff\xfe\x01\x80garbage\x00", 13), "invalid_json", ""});
  bad.push_back({"truncated", good[0].json.substr(0, good[0].json.size() / 2), "invalid_json", ""});
  auto wrongType = valid;
  wrongType["lat"] = "forty-one";
  bad.push_back({"wrong_type", wrongType.dump(), "invalid_field", "lat"});
  auto missing = valid;
  missing.erase("source_id");
  bad.push_back({"missing", missing.dump(), "invalid_field", "source_id"});
  auto outOfRange = valid;
  outOfRange["lon"] = 190.5;
  bad.push_back({"out_of_range", outOfRange.dump(), "invalid_field", "lon"});
  auto future = valid;
  future["occurred_at"] = "2999-01-01T00:00:00Z";
  bad.push_back({"future", future.dump(), "invalid_field", "occurred_at"});
  auto huge = valid;
  huge["description"] = std::string(5 << 20, 'x');  // 5 MB
  bad.push_back({"huge", huge.dump(), "too_large", ""});

  // Big messages need a producer that allows them (the broker accepted 5 MB here).
  core::KafkaSettings big{bootstrap, {{"message.max.bytes", std::to_string(16 << 20)}}};
  core::KafkaProducer producer(big, {});
  std::vector<core::OutMessage> out;
  for (const auto& b : bad) out.push_back({"reports.raw", run.tag + b.name, b.value, {}});
  // Then good messages on the same partitions as some bad ones: they must not be stuck behind them.
  for (const auto& g : good) out.push_back({"reports.raw", g.id, g.json, {}});
  for (const auto& r : producer.sendAndWait(out, 60s)) ASSERT_TRUE(r.ok) << r.error;

  // ---- the good ones are stored
  const std::string mine = "source_id LIKE '" + run.tag + "%'";
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar("SELECT count(*) FROM reports WHERE " + mine) == 2; },
                                 120s, 200ms))
      << run.daemon->logTail();

  // ---- every bad one is in the DLQ with its reason and where it came from
  core::KafkaConsumer c({bootstrap, {{"fetch.max.bytes", std::to_string(64 << 20)}}},
                        {.groupId = "it-" + run.tag + "dlq", .topics = {"reports.dlq"}});
  std::map<std::string, nlohmann::json> dlq;  // by original key
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        for (const auto& m : c.poll(1000, 200ms)) {
          auto j = nlohmann::json::parse(m.value, nullptr, false);
          if (j.is_discarded()) continue;
          const std::string key = j.value("original_key", "");
          if (key.rfind(run.tag, 0) == 0) dlq[key.substr(run.tag.size())] = j;
        }
        return dlq.size() >= bad.size();
      },
      60s, 0ms))
      << "DLQ has " << dlq.size() << " of " << bad.size();
  for (const auto& b : bad) {
    SCOPED_TRACE(b.name);
    ASSERT_TRUE(dlq.count(b.name));
    const auto& j = dlq[b.name];
    EXPECT_EQ(j["error"]["code"], b.code);
    EXPECT_EQ(j["error"]["field"], b.field);
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(j["source"]["topic"], "reports.raw");
    EXPECT_GE(j["source"]["offset"].get<long long>(), 0);
    EXPECT_EQ(j["original_size"].get<std::size_t>(), b.value.size());
    if (b.name == "binary") {
      EXPECT_EQ(j["original_encoding"], "base64");
    } else if (b.name == "huge") {
      EXPECT_TRUE(j["truncated"].get<bool>());
    } else {
      EXPECT_EQ(j["original_encoding"], "utf-8");
      EXPECT_EQ(j["original"], b.value) << "the original bytes, unchanged";
    }
  }
  EXPECT_GE(testing::metricValue(run.metricsUrl(), "safestream_processor_dlq_total", "reason=\"too_large\""), 1);
  EXPECT_GE(testing::metricValue(run.metricsUrl(), "safestream_processor_dlq_total", "reason=\"invalid_field:lat\""), 1);
  EXPECT_TRUE(run.daemon->running());
  EXPECT_EQ(testing::httpGet(run.metricsUrl() + "/readyz").first, 200);
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
}

}  // namespace
}  // namespace safestream
