#include "core/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include "core/log.h"

namespace safestream::core {
namespace {
sigset_t shutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);  // used internally to wake the waiter on destruction
  return set;
}
}  // namespace

ShutdownSignal::ShutdownSignal() {
  sigset_t set = shutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // broken sockets are errors, not process death
  waiter_ = std::thread([this, set] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == SIGUSR1 && requested_.load()) return;
      if (sig == SIGTERM || sig == SIGINT) {
        log::info("shutdown_requested", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        request();
        return;
      }
    }
  });
}

ShutdownSignal::~ShutdownSignal() {
  request();
  pthread_kill(waiter_.native_handle(), SIGUSR1);
  waiter_.join();
}

void ShutdownSignal::request() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requested_.store(true);
  }
  cv_.notify_all();
}

bool ShutdownSignal::waitFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return requested_.load(); });
}

void ShutdownSignal::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return requested_.load(); });
}

}  // namespace safestream::core
