// 2,000 WebSocket clients on two safestream-api instances, alerts flowing
// from Redis as the processor publishes them; one instance is killed
// mid-stream and its clients reconnect to the other with their last cursor.
// Every client must see every alert of its subscription exactly once, in
// publication order: nothing lost across the failover, nothing repeated.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/live_feed.h"
#include "core/redis_client.h"
#include "core/report_id.h"
#include "tests/integration/api/api_client.h"
#include "tests/integration/api/ws_swarm.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::size_t kClients = 2000;
constexpr std::size_t kSubscriptions = 20;
constexpr int kRounds = 30;
constexpr int kKillAfterRound = 10;

// A client per descriptor here and in each daemon: a fresh Debian shell
// starts at 1,024 (soft); the hard limit is the ceiling any process may take.
void raiseDescriptorLimit() {
  rlimit l{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &l), 0);
  l.rlim_cur = l.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &l), 0);
  ASSERT_GE(l.rlim_cur, kClients + 500) << "descriptor limit too low for the swarm";
}

TEST(ApiLiveFailover, TwoThousandClientsResumeOnTheOtherInstanceWithoutAGap) {
  raiseDescriptorLimit();
  const std::vector<std::string> flags = {"--rate-limit-per-minute", "0", "--ws-ping-seconds", "5"};
  testing::ApiDaemon a(flags), b(flags);
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});

  // Subscriptions, each with a seed alert: clients connect with after=<seed>,
  // so what they must receive is exactly what is published afterwards.
  struct Sub {
    std::string id, token, seed;
    std::vector<std::string> published;
  };
  std::vector<Sub> subs(kSubscriptions);
  auto publish = [&](Sub& s, const std::string& what) {
    json alert{{"alert_id", core::randomUuid()}, {"type", "report"}, {"subscription_id", s.id}, {"what", what}};
    auto id = redis.command({"XADD", core::live::subscriptionStream(s.id), "*", "alert", alert.dump()});
    EXPECT_TRUE(id.ok());
    alert["cursor"] = id->str;
    EXPECT_TRUE(redis.command({"PUBLISH", core::live::subscriptionChannel(s.id), alert.dump()}).ok());
    return id->str;
  };
  for (std::size_t k = 0; k < kSubscriptions; ++k) {
    auto r = testing::httpRequest(a.port(), "POST", "/v1/subscriptions",
                                  json{{"area", {{"type", "circle"}, {"lat", 41.8 + 0.001 * static_cast<double>(k)}, {"lon", -87.6}, {"radius_m", 500}}}}.dump(),
                                  {{"content-type", "application/json"}});
    ASSERT_EQ(r.status, 201) << r.body;
    auto d = json::parse(r.body);
    subs[k].id = d["id"];
    subs[k].token = d["token"];
    subs[k].seed = publish(subs[k], "seed");
  }

  // Client i: subscription i % 20, first on instance i % 2, the other one next.
  std::vector<testing::WsSwarm::Client> clients(kClients);
  for (std::size_t i = 0; i < kClients; ++i) {
    const auto& s = subs[i % kSubscriptions];
    clients[i].ports = i % 2 == 0 ? std::vector<int>{a.port(), b.port()} : std::vector<int>{b.port(), a.port()};
    clients[i].target = "/v1/subscriptions/" + s.id + "/live?token=" + s.token;
    clients[i].lastCursor = s.seed;
  }
  testing::WsSwarm::Options options;
  options.reconnect = true;
  std::mutex mu;
  std::vector<std::vector<std::string>> received(kClients);
  testing::WsSwarm swarm(std::move(clients), options, [&](std::size_t i, std::string_view frame, auto) {
    auto d = json::parse(frame, nullptr, false);
    std::lock_guard lock(mu);
    received[i].push_back(d.is_object() && d.contains("cursor") ? d["cursor"].get<std::string>() : "(bad frame)");
  });
  std::thread loop([&] { swarm.run(std::chrono::steady_clock::now() + 90s); });

  ASSERT_TRUE(testing::waitUntil([&] { return swarm.open() == kClients || swarm.failures() > 0; }, 30s))
      << swarm.open() << " of " << kClients << " open";
  ASSERT_EQ(swarm.open(), kClients) << swarm.failures() << " upgrades failed";

  for (int round = 0; round < kRounds; ++round) {
    for (auto& s : subs) s.published.push_back(publish(s, "round-" + std::to_string(round)));
    if (round == kKillAfterRound) a.process().kill();  // SIGKILL: no close frames, the sockets just die
    std::this_thread::sleep_for(30ms);                  // alerts keep flowing while the clients move over
  }
  auto complete = [&] {
    std::lock_guard lock(mu);
    for (std::size_t i = 0; i < kClients; ++i) {
      if (received[i].size() < subs[i % kSubscriptions].published.size()) return false;
    }
    return true;
  };
  const bool done = testing::waitUntil(complete, 30s);
  swarm.stop();
  loop.join();

  std::size_t moved = 0, wrong = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    if (swarm.client(i).reconnects > 0) ++moved;
    if (received[i] != subs[i % kSubscriptions].published) {
      if (++wrong <= 3) {
        ADD_FAILURE() << "client " << i << " (reconnects " << swarm.client(i).reconnects << ") got " << received[i].size()
                      << " alerts, expected " << subs[i % kSubscriptions].published.size() << " in publication order";
      }
    }
  }
  EXPECT_TRUE(done) << "not every client received all alerts within 30 s";
  EXPECT_EQ(wrong, 0u) << "clients with a gap, a duplicate or another order";
  EXPECT_GE(moved, kClients / 2) << "the killed instance's clients must have reconnected";
  EXPECT_EQ(swarm.open(), kClients) << "every client ends connected (to the surviving instance)";
  for (auto& s : subs) redis.command({"DEL", core::live::subscriptionStream(s.id)}).value();
}

}  // namespace
}  // namespace safestream
