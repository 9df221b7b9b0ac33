// safestream-ingest as a process: SIGKILL between polls and a restart lose no
// record and re-publish at most one poll's worth; SIGTERM exits 0; /metrics
// shows the polls; a bad config file is one line naming file, line and key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/report_id.h"
#include "tests/integration/ingest/fake_source_server.h"
#include "tests/integration/ingest/topic_probe.h"
#include "tests/support/daemon_process.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(IngestDaemon, SigkillBetweenPollsLosesNothingAndRepublishesAtMostOnePoll) {
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  const std::string source = "spotcrime.test" + core::randomUuid().substr(0, 8);
  const auto dir = std::filesystem::temp_directory_path() / ("ingest-daemon-" + core::randomUuid());
  std::filesystem::create_directories(dir);
  std::ifstream in(testing::sourcePath("data/spotcrime_austin_2015_sample.json"));
  const json crimes = json::parse(in)["crimes"];
  // Like SpotCrime: each answer is a window of the most recent records, and
  // the window moves on by kStep records per request.
  constexpr std::size_t kWindow = 300, kStep = 100;
  testing::FakeSourceServer server([&](const testing::FakeRequest&, int i) -> testing::FakeReply {
    const std::size_t end = std::min(crimes.size(), kStep * static_cast<std::size_t>(i + 1));
    const std::size_t begin = end > kWindow ? end - kWindow : 0;
    json out = {{"crimes", json::array()}};
    for (std::size_t k = begin; k < end; ++k) out["crimes"].push_back(crimes[k]);
    return {200, out.dump()};
  });
  const std::string config = (dir / "sources.json").string();
  std::ofstream(config) << R"({"sources": [{"name": "austin", "type": "spotcrime", "source": ")" << source
                        << R"(", "base_url": ")" << server.url()
                        << R"(", "key_env": "SAFESTREAM_TEST_SPOTCRIME_KEY", "poll_interval_s": 0.3,
      "areas": [{"name": "south", "lat": 30.21, "lon": -97.83, "radius": 3, "time_zone": "America/Chicago"}]}]})";

  testing::loadStackEnvIntoProcess();
  const int port = testing::freePort();
  const std::string metrics = "http://127.0.0.1:" + std::to_string(port);
  testing::DaemonProcess daemon(testing::binaryPath("ingest/safestream-ingest"),
                                {"run", "--config", config, "--state-dir", (dir / "state").string(), "--metrics-port",
                                 std::to_string(port)},
                                {{"SAFESTREAM_TEST_SPOTCRIME_KEY", "k"}});
  testing::TopicCollector collector(bootstrap, "reports.raw", {source});
  daemon.start();
  ASSERT_TRUE(daemon.waitHealthy(metrics + "/healthz")) << daemon.logTail();
  // Let a few polls go through, then kill it without warning.
  ASSERT_TRUE(testing::waitUntil([&] { return collector.ids().size() >= 500; }, 60s))
      << collector.ids().size() << "\n" << daemon.logTail();
  daemon.kill();
  const std::size_t beforeRestart = collector.ids().size();
  EXPECT_LT(beforeRestart, crimes.size());

  daemon.start();
  ASSERT_TRUE(daemon.waitHealthy(metrics + "/healthz")) << daemon.logTail();
  ASSERT_TRUE(testing::waitUntil([&] { return collector.ids().size() >= crimes.size(); }, 120s))
      << collector.ids().size() << " of " << crimes.size() << "\n" << daemon.logTail();
  auto [status, body] = testing::httpGet(metrics + "/metrics");
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("safestream_ingest_records_total{outcome=\"published\",source=\"" + source + "\"}"), std::string::npos)
      << body.substr(0, 3000);
  EXPECT_NE(body.find("safestream_ingest_last_success_timestamp_seconds{source=\"" + source + "\"}"), std::string::npos);
  EXPECT_EQ(daemon.stop(), 0) << "SIGTERM must flush and exit 0\n" << daemon.logTail();

  std::set<std::string> expected;
  for (const auto& c : crimes) expected.insert(core::reportIdFor(source, std::to_string(c["cdid"].get<long long>())).value);
  const auto ends = testing::endOffsets(bootstrap, "reports.raw");
  ASSERT_TRUE(testing::waitUntil([&] { return collector.caughtUp(ends); }, 120s));
  EXPECT_EQ(collector.ids(), expected) << "a record was lost";
  const std::size_t republished = collector.total() - expected.size();
  EXPECT_LE(republished, kWindow) << "re-published more than one poll's worth";
  std::cout << "ingest daemon: SIGKILL after " << beforeRestart << " records; re-published " << republished << "\n";
  std::filesystem::remove_all(dir);
}

TEST(IngestDaemon, HelpDocumentsEveryOptionOfEverySubcommand) {
  auto r = testing::runCommand(testing::binaryPath("ingest/safestream-ingest") + " --help 2>&1");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  for (const char* flag : {"--kafka-bootstrap", "--topic", "--state-dir", "--compression", "--log-level", "--config",
                           "--pg-url", "--metrics-host", "--metrics-port", "--file", "--format", "--mapping", "--source",
                           "--batch-rows", "--spotcrime-file", "--chicago-file", "--speedup", "--spotcrime-zone", "--loop",
                           "SAFESTREAM_DEMO_SPEEDUP", "SAFESTREAM_INGEST_CONFIG"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  }
}

TEST(IngestDaemon, BadConfigFileNamesFileLineAndKey) {
  const auto dir = std::filesystem::temp_directory_path() / ("ingest-badcfg-" + core::randomUuid());
  std::filesystem::create_directories(dir);
  const std::string config = (dir / "bad.json").string();
  std::ofstream(config) << "{\n  \"sources\": [\n    {\n      \"name\": \"austin\",\n      \"type\": \"spotcrime\",\n"
                           "      \"base_url\": \"http://127.0.0.1:1\",\n      \"key_env\": \"PATH\",\n"
                           "      \"areas\": [\n        {\"name\": \"a\", \"time_zone\": \"America/Chicago\",\n"
                           "         \"lat\": 123.4, \"lon\": -97.8}\n      ]\n    }\n  ]\n}\n";
  auto r = testing::runCommand("SAFESTREAM_KAFKA_BOOTSTRAP=127.0.0.1:1 " + testing::binaryPath("ingest/safestream-ingest") +
                               " run --config " + config + " --state-dir " + (dir / "state").string() + " 2>&1");
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find(config + ":10: key 'sources[0].areas[0].lat'"), std::string::npos) << r.output;

  std::ofstream(config) << "{\n  \"sources\": [\n    {\"name\": \"x\",, }\n  ]\n}\n";
  auto syntax = testing::runCommand("SAFESTREAM_KAFKA_BOOTSTRAP=127.0.0.1:1 " + testing::binaryPath("ingest/safestream-ingest") +
                                    " run --config " + config + " 2>&1");
  EXPECT_EQ(syntax.exitCode, 1) << syntax.output;
  EXPECT_NE(syntax.output.find(config + ":3:"), std::string::npos) << syntax.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace safestream
