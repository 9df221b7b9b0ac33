#include "tests/integration/ingest/topic_probe.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "core/kafka.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "tests/support/stack_env.h"

namespace safestream::testing {

std::map<int, std::int64_t> endOffsets(const std::string& bootstrap, const std::string& topic) {
  auto meta = runCommand("kcat -b " + bootstrap + " -L -t " + topic, 30);
  EXPECT_EQ(meta.exitCode, 0) << meta.output;
  int partitions = 0;
  std::smatch m;
  if (std::regex_search(meta.output, m, std::regex("with ([0-9]+) partitions"))) partitions = std::stoi(m[1]);
  EXPECT_GT(partitions, 0) << meta.output;
  std::string cmd = "kcat -b " + bootstrap + " -Q";
  for (int p = 0; p < partitions; ++p) cmd += " -t " + topic + ":" + std::to_string(p) + ":-1";
  auto q = runCommand(cmd, 30);
  EXPECT_EQ(q.exitCode, 0) << q.output;
  std::map<int, std::int64_t> ends;
  std::istringstream lines(q.output);
  std::string line;
  const std::regex re("\\[([0-9]+)\\] offset ([0-9]+)");
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, re)) ends[std::stoi(m[1])] = std::stoll(m[2]);
  }
  EXPECT_EQ(static_cast<int>(ends.size()), partitions) << q.output;
  return ends;
}

TopicCollector::TopicCollector(std::string bootstrap, std::string topic, std::set<std::string> sources)
    : bootstrap_(std::move(bootstrap)), topic_(std::move(topic)), sources_(std::move(sources)) {
  thread_ = std::thread([this] { loop(); });
}

TopicCollector::~TopicCollector() {
  stop_ = true;
  thread_.join();
}

void TopicCollector::loop() {
  core::KafkaConsumer c({bootstrap_, {}}, {.groupId = "ingest-test-" + core::randomUuid().substr(0, 8), .topics = {topic_}});
  while (!stop_) {
    auto batch = c.poll(1000, std::chrono::milliseconds(200));
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& m : batch) {
      next_[m.partition] = std::max(next_[m.partition], m.offset + 1);
      std::string source;
      for (const auto& [k, v] : m.headers) {
        if (k == "source") source = v;
      }
      if (!sources_.count(source)) continue;
      auto r = core::decodeReport(m.value);
      if (!r || !sources_.count(r->source) || r->id.value != m.key) {
        ++undecodable_;
        continue;
      }
      ++total_;
      ids_.insert(r->id.value);
      reports_.push_back(std::move(*r));
    }
  }
  c.close();
}

std::set<std::string> TopicCollector::ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ids_;
}

std::size_t TopicCollector::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

std::vector<core::Report> TopicCollector::reports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reports_;
}

bool TopicCollector::caughtUp(const std::map<int, std::int64_t>& ends) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [p, end] : ends) {
    // Partitions with nothing in them never deliver a message: 0 is caught up.
    if (end == 0) continue;
    auto it = next_.find(p);
    if (it == next_.end() || it->second < end) return false;
  }
  return true;
}

}  // namespace safestream::testing
