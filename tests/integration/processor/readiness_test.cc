// /readyz of the processor probes every dependency on its own schedule: a
// dead one shows before any report arrives (a lane would only find it when a
// write fails).
#include <gtest/gtest.h>

#include "tests/integration/processor/processor_harness.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

TEST(ProcessorReadiness, ADeadS3EndpointShowsOnReadyzBeforeAnyReportArrives) {
  // Nothing listens on port 1; no report is sent to this processor's group.
  auto run = testing::startProcessor("readyz-s3", {"--s3-endpoint", "http://127.0.0.1:1"});
  std::pair<int, std::string> answer;
  EXPECT_TRUE(testing::waitUntil(
      [&] {
        answer = testing::httpGet(run.metricsUrl() + "/readyz");
        return answer.first == 503;
      },
      30s, 100ms))
      << answer.first << " " << answer.second;
  EXPECT_NE(answer.second.find("s3: "), std::string::npos) << answer.second;
  EXPECT_EQ(answer.second.find("postgres: "), std::string::npos) << "only the dead one is named: " << answer.second;
  EXPECT_TRUE(run.daemon->running()) << "a dead dependency is reported, not fatal";
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
}

TEST(ProcessorReadiness, EveryDependencyUpIsReadyAndNamesNoProblem) {
  auto run = testing::startProcessor("readyz-ok");
  std::pair<int, std::string> answer;
  EXPECT_TRUE(testing::waitUntil(
      [&] {
        answer = testing::httpGet(run.metricsUrl() + "/readyz");
        return answer.first == 200;
      },
      30s, 100ms))
      << answer.first << " " << answer.second;
  EXPECT_NE(answer.second.find("\"ready\""), std::string::npos) << answer.second;
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
}

}  // namespace
}  // namespace safestream
