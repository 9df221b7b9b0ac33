#pragma once
// Wires the API together: Kafka producer, PostgreSQL and Redis pools, the
// stores, the live-alert hub and its Redis listener, the route handlers, the
// Beast server on --port and core::AdminServer on --metrics-port.
//
// Lifetime: construction connects and starts serving (throws ConfigError on
// a bad setting or an unreachable server); stop()/destruction stops in
// reverse order: server, listener, producer flush.
#include <memory>

#include "api/api_config.h"

namespace prometheus {
class Registry;
}

namespace safestream::api {

class ApiApp {
 public:
  ApiApp(const ApiConfig& config, std::shared_ptr<prometheus::Registry> registry);
  ~ApiApp();
  ApiApp(const ApiApp&) = delete;
  ApiApp& operator=(const ApiApp&) = delete;

  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI document (schemas/openapi.yaml), embedded at build time.
const char* openApiYaml();

}  // namespace safestream::api
