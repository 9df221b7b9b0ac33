#pragma once
// A small HTTP/1.1 server for tests, bound to 127.0.0.1 on a free port, that
// answers each request with whatever the test's handler says — including
// misbehaviour: error statuses, Retry-After, hanging past the client's
// timeout, a body cut short of its Content-Length. One thread per connection;
// every connection is closed after one response. Plain POSIX sockets.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace safestream::testing {

struct FakeRequest {
  std::string path;   // "/crimes.json"
  std::map<std::string, std::string> query;   // decoded
  std::map<std::string, std::string> headers; // lower-case names
};

struct FakeReply {
  FakeReply() = default;
  FakeReply(int s, std::string b, std::string type = "application/json",
            std::vector<std::pair<std::string, std::string>> h = {}, std::chrono::milliseconds d = {}, bool cut = false)
      : status(s), body(std::move(b)), contentType(std::move(type)), headers(std::move(h)), delay(d), truncate(cut) {}
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // wait before answering (a hang)
  bool truncate = false;               // announce the full length, send half, close
};

class FakeSourceServer {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&, int index)>;  // index: 0-based request count
  explicit FakeSourceServer(Handler handler);
  ~FakeSourceServer();
  FakeSourceServer(const FakeSourceServer&) = delete;
  FakeSourceServer& operator=(const FakeSourceServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requestCount() const { return count_.load(); }
  std::vector<FakeRequest> requests() const;
  std::vector<std::chrono::steady_clock::time_point> requestTimes() const;

 private:
  void acceptLoop();
  void serve(int fd);
  Handler handler_;
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> count_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<FakeRequest> requests_;
  std::vector<std::chrono::steady_clock::time_point> times_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace safestream::testing
