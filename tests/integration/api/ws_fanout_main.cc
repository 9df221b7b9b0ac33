// api-ws-fanout: the two halves of bench/api/ws_fanout.sh.
//
//   api-ws-fanout clients --ports P[,P...] --connections N --all-target T1 --one-target T2
//                 [--one-every 100] [--source-base 2] [--ready FILE] [--out FILE] [--seconds 600]
//     Opens N WebSockets (every one-every'th on T2, the rest on T1) and
//     records, for every bench frame, its kind and publish -> arrival
//     latency. Writes FILE (--ready) once all are open ("open N setup_ms X")
//     and the samples to --out on SIGTERM/SIGINT or after --seconds.
//   api-ws-fanout publish --redis-url URL --all-feed NAME --one-feed NAME [--rounds 10] [--gap-ms 1000]
//     Per round: one alert to all (XADD + PUBLISH on both broadcast
//     channels, as the processor would), then one to the one-feed only.
//     Each frame carries "t", the publisher's CLOCK_MONOTONIC in ns, taken
//     before the first XADD; clients on the same machine subtract it.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "core/live_feed.h"
#include "core/redis_client.h"
#include "tests/integration/api/ws_swarm.h"

using namespace safestream;
using Clock = std::chrono::steady_clock;

namespace {

long long monoNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::map<std::string, std::string> args(int argc, char** argv, int from) {
  std::map<std::string, std::string> a;
  for (int i = from; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  return a;
}

std::string get(const std::map<std::string, std::string>& a, const std::string& k, const std::string& d = "") {
  auto it = a.find(k);
  return it == a.end() ? d : it->second;
}

long long numberAfter(std::string_view s, std::string_view key) {
  auto k = s.find(key);
  if (k == std::string_view::npos) return -1;
  long long v = 0;
  for (auto i = k + key.size(); i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

int clients(const std::map<std::string, std::string>& a) {
  std::vector<int> ports;
  std::stringstream ps(get(a, "--ports"));
  for (std::string p; std::getline(ps, p, ',');) ports.push_back(std::stoi(p));
  const std::size_t n = std::stoul(get(a, "--connections", "1000"));
  const std::size_t oneEvery = std::stoul(get(a, "--one-every", "100"));
  std::vector<testing::WsSwarm::Client> cs(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Spread over the ports so each API process gets its share of both feeds.
    cs[i].ports = {ports[i % ports.size()]};
    cs[i].target = (oneEvery > 0 && i % oneEvery == 0) ? get(a, "--one-target") : get(a, "--all-target");
  }
  testing::WsSwarm::Options o;
  o.sourceBase = std::stoi(get(a, "--source-base", "2"));
  o.perAddress = 20000;
  struct Sample {
    char kind;
    float us;
  };
  std::vector<Sample> samples;
  samples.reserve(n * 24);
  testing::WsSwarm swarm(std::move(cs), o, [&](std::size_t, std::string_view frame, Clock::time_point now) {
    const long long t = numberAfter(frame, "\"t\":");
    if (t < 0) return;
    const char kind = frame.find("\"k\":\"one\"") != std::string_view::npos ? 'o' : 'a';
    samples.push_back({kind, static_cast<float>((monoNs(now) - t) / 1000.0)});
  });
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    swarm.stop();
  });
  const auto until = Clock::now() + std::chrono::seconds(std::stoi(get(a, "--seconds", "600")));
  bool readyWritten = false;
  const std::string ready = get(a, "--ready");
  while (Clock::now() < until) {
    swarm.run(std::min(until, Clock::now() + std::chrono::milliseconds(200)));
    if (!readyWritten && swarm.everOpened() == swarm.size()) {
      const double setupMs = std::chrono::duration<double, std::milli>(swarm.allOpenAt() - swarm.startedAt()).count();
      if (!ready.empty()) std::ofstream(ready) << "open " << swarm.size() << " setup_ms " << setupMs << "\n";
      readyWritten = true;
    }
    if (swarm.stopped()) break;  // stop() from the signal thread ended run() early
  }
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  std::ofstream out(get(a, "--out", "/dev/stdout"));
  out << "# open " << swarm.open() << " ever " << swarm.everOpened() << " failures " << swarm.failures() << "\n";
  for (const auto& s : samples) out << s.kind << ' ' << s.us << '\n';
  return 0;
}

int publish(const std::map<std::string, std::string>& a) {
  core::RedisClient redis(core::RedisSettings{get(a, "--redis-url"), std::chrono::milliseconds(5000)});
  const std::string allFeed = get(a, "--all-feed"), oneFeed = get(a, "--one-feed");
  const int rounds = std::stoi(get(a, "--rounds", "10"));
  const auto gap = std::chrono::milliseconds(std::stoi(get(a, "--gap-ms", "1000")));
  auto send = [&](const std::vector<std::string>& feeds, const char* kind, int seq) {
    const long long t = monoNs(Clock::now());
    const std::string body = std::string("{\"type\":\"bench\",\"k\":\"") + kind + "\",\"seq\":" + std::to_string(seq) +
                             ",\"t\":" + std::to_string(t);
    std::vector<std::string> cursors;
    for (const auto& f : feeds) {
      auto id = redis.command({"XADD", core::live::broadcastStream(f), "MAXLEN", "~", "1000", "*", "alert", body + "}"});
      if (!id) throw std::runtime_error("XADD: " + id.error().message);
      cursors.push_back(id->str);
    }
    for (std::size_t i = 0; i < feeds.size(); ++i) {
      auto r = redis.command({"PUBLISH", core::live::broadcastChannel(feeds[i]), body + ",\"cursor\":\"" + cursors[i] + "\"}"});
      if (!r) throw std::runtime_error("PUBLISH: " + r.error().message);
    }
  };
  for (int r = 0; r < rounds; ++r) {
    send({allFeed, oneFeed}, "all", r);
    std::this_thread::sleep_for(gap);
    send({oneFeed}, "one", r);
    std::this_thread::sleep_for(gap);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::cout << "usage: api-ws-fanout clients|publish [options] (see bench/api/ws_fanout.sh)\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "clients") return clients(args(argc, argv, 2));
    if (mode == "publish") return publish(args(argc, argv, 2));
  } catch (const std::exception& e) {
    std::cerr << "api-ws-fanout: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "api-ws-fanout: unknown mode " << mode << "\n";
  return 2;
}
