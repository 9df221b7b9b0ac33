#include "core/readiness_prober.h"

#include <exception>

namespace safestream::core {

ReadinessProber::ReadinessProber(std::vector<DependencyProbe> probes, std::chrono::milliseconds interval)
    : probes_(std::move(probes)), interval_(interval) {
  probeNow();
  thread_ = std::thread([this] {
    std::unique_lock lock(stopMu_);
    while (!stopCv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      probeNow();
      lock.lock();
    }
  });
}

ReadinessProber::~ReadinessProber() {
  {
    std::lock_guard lock(stopMu_);
    stop_ = true;
  }
  stopCv_.notify_all();
  thread_.join();
}

void ReadinessProber::probeNow() {
  std::lock_guard round(roundMu_);
  Readiness r;
  for (const auto& p : probes_) {
    // A probe that throws is a failed probe, never a dead prober thread.
    try {
      if (auto s = p.check(); !s) r.problems.push_back(p.name + ": " + s.error().message);
    } catch (const std::exception& e) {
      r.problems.push_back(p.name + ": " + e.what());
    }
  }
  r.ready = r.problems.empty();
  std::lock_guard lock(stateMu_);
  state_ = std::move(r);
}

Readiness ReadinessProber::state() const {
  std::lock_guard lock(stateMu_);
  return state_;
}

Readiness combine(Readiness a, const Readiness& b) {
  a.ready = a.ready && b.ready;
  a.problems.insert(a.problems.end(), b.problems.begin(), b.problems.end());
  return a;
}

}  // namespace safestream::core
