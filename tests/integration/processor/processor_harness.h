#pragma once
// Shared helpers of the processor's integration tests: launch the daemon
// with its own group, metrics port and S3 prefix; read back what it wrote.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/daemon_process.h"

namespace safestream::testing {

// Deletes the Redis keys under a prefix when destroyed (moved: only the
// last owner does).
class RedisKeysCleanup {
 public:
  RedisKeysCleanup() = default;
  explicit RedisKeysCleanup(std::string prefix) : prefix_(std::move(prefix)) {}
  RedisKeysCleanup(RedisKeysCleanup&& o) noexcept : prefix_(std::exchange(o.prefix_, {})) {}
  RedisKeysCleanup& operator=(RedisKeysCleanup&& o) noexcept {
    std::swap(prefix_, o.prefix_);
    return *this;
  }
  ~RedisKeysCleanup();

 private:
  std::string prefix_;
};

struct ProcessorRun {
  std::string tag;       // unique per test: prefixes source ids, names the group and S3 prefix
  std::string groupId;
  std::string s3Prefix;
  // Of the near-duplicate index in Redis: each run its own (the index is
  // shared and persistent, so the same samples of another test, under other
  // ids, would otherwise be the roots of ours). Other instances share it.
  std::string dedupePrefix;
  RedisKeysCleanup dedupeKeys;  // the run's index is deleted with the run (the shared stack's Redis stays small)
  int metricsPort = 0;
  std::unique_ptr<DaemonProcess> daemon;
  std::string metricsUrl() const { return "http://127.0.0.1:" + std::to_string(metricsPort); }
};

// Starts safestream-processor (waits for /healthz). `extraArgs` are appended.
ProcessorRun startProcessor(const std::string& name, std::vector<std::string> extraArgs = {});

// A second instance in the same group, writing to the same S3 prefix (own metrics port).
std::unique_ptr<DaemonProcess> startAnotherInstance(const ProcessorRun& first, int& metricsPort,
                                                   std::vector<std::string> extraArgs = {});

// SELECT returning one number.
long long pgScalar(const std::string& sql);
// A statement run and committed.
void pgExec(const std::string& sql);

// Every NDJSON line under the prefix, per object (gunzipped).
std::map<std::string, std::vector<std::string>> s3Lines(const std::string& prefix);

// Every line of a metric on /metrics: label text (inside the braces) -> value.
std::map<std::string, double> metricSeries(const std::string& metricsUrl, const std::string& name);

// Value of a counter/gauge line of /metrics (sum over label sets matching `labels`); -1 if absent.
double metricValue(const std::string& metricsUrl, const std::string& name, const std::string& labels = "");

}  // namespace safestream::testing
