#pragma once
// Readiness from probes of every dependency a daemon needs, run on the
// prober's own thread every `interval`, so /readyz shows a dead dependency
// before data arrives (a sink that fails only on its first write is found
// too late) and answers at once from the last round's state.
//
// Threading: the probes run one after another on the prober's thread; each
// must bound its own time (a timeout of its own, well under `interval`).
// state() may be called from any thread. The destructor stops the thread
// and waits for a round in progress.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/admin_server.h"
#include "core/result.h"

namespace safestream::core {

struct DependencyProbe {
  std::string name;              // "postgres", "redis", "s3", "kafka": prefixes the problem line
  std::function<Status()> check;  // ok, or the error whose message says what is wrong
};

class ReadinessProber {
 public:
  // Runs one round before returning, so state() is never a guess.
  ReadinessProber(std::vector<DependencyProbe> probes, std::chrono::milliseconds interval);
  ~ReadinessProber();
  ReadinessProber(const ReadinessProber&) = delete;
  ReadinessProber& operator=(const ReadinessProber&) = delete;

  Readiness state() const;
  // One round now, on the caller's thread (tests; start-up).
  void probeNow();

 private:
  std::vector<DependencyProbe> probes_;
  std::chrono::milliseconds interval_;
  mutable std::mutex stateMu_;
  Readiness state_;
  std::mutex roundMu_;  // one round at a time
  std::mutex stopMu_;
  std::condition_variable stopCv_;
  bool stop_ = false;
  std::thread thread_;
};

// Both must hold: the probes' state and the daemon's own (e.g. its lanes).
Readiness combine(Readiness a, const Readiness& b);

}  // namespace safestream::core
