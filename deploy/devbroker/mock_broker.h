#pragma once
// A local Kafka broker for development and tests: librdkafka's mock cluster
// (real Kafka protocol over TCP on loopback), in memory only.
#include <memory>
#include <string>
#include <vector>

namespace safestream::devbroker {

struct BrokerOptions {
  int brokers = 1;
  int partitions = 4;
  std::vector<std::string> topics{"reports.raw", "reports.enriched", "reports.dlq", "alerts"};
};

class MockBroker {
 public:
  explicit MockBroker(const BrokerOptions& options);  // throws ConfigError
  ~MockBroker();
  MockBroker(const MockBroker&) = delete;
  MockBroker& operator=(const MockBroker&) = delete;
  // "127.0.0.1:port[,...]": what clients use as bootstrap.servers.
  std::string bootstrap() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safestream::devbroker
