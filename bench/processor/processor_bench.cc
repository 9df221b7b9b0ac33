// safestream-processor-bench: the pieces bench/processor/run.sh and
// bench/processor/hotspot.sh time.
//   produce   N synthetic Chicago-like reports to a topic (unique source ids);
//             with --hotspot-count H, H of them (from --hotspot-at on) at one
//             spot (within ~20 m) and one half hour, like a protest or a bot
//             army
//   consume   a bare librdkafka consumer over the same messages (raw limit)
//   pg-upsert the same rows upserted with a bare batched statement (raw limit)
//   dedupe-index the shared near-duplicate index (RedisDuplicateIndex::checkAll)
//             on the same reports against Redis alone, beside the same key
//             operations sent as plain pipelined commands (the raw limit:
//             what the script's reads and writes cost without Lua); Redis
//             main-thread CPU per report for each, from INFO cpu
// Prints one JSON line of results on stdout.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <iostream>
#include <libpq-fe.h>
#include <unistd.h>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "core/kafka.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "core/time.h"
#include "processor/enricher.h"
#include "processor/neighbourhood_index.h"
#include "processor/postgres_sink.h"
#include "processor/redis_duplicate_index.h"

namespace {

using namespace safestream;
using Clock = std::chrono::steady_clock;

const char* kTypes[] = {"THEFT", "BATTERY", "NARCOTICS", "CRIMINAL DAMAGE", "ASSAULT", "BURGLARY",
                        "MOTOR VEHICLE THEFT", "ROBBERY", "DECEPTIVE PRACTICE", "OTHER OFFENSE"};

core::Report synthetic(const std::string& tag, long i) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(i) * 7919 + 17);
  std::uniform_real_distribution<double> lat(41.65, 42.02), lon(-87.84, -87.53);
  std::uniform_int_distribution<int> type(0, 9), minute(0, 31 * 24 * 60 - 1);
  core::Report r;
  r.source = "chicago";
  r.sourceId = tag + std::to_string(i);
  r.id = core::reportIdFor(r.source, r.sourceId);
  r.rawType = kTypes[type(rng)];
  r.description = "synthetic benchmark report";
  r.occurredAt = *core::parseTimestamp("2014-03-01T06:00:00Z") + std::chrono::minutes(minute(rng));
  r.reportedAt = r.occurredAt;
  r.timeZone = "America/Chicago";
  if (i % 100 != 0) r.location = core::GeoPoint{lat(rng), lon(rng)};  // 1% without coordinates, like the sample
  r.address = "0" + std::to_string(i % 100) + "XX W SYNTHETIC ST";
  return r;
}

// Report `k` of a flood of `n` at one spot (default Millennium Park,
// Chicago), all within ~20 m and one 30-minute slot of event time.
void makeHot(core::Report& r, long k, long n, core::GeoPoint spot) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(k) * 104729 + 3);
  std::uniform_real_distribution<double> jitter(-0.0002, 0.0002);
  r.location = core::GeoPoint{spot.lat + jitter(rng), spot.lon + jitter(rng)};
  r.occurredAt = *core::parseTimestamp("2014-03-15T18:00:00Z") + std::chrono::milliseconds(k * 1800000 / std::max(1L, n));
  r.reportedAt = r.occurredAt;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& def = "") {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return def;
}

