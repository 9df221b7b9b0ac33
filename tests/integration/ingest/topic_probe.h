#pragma once
// Test helpers for counting what a test itself published on a shared topic:
// a background consumer (unique group, from the earliest retained offset)
// that keeps the report ids of messages carrying a given `source` header and
// the highest offset read per partition, and the topic's current end offsets
// (from kcat), so a test can wait until everything published so far was read.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/report.h"

namespace safestream::testing {

std::map<int, std::int64_t> endOffsets(const std::string& bootstrap, const std::string& topic);

class TopicCollector {
 public:
  TopicCollector(std::string bootstrap, std::string topic, std::set<std::string> sources);
  ~TopicCollector();

  // Report ids seen for the watched sources (duplicates counted in total()).
  std::set<std::string> ids() const;
  std::size_t total() const;
  std::vector<core::Report> reports() const;
  std::size_t undecodable() const { return undecodable_.load(); }
  // True once the consumer read up to `ends` on every partition.
  bool caughtUp(const std::map<int, std::int64_t>& ends) const;

 private:
  void loop();
  std::string bootstrap_, topic_;
  std::set<std::string> sources_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> undecodable_{0};
  mutable std::mutex mu_;
  std::set<std::string> ids_;
  std::size_t total_ = 0;
  std::vector<core::Report> reports_;
  std::map<int, std::int64_t> next_;  // partition -> next offset to read
  std::thread thread_;
};

}  // namespace safestream::testing
