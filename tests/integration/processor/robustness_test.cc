// Robustness: the processor is SIGKILLed mid-stream several times (while
// archive objects are open and while the alert lane is ahead of the
// PostgreSQL lane), and
// PostgreSQL is frozen (SIGSTOP) for 30 s mid-stream; every report must end
// up exactly once in PostgreSQL and exactly once in the S3 archive, alerts
// keep flowing while PostgreSQL is frozen, and no alert is sent twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cmath>
#include <regex>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "core/redis_client.h"
#include "core/report_id.h"
#include "core/subscription.h"
#include "processor/alerting/alert_format.h"
#include "tests/integration/processor/processor_harness.h"
#include "tests/integration/processor/sample_reports.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

std::vector<testing::SampleMessage> workload(const std::string& tag) {
  auto all = testing::chicagoSample(tag);
  auto spot = testing::spotcrimeSample(tag);
  all.insert(all.end(), spot.begin(), spot.end());
  return all;
}

// Every report of ours exactly once in S3, and no two objects of a partition
// covering the same offsets. With `atLeastOnce`, only "no report missing".
void expectArchivedExactlyOnce(const testing::ProcessorRun& run, std::size_t expected, bool atLeastOnce = false) {
  std::map<std::string, int> seen;
  std::map<std::string, std::vector<std::pair<long long, long long>>> ranges;  // partition -> [first,last]
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        seen.clear();
        ranges.clear();
        static const std::regex kName(R"(/([^/]+)-(\d+)-(\d+)-(\d+)\.ndjson\.gz$)");
        for (const auto& [key, lines] : testing::s3Lines(run.s3Prefix)) {
          std::smatch m;
          if (std::regex_search(key, m, kName)) {
            ranges[m[1].str() + "-" + m[2].str()].push_back({std::stoll(m[3]), std::stoll(m[4])});
          }
          for (const auto& l : lines) {
            const std::string sid = nlohmann::json::parse(l).value("source_id", "");
            if (sid.rfind(run.tag, 0) == 0) ++seen[sid];
          }
        }
        return seen.size() >= expected;
      },
      60s, 500ms))
      << seen.size() << " of " << expected << " archived";
  EXPECT_EQ(seen.size(), expected);
  if (atLeastOnce) return;
  for (const auto& [sid, n] : seen) EXPECT_EQ(n, 1) << sid << " archived " << n << " times";
  for (auto& [partition, rs] : ranges) {
    std::sort(rs.begin(), rs.end());
    rs.erase(std::unique(rs.begin(), rs.end()), rs.end());  // same range, several hours: one batch
    for (std::size_t i = 1; i < rs.size(); ++i) {
      EXPECT_GT(rs[i].first, rs[i - 1].second) << partition << ": objects overlap [" << rs[i - 1].first << ","
                                               << rs[i - 1].second << "] and [" << rs[i].first << "," << rs[i].second
                                               << "]";
    }
  }
}

