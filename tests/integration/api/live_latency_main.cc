// api-live-latency: measures how fast alerts reach a WebSocket client.
//   --mode alert: publishes alerts to Redis as the processor does (XADD +
//                 PUBLISH) and times publish -> WebSocket frame (the API's part).
//   --mode e2e:   POSTs citizen reports inside a subscription's circle and
//                 times POST sent -> WebSocket frame (API -> Kafka ->
//                 processor -> Redis -> API); needs the processor running.
//                 Timing starts once one warm-up report's alert arrived.
// Prints count, p50, p99, max in milliseconds as one table row. Used by
// bench/api/run.sh. --dump FILE writes one line per alert received: the
// send time (ms since the first send) and the latency (ms), to see when
// slow alerts happen.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "core/redis_client.h"
#include "core/report_id.h"
#include "core/time.h"
#include "tests/integration/api/api_client.h"

using namespace safestream;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  const int port = std::stoi(a["--api-port"]);
  const std::string mode = a.count("--mode") ? a["--mode"] : "alert";
  const double rate = a.count("--rate") ? std::stod(a["--rate"]) : 1000;
  const double seconds = a.count("--seconds") ? std::stod(a["--seconds"]) : 10;
  const std::string redisUrl = a["--redis-url"];
  const double lat = 41.8781, lon = -87.6298;

  auto sub = testing::httpRequest(port, "POST", "/v1/subscriptions",
                                  json{{"area", {{"type", "circle"}, {"lat", lat}, {"lon", lon}, {"radius_m", 2000}}}}.dump(),
                                  {{"content-type", "application/json"}});
  if (sub.status != 201) {
    std::cerr << "cannot create subscription: " << sub.status << " " << sub.body << "\n";
    return 1;
  }
  const std::string id = json::parse(sub.body)["id"], token = json::parse(sub.body)["token"];
  // Its subscription goes with it, also on an early exit: one left behind
  // per run would match every later run's probes too (each report then
  // alerts several times over), and any benchmark's reports in its circle.
  auto deleteSubscription = [&] {
    auto del = testing::httpRequest(port, "DELETE", "/v1/subscriptions/" + id, "", {{"authorization", "Bearer " + token}});
    if (del.status != 204 && del.status != 200) std::cerr << "could not delete the subscription: " << del.status << "\n";
  };
  testing::WsClient ws;
  if (ws.connect(port, "/v1/subscriptions/" + id + "/live?token=" + token) != 101) {
    std::cerr << "WebSocket upgrade failed\n";
    deleteSubscription();
    return 1;
  }
  // Let the session finish its start-up read of the stream before timing.
  ws.read(std::chrono::milliseconds(300));
  if (mode == "e2e") {
    // Warm-up, not timed: one probe report through the whole path first. A
    // processor that has just started (a new consumer group, a new topic)
    // takes seconds to get its partitions assigned; that is start-up, not
    // the alert path. Its event time is far from the timed probes' (no
    // near-duplicate of them: those go back 31 min each, 215 days at most
    // for 10,000 probes; the API takes a year).
    json probe{{"category", "assault"}, {"description", "latency warm-up"}, {"lat", lat}, {"lon", lon},
               {"occurred_at", core::formatTimestamp(core::nowUtc() - std::chrono::hours(24 * 360))}};
    auto r = testing::httpRequest(port, "POST", "/v1/reports", probe.dump(), {{"content-type", "application/json"}});
    if (r.status != 202) {
      std::cerr << "warm-up report refused: " << r.status << " " << r.body << "\n";
      deleteSubscription();
      return 1;
    }
    const std::string key = json::parse(r.body)["id"];
    const auto until = Clock::now() + std::chrono::seconds(60);
    bool arrived = false;
    while (!arrived && Clock::now() < until && !ws.closed()) {
      auto frame = ws.read(std::chrono::milliseconds(500));
      if (!frame) continue;
      auto d = json::parse(*frame, nullptr, false);
      arrived = !d.is_discarded() && d.value("report_id", "") == key;
    }
    if (!arrived) {
      std::cerr << "the warm-up report's alert did not arrive within 60 s\n";
      deleteSubscription();
      return 1;
    }
  }

  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;  // key -> send time
  std::atomic<bool> done{false};
  std::atomic<long> failures{0};
  const long total = static_cast<long>(rate * seconds);

  std::vector<double> latencies;                    // under mu
  std::vector<std::pair<double, double>> timeline;  // (sent at, latency) per alert, under mu
  std::map<std::string, Clock::time_point> early;  // frames that beat the sender's bookkeeping (under mu)
  std::vector<std::thread> senders;
  const int threads = mode == "e2e" ? 8 : 1;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      std::unique_ptr<core::RedisClient> redis;
      if (mode == "alert") redis = std::make_unique<core::RedisClient>(core::RedisSettings{redisUrl});
      for (long i = t; i < total; i += threads) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<long>(i * 1e6 / rate)));
        if (mode == "alert") {
          const std::string key = core::randomUuid();
          json alert{{"alert_id", key}, {"type", "report"}, {"subscription_id", id}, {"created_at", core::formatTimestamp(core::nowUtc())},
                     {"report_id", key}, {"category", "assault"}, {"severity", 3}};
          {
            std::lock_guard lock(mu);
            sent[key] = Clock::now();
          }
          auto x = redis->command({"XADD", "safestream:alerts:" + id, "MAXLEN", "~", "10000", "*", "alert", alert.dump()});
          if (!x) { ++failures; continue; }
          alert["cursor"] = x->str;
          if (!redis->command({"PUBLISH", "safestream:alerts:live:" + id, alert.dump()})) ++failures;
        } else {
          // Event times 31 min apart, so the processor's near-duplicate
          // window (same category, 150 m, 30 min) never folds two probes into one alert.
          json body{{"category", "assault"}, {"description", "latency probe"}, {"lat", lat + (i % 100) * 1e-5}, {"lon", lon},
                    {"occurred_at", core::formatTimestamp(core::nowUtc() - std::chrono::minutes(1 + 31 * i))}};
          const auto t0 = Clock::now();
          auto r = testing::httpRequest(port, "POST", "/v1/reports", body.dump(), {{"content-type", "application/json"}});
          if (r.status != 202) { ++failures; continue; }
          const std::string key = json::parse(r.body)["id"];
          std::lock_guard lock(mu);
          // The alert may arrive before the POST's 202 does.
          if (auto e = early.find(key); e != early.end()) {
            latencies.push_back(ms(e->second - t0));
            timeline.emplace_back(ms(t0 - start), latencies.back());
            early.erase(e);
          } else {
            sent[key] = t0;
          }
        }
      }
    });
  }
  const auto deadline = start + std::chrono::duration<double>(seconds + 15);
  long frames = 0;
  auto received = [&] {
    std::lock_guard lock(mu);
    return static_cast<long>(latencies.size());
  };
  while (received() + failures < total && Clock::now() < deadline) {
    auto frame = ws.read(std::chrono::milliseconds(500));
    if (frame) ++frames;
    if (!frame) {
      if (ws.closed()) break;
      continue;
    }
    const auto now = Clock::now();
    auto d = json::parse(*frame, nullptr, false);
    if (d.is_discarded() || !d.contains("report_id")) continue;
    const std::string key = d["report_id"];
    std::lock_guard lock(mu);
    auto it = sent.find(key);
    if (it == sent.end()) {
      early.emplace(key, now);  // its POST has not returned yet
      continue;
    }
    latencies.push_back(ms(now - it->second));
    timeline.emplace_back(ms(it->second - start), latencies.back());
    sent.erase(it);
  }
  for (auto& s : senders) s.join();
  deleteSubscription();
  if (a.count("--dump")) {
    std::sort(timeline.begin(), timeline.end());
    if (FILE* f = std::fopen(a["--dump"].c_str(), "w")) {
      for (const auto& [at, latency] : timeline) std::fprintf(f, "%.3f %.3f\n", at, latency);
      std::fclose(f);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  std::cerr << "api-live-latency: " << frames << " frames, " << early.size() << " not matched to a POST, "
            << sent.size() << " POSTs without an alert, " << failures << " failed POSTs, socket "
            << (ws.closed() ? "closed" : "open") << "\n";
  auto pct = [&](double p) { return latencies.empty() ? -1.0 : latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))]; };
  std::printf("| %-6s | %8.0f | %8ld | %8zu | %8.2f | %8.2f | %8.2f |\n", mode.c_str(), rate, total, latencies.size(),
              pct(0.50), pct(0.99), latencies.empty() ? -1.0 : latencies.back());
  return latencies.empty() ? 2 : 0;
}