int produce(int argc, char** argv) {
  const long n = std::stol(arg(argc, argv, "--count", "100000"));
  const std::string topic = arg(argc, argv, "--topic", "reports.raw");
  const std::string tag = arg(argc, argv, "--tag");
  const double rate = std::stod(arg(argc, argv, "--rate", "0"));  // messages/s, 0 = as fast as possible
  const long hotCount = std::stol(arg(argc, argv, "--hotspot-count", "0"));
  const long hotAt = std::stol(arg(argc, argv, "--hotspot-at", "0"));
  const core::GeoPoint spot{std::stod(arg(argc, argv, "--hotspot-lat", "41.8826")),
                            std::stod(arg(argc, argv, "--hotspot-lon", "-87.6226"))};
  core::KafkaProducer producer({arg(argc, argv, "--bootstrap"), {{"queue.buffering.max.messages", "1000000"}}},
                               {.idempotent = true, .compression = "lz4", .lingerMs = 5, .clientId = "bench"});
  const auto start = Clock::now();
  long failed = 0;
  std::vector<core::OutMessage> batch;
  const std::size_t batchMax = rate > 0 ? static_cast<std::size_t>(std::clamp(rate / 20, 1.0, 2000.0)) : 2000;
  for (long i = 0; i < n; ++i) {
    core::Report r = synthetic(tag, i);
    if (i >= hotAt && i < hotAt + hotCount) makeHot(r, i - hotAt, hotCount, spot);
    r.ingestedAt = core::nowUtc();
    batch.push_back({topic, r.id.value, core::encodeReport(r), {}});
    // At a set rate, batches of a 20th of a second's reports (as a flood
    // arrives: continuously), else of 2,000.
    if (batch.size() >= batchMax || i + 1 == n) {
      for (const auto& d : producer.sendAndWait(batch, std::chrono::seconds(60))) failed += d.ok ? 0 : 1;
      batch.clear();
      if (rate > 0) {
        const auto due = start + std::chrono::duration<double>(static_cast<double>(i + 1) / rate);
        std::this_thread::sleep_until(due);
      }
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"produced\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"per_second\":%.0f}\n", n, failed, secs, n / secs);
  return failed == 0 ? 0 : 1;
}

int consume(int argc, char** argv) {
  const long n = std::stol(arg(argc, argv, "--count", "100000"));
  core::KafkaConsumer c({arg(argc, argv, "--bootstrap"), {}},
                        {.groupId = "bench-raw-" + core::randomUuid().substr(0, 8),
                         .topics = {arg(argc, argv, "--topic", "reports.raw")}});
  long got = 0;
  Clock::time_point first{};
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  while (got < n && Clock::now() < deadline) {
    auto msgs = c.poll(5000, std::chrono::milliseconds(200));
    if (!msgs.empty() && got == 0) first = Clock::now();
    got += static_cast<long>(msgs.size());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - first).count();
  std::printf("{\"consumed\":%ld,\"seconds\":%.3f,\"per_second\":%.0f}\n", got, secs, got / secs);
  return got >= n ? 0 : 1;
}

int pgUpsert(int argc, char** argv) {
  const long n = std::stol(arg(argc, argv, "--count", "100000"));
  const long batchSize = std::stol(arg(argc, argv, "--batch", "5000"));
  const std::string tag = arg(argc, argv, "--tag") + "raw-";
  PGconn* conn = PQconnectdb(arg(argc, argv, "--pg-url").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "bench: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
    return 1;
  }
  auto exec = [&](const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
      std::fprintf(stderr, "bench: %s", PQresultErrorMessage(r));
      std::exit(1);
    }
    PQclear(r);
  };
  const std::string cols =
      "id, source, source_id, raw_type, raw_code, category, severity, description, occurred_at, reported_at, "
      "ingested_at, processed_at, time_zone, lat, lon, address, url, arrest, cell_l10, cell_l13, cell_l16, "
      "neighbourhood, local_hour, local_weekday, duplicate_of, contact, raw, city";
  exec("CREATE TEMP TABLE stage (LIKE reports INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  // The same rows the processor stores: the same synthetic reports enriched
  // by the processor's own Enricher (category, cells, neighbourhood, local
  // time), prepared outside the timed part (enrichment is the processor's
  // work, not the database's).
  const processor::Taxonomy taxonomy = processor::Taxonomy::load(arg(argc, argv, "--taxonomy"));
  const core::CityCatalog cities = core::CityCatalog::load(arg(argc, argv, "--cities"));
  core::SystemClock clock;
  processor::Enricher enricher(taxonomy, &cities, clock);
  std::vector<std::string> lines;
  lines.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    core::Report r = synthetic(tag, i);
    r.ingestedAt = core::nowUtc();
    enricher.enrich(r);
    lines.push_back(processor::copyLine(r));
  }
  // The server backend's own CPU time, read from /proc (PostgreSQL runs on
  // this machine): the database's work per row, whatever else runs.
  const int backend = PQbackendPID(conn);
  auto backendCpuMs = [backend]() -> double {
    std::FILE* f = std::fopen(("/proc/" + std::to_string(backend) + "/stat").c_str(), "r");
    if (!f) return -1;
    char buf[1024];
    const std::size_t got = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[got] = 0;
    const char* p = std::strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
      return -1;
    }
    return 1000.0 * static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  };
  const double cpu0 = backendCpuMs();
  const auto start = Clock::now();
  for (long b = 0; b < n; b += batchSize) {
    exec("BEGIN");
    exec("COPY stage (" + cols + ") FROM STDIN");
    std::string data;
    for (long i = b; i < std::min(n, b + batchSize); ++i) data += lines[static_cast<std::size_t>(i)];
    if (PQputCopyData(conn, data.data(), static_cast<int>(data.size())) != 1 || PQputCopyEnd(conn, nullptr) != 1) {
      std::fprintf(stderr, "bench: COPY failed: %s", PQerrorMessage(conn));
      return 1;
    }
    PGresult* r = PQgetResult(conn);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      std::fprintf(stderr, "bench: COPY failed: %s", PQresultErrorMessage(r));
      return 1;
    }
    PQclear(r);
    while ((r = PQgetResult(conn))) PQclear(r);
    exec("INSERT INTO reports (" + cols + ") SELECT " + cols +
         " FROM stage ON CONFLICT (id, occurred_at) DO UPDATE SET category = EXCLUDED.category, "
         "processed_at = EXCLUDED.processed_at");
    exec("COMMIT");
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu1 = backendCpuMs();
  const double cpuPer1000 = cpu0 < 0 || cpu1 < 0 ? -1 : (cpu1 - cpu0) * 1000.0 / static_cast<double>(n);
  std::printf("{\"upserted\":%ld,\"seconds\":%.3f,\"per_second\":%.0f,\"backend_cpu_ms_per_1000\":%.1f}\n", n, secs,
              n / secs, cpuPer1000);
  PQfinish(conn);
  return 0;
}