// A subscription over most of the Chicago sample (20 km around the Loop, the largest radius allowed), written
// to PostgreSQL as the API does; the processor's listener picks it up.
// Removed again at the end.
class ChicagoWatch {
 public:
  static constexpr double kLat = 41.8781, kLon = -87.6298;
  ChicagoWatch() : id_(core::randomUuid()), redis_({testing::requireStackEnv("SAFESTREAM_REDIS_URL")}) {
    pqxx::connection c(testing::requireStackEnv("SAFESTREAM_PG_URL"));
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO subscriptions (id, token_hash, area_type, center_lat, center_lon, radius_m) "
                   "VALUES ($1::uuid, $2, 'circle', $3, $4, 20000)",
                   id_, core::hashToken(core::generateToken()), kLat, kLon);
    tx.commit();
  }
  ~ChicagoWatch() {
    try {
      testing::pgExec("DELETE FROM subscriptions WHERE id = '" + id_ + "'");
      (void)redis_.command({"DEL", processor::alerting::streamKey(id_)});
    } catch (const std::exception&) {
    }
  }
  // report_id of every alert in the subscription's stream, in order.
  std::vector<std::string> alertedReports() {
    std::vector<std::string> out;
    auto reply = redis_.command({"XRANGE", processor::alerting::streamKey(id_), "-", "+"});
    EXPECT_TRUE(reply.ok());
    if (!reply.ok()) return out;
    for (const auto& entry : reply->elements) {
      const auto& fields = entry.elements.at(1).elements;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str == "alert") out.push_back(nlohmann::json::parse(fields[i + 1].str).value("report_id", ""));
      }
    }
    return out;
  }
  static double metres(double lat, double lon) {
    const double rad = 3.14159265358979323846 / 180, dlat = (lat - kLat) * rad, dlon = (lon - kLon) * rad;
    const double a = std::pow(std::sin(dlat / 2), 2) + std::cos(kLat * rad) * std::cos(lat * rad) * std::pow(std::sin(dlon / 2), 2);
    return 6371000 * 2 * std::asin(std::sqrt(a));
  }
  // No report alerted twice, and every geocoded report of `tag` within 19 km
  // alerted (itself or the earlier report it is a near-duplicate of).
  void expectEveryReportAlertedOnce(const std::string& tag) {
    const auto alerted = alertedReports();
    std::map<std::string, int> n;
    for (const auto& r : alerted) ++n[r];
    for (const auto& [r, k] : n) {
      if (r.empty()) continue;  // surge alerts
      EXPECT_EQ(k, 1) << "report " << r << " alerted " << k << " times";
    }
    pqxx::connection c(testing::requireStackEnv("SAFESTREAM_PG_URL"));
    pqxx::work tx(c);
    auto rows = tx.exec_params(
        "SELECT id::text, coalesce(duplicate_of::text, '') FROM reports WHERE source_id LIKE $1 AND lat IS NOT NULL "
        "AND 6371000 * 2 * asin(sqrt(sin(radians(lat - $2) / 2) ^ 2 + cos(radians($2)) * cos(radians(lat)) * "
        "sin(radians(lon - $3) / 2) ^ 2)) < 19000",
        tag + "%", kLat, kLon);
    EXPECT_GT(rows.size(), 500u);
    std::size_t missing = 0;
    for (const auto& row : rows) {
      if (!n.count(row[0].as<std::string>()) && !n.count(row[1].as<std::string>())) ++missing;
    }
    EXPECT_EQ(missing, 0u) << "of " << rows.size() << " reports in the area";
  }

 private:
  std::string id_;
  core::RedisClient redis_;
};

TEST(ProcessorRobustness, SigkillMidStreamSeveralTimesLosesAndDuplicatesNothing) {
  ChicagoWatch watch;
  // Objects stay open 3 s, so every kill finds one open; alert streams keep
  // everything. The storage lanes linger 1.5 s over writes of up to 3,000
  // (more than a chunk), so the alert lane is that long ahead of the
  // PostgreSQL lane with each chunk, and the kills below wait for it.
  // A topic of its own: no backlog of other tests' reports (the same
  // samples, which the near-duplicate window would link to ours).
  const std::string topic = "it.kill." + core::randomUuid().substr(0, 8);
  auto run = testing::startProcessor("kill", {"--batch-size", "3000", "--storage-linger-ms", "1500",
                                              "--s3-rotate-interval", "3", "--alert-stream-maxlen", "100000",
                                              "--raw-topic", topic});
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  auto all = workload(run.tag);
  const std::string mine = "SELECT count(*) FROM reports WHERE source_id LIKE '" + run.tag + "%'";
  const std::size_t chunks = 4;
  const std::size_t per = (all.size() + chunks - 1) / chunks;
  int kills = 0;
  for (std::size_t i = 0; i < chunks; ++i) {
    std::vector<testing::SampleMessage> chunk(all.begin() + static_cast<long>(i * per),
                                              all.begin() + static_cast<long>(std::min(all.size(), (i + 1) * per)));
    testing::produceAll(bootstrap, chunk, topic);
    if (i + 1 == chunks) break;
    // Kill while this chunk is being written: once this instance's alert
    // lane has made offsets durable that its PostgreSQL lane has not (their
    // durable offsets, summed over partitions; a lane with none has no
    // series: -1). The alerts sent are then ahead of the rows and of the
    // commit, and the replay must not send them again. The archive's
    // objects stay open 3 s, so the kill finds some open too.
    auto durable = [&](const std::string& lane) {
      return testing::metricValue(run.metricsUrl(), "safestream_processor_lane_durable_offset",
                                  "lane=\"" + lane + "\"");
    };
    ASSERT_TRUE(testing::waitUntil(
        [&] {
          const double alerts = durable("alerts");
          return alerts > 0 && alerts > durable("postgres");
        },
        120s, 20ms))
        << "the alert lane never got ahead of the PostgreSQL lane\n" << run.daemon->logTail();
    run.daemon->kill();
    ++kills;
    run.daemon->start();
    ASSERT_TRUE(run.daemon->waitHealthy(run.metricsUrl() + "/healthz")) << run.daemon->logTail();
  }
  EXPECT_EQ(kills, 3);
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar(mine) >= static_cast<long long>(all.size()); }, 180s,
                                 500ms))
      << testing::pgScalar(mine) << " of " << all.size() << "\n" << run.daemon->logTail();
  EXPECT_EQ(testing::pgScalar(mine), static_cast<long long>(all.size()));
  expectArchivedExactlyOnce(run, all.size());
  watch.expectEveryReportAlertedOnce(run.tag);
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
}

