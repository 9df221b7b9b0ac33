#pragma once
// The operator endpoints every daemon serves on its metrics port:
//   GET /metrics  Prometheus text format
//   GET /healthz  200 while the process runs
//   GET /readyz   200 when every dependency answers, else 503 with reasons
// Implemented on cpprestsdk's listener; its headers stay in admin_server.cc.
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace safestream::core {

struct Readiness {
  bool ready = true;
  std::vector<std::string> problems;  // one line each, e.g. "postgres: connection refused"
};

class AdminServer {
 public:
  // Starts listening at once; throws ConfigError if the port cannot be bound.
  // `readiness` is called on the listener's threads, so it must be thread-safe
  // and quick (it reports state, it does not probe with long timeouts).
  AdminServer(const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
              std::function<Readiness()> readiness);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safestream::core