// Redis main-thread CPU seconds so far (INFO cpu), or -1.
double redisMainCpu(core::RedisClient& redis) {
  auto r = redis.command({"INFO", "cpu"});
  if (!r) return -1;
  double user = -1, sys = -1;
  for (std::size_t pos = 0; pos < r->str.size();) {
    auto end = r->str.find('\n', pos);
    if (end == std::string::npos) end = r->str.size();
    const std::string line = r->str.substr(pos, end - pos);
    if (line.rfind("used_cpu_user_main_thread:", 0) == 0) user = std::stod(line.substr(line.find(':') + 1));
    if (line.rfind("used_cpu_sys_main_thread:", 0) == 0) sys = std::stod(line.substr(line.find(':') + 1));
    pos = end + 1;
  }
  return user < 0 || sys < 0 ? -1 : user + sys;
}

int dedupeIndex(int argc, char** argv) {
  const long n = std::stol(arg(argc, argv, "--count", "100000"));
  const long batchSize = std::stol(arg(argc, argv, "--batch", "1000"));
  const std::string url = arg(argc, argv, "--redis-url");
  const std::string prefix = "bench:dedupe:" + core::randomUuid().substr(0, 8) + ":";
  processor::RedisDuplicateIndexOptions options;
  options.keyPrefix = prefix + "index:";
  options.ttl = std::chrono::seconds(3600);
  processor::RedisDuplicateIndex index(options, std::make_unique<core::RedisClient>(core::RedisSettings{url}));
  core::RedisClient redis(core::RedisSettings{url, std::chrono::milliseconds(30000)});
  std::vector<processor::DuplicateQuery> queries;
  queries.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    core::Report r = synthetic(prefix, i);
    queries.push_back({r.id, r.rawType, r.location.value_or(core::GeoPoint{}), r.occurredAt});
  }
  auto cpuPerReport = [&](double before) { return (redisMainCpu(redis) - before) * 1e6 / static_cast<double>(n); };

  // 1. the index, one checkAll (one pipelined round trip) per batch
  long duplicates = 0;
  double cpu = redisMainCpu(redis);
  auto start = Clock::now();
  for (long b = 0; b < n; b += batchSize) {
    const auto len = static_cast<std::size_t>(std::min(batchSize, n - b));
    auto answers = index.checkAll(std::span(queries).subspan(static_cast<std::size_t>(b), len));
    if (!answers) throw std::runtime_error(answers.error().message);
    for (const auto& a : *answers) duplicates += a.has_value();
  }
  const double indexSecs = std::chrono::duration<double>(Clock::now() - start).count();
  const double indexUs = cpuPerReport(cpu);

  // 2. the same key operations as plain commands: the record read and
  //    written, each bucket the script reads, the root's bucket written
  const std::string ttl = std::to_string(options.ttl.count());
  cpu = redisMainCpu(redis);
  start = Clock::now();
  for (long b = 0; b < n; b += batchSize) {
    std::vector<std::vector<std::string>> cmds;
    for (long i = b; i < std::min(n, b + batchSize); ++i) {
      const auto& q = queries[static_cast<std::size_t>(i)];
      const std::string rec = prefix + "plain:r:" + q.id.value;
      const long long slot = core::toEpochMillis(q.occurredAt) / options.rules.window.count();
      auto bucket = [&](std::uint64_t cell, long long s) {
        return prefix + "plain:b:" + q.category + ":" + core::cellToken(cell) + ":" + std::to_string(s);
      };
      const std::string entry = "41.8 -87.6 1393653600000";  // a bucket entry's shape: lat lon ms
      cmds.push_back({"GET", rec});
      const auto cells = processor::cellsNear(q.location, processor::kCellLevelMid, options.rules.radiusMetres);
      for (auto c : cells) {
        for (long long s = slot - 1; s <= slot + 1; ++s) cmds.push_back({"HGETALL", bucket(c, s)});
      }
      const std::string home = bucket(cells.front(), slot);
      cmds.push_back({"SET", rec, entry + "  " + core::cellToken(cells.front()) + " " + q.category, "EX", ttl});
      cmds.push_back({"HSET", home, q.id.value, entry});
      cmds.push_back({"EXPIRE", home, ttl});
    }
    auto replies = redis.pipeline(cmds);
    if (!replies) throw std::runtime_error(replies.error().message);
  }
  const double plainSecs = std::chrono::duration<double>(Clock::now() - start).count();
  const double plainUs = cpuPerReport(cpu);

  // the bench's keys go again
  std::string cursor = "0";
  do {
    auto r = redis.command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "10000"});
    if (!r || r->elements.size() != 2) break;
    cursor = r->elements[0].str;
    std::vector<std::string> unlink{"UNLINK"};
    for (const auto& k : r->elements[1].elements) unlink.push_back(k.str);
    if (unlink.size() > 1) (void)redis.command(unlink);
  } while (cursor != "0");

  std::printf("{\"reports\":%ld,\"duplicates\":%ld,\"index_per_second\":%.0f,\"index_redis_us_per_report\":%.1f,"
              "\"plain_per_second\":%.0f,\"plain_redis_us_per_report\":%.1f}\n",
              n, duplicates, n / indexSecs, indexUs, n / plainSecs, plainUs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "produce") return produce(argc, argv);
    if (cmd == "consume") return consume(argc, argv);
    if (cmd == "pg-upsert") return pgUpsert(argc, argv);
    if (cmd == "dedupe-index") return dedupeIndex(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: safestream-processor-bench produce|consume|pg-upsert|dedupe-index --bootstrap B --topic T "
                       "--pg-url U --redis-url U --count N --tag T [--rate R] [--batch B] [--hotspot-count H --hotspot-at K [--hotspot-lat L --hotspot-lon L]]\n");
  return 2;
}
