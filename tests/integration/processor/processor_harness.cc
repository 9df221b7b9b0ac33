#include "tests/integration/processor/processor_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <sstream>

#include "core/redis_client.h"
#include "core/report_id.h"
#include "core/s3_client.h"
#include "processor/s3_archive_sink.h"
#include "tests/support/stack_env.h"

namespace safestream::testing {

namespace {
bool has(const std::vector<std::string>& args, const std::string& flag) {
  return std::find(args.begin(), args.end(), flag) != args.end();
}

// Archive objects close after a second unless the test says otherwise, so
// the tests see them while the daemon runs; the run's own near-duplicate
// index unless the test names one.
void withFastRotation(std::vector<std::string>& args, const std::vector<std::string>& extraArgs,
                      const std::string& dedupePrefix) {
  if (!has(extraArgs, "--s3-rotate-interval")) args.insert(args.end(), {"--s3-rotate-interval", "1"});
  if (!has(extraArgs, "--dedupe-key-prefix")) args.insert(args.end(), {"--dedupe-key-prefix", dedupePrefix});
  if (!has(extraArgs, "--dedupe-ttl-hours")) args.insert(args.end(), {"--dedupe-ttl-hours", "1"});  // if a run is cut short
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
}
}  // namespace

ProcessorRun startProcessor(const std::string& name, std::vector<std::string> extraArgs) {
  loadStackEnvIntoProcess();
  ProcessorRun run;
  run.tag = name + "-" + core::randomUuid().substr(0, 8) + "-";
  run.groupId = "it-" + run.tag + "group";
  run.s3Prefix = "it/" + run.tag.substr(0, run.tag.size() - 1);
  run.dedupePrefix = "safestream:test:dedupe:" + run.tag;
  run.dedupeKeys = RedisKeysCleanup(run.dedupePrefix);
  run.metricsPort = freePort();
  std::vector<std::string> args{"--group-id", run.groupId, "--metrics-port", std::to_string(run.metricsPort),
                                "--s3-prefix", run.s3Prefix};
  withFastRotation(args, extraArgs, run.dedupePrefix);
  run.daemon = std::make_unique<DaemonProcess>(binaryPath("processor/safestream-processor"), args);
  run.daemon->start();
  EXPECT_TRUE(run.daemon->waitHealthy(run.metricsUrl() + "/healthz")) << run.daemon->logTail();
  return run;
}

std::unique_ptr<DaemonProcess> startAnotherInstance(const ProcessorRun& first, int& metricsPort,
                                                   std::vector<std::string> extraArgs) {
  metricsPort = freePort();
  std::vector<std::string> args{"--group-id", first.groupId, "--metrics-port", std::to_string(metricsPort),
                                "--s3-prefix", first.s3Prefix};
  withFastRotation(args, extraArgs, first.dedupePrefix);
  auto d = std::make_unique<DaemonProcess>(binaryPath("processor/safestream-processor"), args);
  d->start();
  EXPECT_TRUE(d->waitHealthy("http://127.0.0.1:" + std::to_string(metricsPort) + "/healthz")) << d->logTail();
  return d;
}

RedisKeysCleanup::~RedisKeysCleanup() {
  if (prefix_.empty()) return;
  try {
    core::RedisClient redis({requireStackEnv("SAFESTREAM_REDIS_URL"), std::chrono::seconds(10)});
    std::string cursor = "0";
    do {
      auto page = redis.command({"SCAN", cursor, "MATCH", prefix_ + "*", "COUNT", "5000"});
      if (!page.ok() || page->elements.size() != 2) return;
      cursor = page->elements[0].str;
      std::vector<std::string> unlink{"UNLINK"};
      for (const auto& k : page->elements[1].elements) unlink.push_back(k.str);
      if (unlink.size() > 1) (void)redis.command(unlink);
    } while (cursor != "0");
  } catch (const std::exception&) {
  }
}

long long pgScalar(const std::string& sql) {
  pqxx::connection c(requireStackEnv("SAFESTREAM_PG_URL"));
  pqxx::work tx(c);
  auto row = tx.exec1(sql);
  return row[0].is_null() ? 0 : row[0].as<long long>();
}

void pgExec(const std::string& sql) {
  pqxx::connection c(requireStackEnv("SAFESTREAM_PG_URL"));
  pqxx::work tx(c);
  tx.exec0(sql);
  tx.commit();
}

std::map<std::string, std::vector<std::string>> s3Lines(const std::string& prefix) {
  core::S3Client s3({requireStackEnv("SAFESTREAM_S3_ENDPOINT"), requireStackEnv("SAFESTREAM_S3_BUCKET"),
                     stackEnv("SAFESTREAM_S3_REGION").value_or("us-east-1"),
                     requireStackEnv("SAFESTREAM_S3_ACCESS_KEY"), requireStackEnv("SAFESTREAM_S3_SECRET_KEY")});
  std::map<std::string, std::vector<std::string>> out;
  auto keys = s3.list(prefix + "/");
  EXPECT_TRUE(keys.ok()) << (keys.ok() ? "" : keys.error().message);
  if (!keys.ok()) return out;
  for (const auto& k : *keys) {
    if (k.size() < 10 || k.compare(k.size() - 10, 10, ".ndjson.gz") != 0) continue;  // markers
    auto body = s3.get(k);
    EXPECT_TRUE(body.ok()) << k;
    if (!body.ok()) continue;
    std::istringstream in(processor::gzipDecompress(*body));
    std::string line;
    auto& lines = out[k];
    while (std::getline(in, line)) {
      if (!line.empty()) lines.push_back(line);
    }
  }
  return out;
}

double metricValue(const std::string& metricsUrl, const std::string& name, const std::string& labels) {
  auto [status, body] = httpGet(metricsUrl + "/metrics");
  if (status != 200) return -1;
  std::istringstream in(body);
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    if (!labels.empty() && line.find(labels) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    found = true;
  }
  return found ? sum : -1;
}

std::map<std::string, double> metricSeries(const std::string& metricsUrl, const std::string& name) {
  std::map<std::string, double> out;
  auto [status, body] = httpGet(metricsUrl + "/metrics");
  if (status != 200) return out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const auto close = line.rfind('}');
    if (close == std::string::npos) continue;
    out[line.substr(name.size() + 1, close - name.size() - 1)] = std::stod(line.substr(line.rfind(' ') + 1));
  }
  return out;
}

}  // namespace safestream::testing
