#include "tests/support/stack_env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

namespace safestream::testing {
namespace {

std::map<std::string, std::string> loadEnvFile() {
  std::map<std::string, std::string> vars;
  const char* file = std::getenv("SAFESTREAM_ENV_FILE");
  std::ifstream in(file && *file ? std::string(file) : sourcePath("deploy/local/.env"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    if (key.rfind("export ", 0) == 0) key = key.substr(7);
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    vars[key] = value;
  }
  return vars;
}

}  // namespace

std::optional<std::string> stackEnv(const std::string& name) {
  if (const char* v = std::getenv(name.c_str()); v && *v) return std::string(v);
  static std::once_flag once;
  static std::map<std::string, std::string> file;
  std::call_once(once, [] { file = loadEnvFile(); });
  auto it = file.find(name);
  if (it == file.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::string requireStackEnv(const std::string& name) {
  auto v = stackEnv(name);
  if (!v) {
    throw std::runtime_error(name + " is not set: start the local stack (deploy/local/stack.sh up) "
                                    "or run deploy/local/test.sh");
  }
  return *v;
}

std::string sourcePath(const std::string& relative) { return std::string(SAFESTREAM_SOURCE_DIR) + "/" + relative; }
std::string binaryPath(const std::string& relative) { return std::string(SAFESTREAM_BINARY_DIR) + "/" + relative; }

CommandResult runCommand(const std::string& command, int timeoutSeconds) {
  CommandResult r;
  std::string quoted = "'";
  for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::string full = "timeout -k 5 " + std::to_string(timeoutSeconds) + " sh -c " + quoted + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace safestream::testing