TEST(ProcessorRobustness, TwoInstancesShareTheWorkAndAGracefulStopHandsOverWithoutLoss) {
  auto run = testing::startProcessor("scale", {"--batch-size", "300"});
  int secondPort = 0;
  auto second = testing::startAnotherInstance(run, secondPort, {"--batch-size", "300"});
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  auto all = workload(run.tag);
  const std::string mine = "SELECT count(*) FROM reports WHERE source_id LIKE '" + run.tag + "%'";
  const std::size_t half = all.size() / 2;
  testing::produceAll(bootstrap, {all.begin(), all.begin() + static_cast<long>(half)});
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar(mine) > 0; }, 120s, 50ms)) << run.daemon->logTail();
  // SIGTERM one member mid-stream: it finishes and commits its batch, leaves
  // the group, and the other takes its partitions over.
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
  testing::produceAll(bootstrap, {all.begin() + static_cast<long>(half), all.end()});
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar(mine) >= static_cast<long long>(all.size()); }, 180s,
                                 500ms))
      << testing::pgScalar(mine) << " of " << all.size() << "\n" << second->logTail();
  EXPECT_EQ(testing::pgScalar(mine), static_cast<long long>(all.size()));
  // The hand-over leaves every offset in the archive once (the next owner
  // reads the partitions' markers), also if a commit failed in the rebalance.
  expectArchivedExactlyOnce(run, all.size());
  // Both members did work.
  EXPECT_GT(testing::metricValue("http://127.0.0.1:" + std::to_string(secondPort), "safestream_processor_batches_total"), 0);
  EXPECT_EQ(second->stop(), 0) << second->logTail();
}

// Freezes every PostgreSQL process (postmaster and backends) with SIGSTOP,
// so connections hang instead of failing fast; resumes them on destruction
// whatever happens in the test.
class FrozenPostgres {
 public:
  FrozenPostgres() {
    const std::string run = testing::requireStackEnv("SAFESTREAM_RUN_DIR");
    std::ifstream pidFile(run + "/pg/data/postmaster.pid");
    pid_t postmaster = 0;
    pidFile >> postmaster;
    if (postmaster <= 0) throw std::runtime_error("no postmaster.pid under " + run + "/pg/data");
    pids_.push_back(postmaster);
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(e.path() / "stat");
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 2));
      char state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == postmaster) pids_.push_back(std::stoi(name));
    }
    for (pid_t p : pids_) ::kill(p, SIGSTOP);
  }
  ~FrozenPostgres() { thaw(); }
  void thaw() {
    for (pid_t p : pids_) ::kill(p, SIGCONT);
    pids_.clear();
  }

 private:
  std::vector<pid_t> pids_;
};

