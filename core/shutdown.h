#pragma once
// Graceful shutdown on SIGTERM/SIGINT. Construct once in main *before* any
// thread starts: it blocks the signals in every thread and a dedicated
// thread waits for them with sigwait, so no code runs in a signal handler.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace safestream::core {

class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  bool requested() const { return requested_.load(); }
  // Blocks until a signal arrives or `timeout` passes; true if shutdown.
  bool waitFor(std::chrono::milliseconds timeout);
  void wait();
  // Requests shutdown from code (tests, fatal worker errors).
  void request();

 private:
  std::atomic<bool> requested_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread waiter_;
};

}  // namespace safestream::core
