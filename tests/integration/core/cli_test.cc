// Every daemon: --help documents its options; a bad flag, a missing variable
// or an unreachable server gives one clear line and a non-zero exit.
#include <gtest/gtest.h>

#include "tests/support/stack_env.h"

namespace safestream {
namespace {

struct Binary {
  std::string name;
  std::string path;
};

std::vector<Binary> daemons() {
  return {{"ingest", testing::binaryPath("ingest/safestream-ingest")},
          {"processor", testing::binaryPath("processor/safestream-processor")},
          {"api", testing::binaryPath("api/safestream-api")},
          {"devbroker", testing::binaryPath("deploy/devbroker/safestream-devbroker")},
          {"migrate", testing::binaryPath("core/safestream-migrate")}};
}

// Runs with a clean SAFESTREAM_* environment so the developer's .env does not leak in.
testing::CommandResult runClean(const std::string& cmd, int timeout = 30) {
  return testing::runCommand("env $(env | grep -o '^SAFESTREAM_[A-Z0-9_]*' | sed 's/^/-u /') " + cmd, timeout);
}

TEST(Cli, HelpDocumentsOptionsAndExitsZero) {
  for (const auto& b : daemons()) {
    auto r = runClean(b.path + " --help");
    EXPECT_EQ(r.exitCode, 0) << b.name << ": " << r.output;
    EXPECT_NE(r.output.find("--help"), std::string::npos) << b.name;
    EXPECT_NE(r.output.find("Options:"), std::string::npos) << b.name << ": " << r.output;
  }
}

TEST(Cli, UnknownFlagIsOneClearLine) {
  for (const auto& b : daemons()) {
    auto r = runClean(b.path + " --no-such-flag=1");
    EXPECT_EQ(r.exitCode, 2) << b.name << ": " << r.output;
    EXPECT_NE(r.output.find("no-such-flag"), std::string::npos) << b.name << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << b.name << ": " << r.output;
  }
}

TEST(Cli, MissingRequiredVariableNamesIt) {
  auto r = runClean(daemons()[1].path);
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("kafka-bootstrap"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("SAFESTREAM_KAFKA_BOOTSTRAP"), std::string::npos) << r.output;
}

TEST(Cli, UnreachableServerFailsFastWithItsName) {
  auto r = runClean("SAFESTREAM_PG_URL=postgresql://u:topsecret@127.0.0.1:1/db " + daemons()[4].path, 30);
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("unreachable"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("topsecret"), std::string::npos) << "secret leaked: " << r.output;
}

}  // namespace
}  // namespace safestream