TEST(ProcessorRobustness, PostgresFrozenFor30SecondsDoesNotStopAlertsAndLosesNothing) {
  ChicagoWatch watch;
  const std::string topic = "it.pgstop." + core::randomUuid().substr(0, 8);  // no backlog, as above
  auto run = testing::startProcessor("pgstop", {"--batch-size", "500", "--sink-timeout-ms", "1500",
                                                "--alert-stream-maxlen", "100000", "--raw-topic", topic});
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  auto all = workload(run.tag);
  const std::string mine = "SELECT count(*) FROM reports WHERE source_id LIKE '" + run.tag + "%'";
  const std::size_t half = all.size() / 2;
  testing::produceAll(bootstrap, {all.begin(), all.begin() + static_cast<long>(half)}, topic);
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar(mine) >= static_cast<long long>(half); }, 120s, 200ms))
      << run.daemon->logTail();
  const double errorsBefore =
      std::max(0.0, testing::metricValue(run.metricsUrl(), "safestream_processor_sink_errors_total", "sink=\"postgres\""));
  {
    FrozenPostgres frozen;
    const auto frozenAt = std::chrono::steady_clock::now();
    testing::produceAll(bootstrap, {all.begin() + static_cast<long>(half), all.end()}, topic);
    // The PostgreSQL write hits its deadline: the processor turns not-ready,
    // pauses and retries; it does not crash or commit.
    EXPECT_TRUE(testing::waitUntil([&] { return testing::httpGet(run.metricsUrl() + "/readyz").first == 503; }, 60s, 100ms))
        << run.daemon->logTail();
    auto [status, body] = testing::httpGet(run.metricsUrl() + "/readyz");
    EXPECT_NE(body.find("postgres"), std::string::npos) << body;
    EXPECT_GT(testing::metricValue(run.metricsUrl(), "safestream_processor_sink_errors_total", "sink=\"postgres\""),
              errorsBefore);
    EXPECT_EQ(testing::metricValue(run.metricsUrl(), "safestream_processor_ready"), 0);
    EXPECT_TRUE(run.daemon->running());
    // Alerts are not held behind storage: the second half's reports in the
    // area are alerted while PostgreSQL is still frozen.
    const std::size_t chicago = testing::chicagoSample(run.tag).size();  // the workload's first part
    std::set<std::string> secondHalf;
    std::size_t expected = 0;
    for (std::size_t i = half; i < all.size(); ++i) {
      secondHalf.insert(all[i].id);
      if (!all[i].geocoded || i >= chicago) continue;
      const auto j = nlohmann::json::parse(all[i].json);
      if (ChicagoWatch::metres(j["lat"].get<double>(), j["lon"].get<double>()) < 19000) ++expected;
    }
    std::size_t alerted = 0;
    EXPECT_TRUE(testing::waitUntil(
        [&] {
          alerted = 0;
          for (const auto& r : watch.alertedReports()) alerted += secondHalf.count(r);
          return alerted * 10 >= expected * 9;  // near-duplicates share one alert
        },
        25s, 200ms))
        << alerted << " of ~" << expected << " alerted while PostgreSQL is frozen\n"
        << testing::metricValue(run.metricsUrl(), "safestream_alerts_sent_total") << " alerts sent, "
        << testing::metricValue(run.metricsUrl(), "safestream_processor_consumed_total") << " consumed, queued "
        << testing::metricValue(run.metricsUrl(), "safestream_processor_lane_queued_messages", "alerts") << " alerts "
        << testing::metricValue(run.metricsUrl(), "safestream_processor_lane_queued_messages", "postgres")
        << " postgres\nlog: " << run.daemon->logPath() << "\n" << [&] {
             std::string out;
             for (const auto& [l, v] : testing::metricSeries(run.metricsUrl(), "safestream_processor_lane_durable_offset"))
               out += l + " " + std::to_string(static_cast<long long>(v)) + "\n";
             for (const auto& [l, v] : testing::metricSeries(run.metricsUrl(), "safestream_processor_consumer_lag"))
               out += "lag " + l + " " + std::to_string(static_cast<long long>(v)) + "\n";
             return out;
           }();
    EXPECT_EQ(testing::httpGet(run.metricsUrl() + "/readyz").first, 503) << "PostgreSQL was thawed too early";
    std::this_thread::sleep_until(frozenAt + 30s);  // the outage lasts 30 s
    EXPECT_TRUE(run.daemon->running());
  }  // PostgreSQL resumes here
  ASSERT_TRUE(testing::waitUntil([&] { return testing::pgScalar(mine) >= static_cast<long long>(all.size()); }, 180s,
                                 500ms))
      << testing::pgScalar(mine) << " of " << all.size() << "\n" << run.daemon->logTail();
  EXPECT_EQ(testing::pgScalar(mine), static_cast<long long>(all.size()));
  EXPECT_TRUE(testing::waitUntil([&] { return testing::httpGet(run.metricsUrl() + "/readyz").first == 200; }, 60s));
  expectArchivedExactlyOnce(run, all.size());
  watch.expectEveryReportAlertedOnce(run.tag);
  EXPECT_EQ(run.daemon->stop(), 0) << run.daemon->logTail();
}

}  // namespace
}  // namespace safestream
