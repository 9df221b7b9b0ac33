#pragma once
// Real clients for the API integration tests: an HTTP/1.1 client and a
// WebSocket client on Boost.Beast, a raw TCP socket for malformed and slow
// requests, and a fixture that launches safestream-api on free ports.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/daemon_process.h"

namespace safestream::testing {

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or closed)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpResult httpRequest(int port, const std::string& method, const std::string& target, const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Sends `bytes` as-is and returns whatever comes back until the server
// closes or `timeout` passes; `pauses` splits the send into pieces with a
// delay between them (slowloris).
std::string rawExchange(int port, const std::vector<std::string>& pieces, std::chrono::milliseconds pause,
                        std::chrono::milliseconds timeout);

class WsClient {
 public:
  WsClient();
  ~WsClient();
  // Upgrades; returns the HTTP status of the handshake (101 on success).
  int connect(int port, const std::string& target, const std::map<std::string, std::string>& headers = {});
  // The next text frame, or nullopt on timeout/close (closeCode() then says why).
  std::optional<std::string> read(std::chrono::milliseconds timeout);
  int closeCode() const { return closeCode_; }
  bool closed() const { return closed_; }
  void close();
  // Shrinks the socket's receive buffer so a client that stops reading is noticed quickly.
  void setSmallReceiveBuffer();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int closeCode_ = 0;
  bool closed_ = false;
};

// safestream-api on free ports against the local stack.
class ApiDaemon {
 public:
  explicit ApiDaemon(std::vector<std::string> extraArgs = {});
  int port() const { return port_; }
  int metricsPort() const { return metricsPort_; }
  DaemonProcess& process() { return *process_; }
  std::string logTail() const { return process_->logTail(); }

 private:
  int port_;
  int metricsPort_;
  std::unique_ptr<DaemonProcess> process_;
};

// The value of a metric line (first sample whose line starts with `prefix`), or -1.
double metricValue(const std::string& metricsText, const std::string& prefix);

}  // namespace safestream::testing
