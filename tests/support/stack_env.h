#pragma once
// Where the local stack is: integration tests read the variables that
// deploy/local/stack.sh writes (process environment first, then the env file
// named by SAFESTREAM_ENV_FILE, then deploy/local/.env). A missing server is
// a test failure, never a skip.
#include <optional>
#include <string>

namespace safestream::testing {

std::optional<std::string> stackEnv(const std::string& name);
// Fails the current test (fatally, via exception caught by gtest) when unset.
std::string requireStackEnv(const std::string& name);

std::string sourcePath(const std::string& relative);   // inside the source tree
std::string binaryPath(const std::string& relative);   // inside the build tree

struct CommandResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr together
};
// Runs `command` through /bin/sh with a timeout (seconds) via coreutils timeout.
CommandResult runCommand(const std::string& command, int timeoutSeconds = 60);

}  // namespace safestream::testing
