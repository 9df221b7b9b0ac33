// The near-duplicate index in real Redis (processor/redis_duplicate_index.h):
// the same decisions as the in-memory DedupeWindow (the unit tests' fake)
// for the same reports in the same order, and the same whether one index
// decides everything or two (two processors of a group) take turns and one
// of them is restarted half-way.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <random>

#include "core/redis_client.h"
#include "core/report_id.h"
#include "processor/dedupe_window.h"
#include "processor/redis_duplicate_index.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;
using processor::DuplicateQuery;
using Answers = std::vector<std::optional<core::ReportId>>;

std::unique_ptr<processor::RedisDuplicateIndex> redisIndex(const std::string& prefix) {
  processor::RedisDuplicateIndexOptions o;
  o.keyPrefix = prefix;
  o.ttl = std::chrono::hours(1);
  return std::make_unique<processor::RedisDuplicateIndex>(
      o, std::make_unique<core::RedisClient>(core::RedisSettings{testing::requireStackEnv("SAFESTREAM_REDIS_URL")}));
}

// Reports around a few incidents (each reported several times within
// ~120 m and minutes), at a random place, in two categories, over a few
// hours; every 10th is a report seen again (a replay or a later version,
// sometimes moved far or recategorised, of a report at least `minGap`
// before), so every rule of the contract is exercised.
std::vector<DuplicateQuery> workload(std::size_t n, std::uint64_t seed, std::size_t minGap) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const core::GeoPoint base{-50 + 100 * u(rng), -160 + 320 * u(rng)};
  const auto t0 = *core::parseTimestamp("2015-06-01T00:00:00Z");
  struct Incident {
    core::GeoPoint at;
    core::Timestamp when;
    std::string category;
  };
  std::vector<Incident> incidents;
  for (int i = 0; i < 60; ++i) {
    incidents.push_back({{base.lat + 0.02 * u(rng), base.lon + 0.02 * u(rng)},
                         t0 + std::chrono::minutes(static_cast<int>(240 * u(rng))),
                         u(rng) < 0.5 ? "theft" : "assault"});
  }
  const std::string run = core::randomUuid().substr(0, 8);
  std::vector<DuplicateQuery> out;
  std::map<std::string, std::size_t> lastAt;  // report id -> where its latest version is
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= minGap && i % 10 == 0) {
      // Of a report whose every version is at least minGap before: a
      // replayed batch never holds a report and its changed version
      // (replaying both would decide the first afresh against the second:
      // not a replay of one decision). Two changed versions of one report
      // close together are the same case, so such a pick is a new report.
      DuplicateQuery again = out[static_cast<std::size_t>(u(rng) * static_cast<double>(out.size() - minGap))];
      if (lastAt[again.id.value] + minGap <= i) {
        const double r = u(rng);
        if (r < 0.3) again.location.lat += 0.01;  // moved ~1.1 km
        else if (r < 0.5) again.category = again.category == "theft" ? "assault" : "theft";
        else if (r < 0.8) again.occurredAt += std::chrono::minutes(40);  // a later version, another slot
        lastAt[again.id.value] = i;
        out.push_back(again);
        continue;
      }
    }
    const auto& inc = incidents[static_cast<std::size_t>(u(rng) * static_cast<double>(incidents.size()))];
    DuplicateQuery q;
    q.id = core::reportIdFor("dedupe-it", run + "-" + std::to_string(i));
    q.category = u(rng) < 0.9 ? inc.category : "robbery";
    q.location = {inc.at.lat + 0.0008 * (u(rng) - 0.5), inc.at.lon + 0.0008 * (u(rng) - 0.5)};
    q.occurredAt = inc.when + std::chrono::seconds(static_cast<int>(1500 * (u(rng) - 0.5)));
    lastAt[q.id.value] = i;
    out.push_back(q);
  }
  return out;
}

Answers decide(processor::DuplicateIndex& index, std::span<const DuplicateQuery> qs) {
  auto r = index.checkAll(qs);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Answers(qs.size());
}

void dropKeys(const std::string& prefix) {
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  auto keys = redis.command({"KEYS", prefix + "*"});
  if (!keys.ok()) return;
  for (const auto& k : keys->elements) (void)redis.command({"DEL", k.str});
}

std::size_t linked(const Answers& a) {
  std::size_t n = 0;
  for (const auto& x : a) n += x.has_value();
  return n;
}

TEST(RedisDuplicateIndex, DecidesAsTheInMemoryWindowAndAlikeOnTwoInstancesAndAfterARestart) {
  const std::size_t batch = 37;
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("workload seed " + std::to_string(seed));  // to run a failing workload again
  const auto queries = workload(1200, seed, 2 * batch);

  processor::DedupeWindow fake;
  Answers expected;
  for (const auto& q : queries) expected.push_back((*fake.checkAll(std::span(&q, 1)))[0]);

  const std::string soloPrefix = "safestream:test:dedupe:" + core::randomUuid().substr(0, 8) + ":";
  auto solo = redisIndex(soloPrefix);
  Answers single;
  for (std::size_t i = 0; i < queries.size(); i += batch) {
    auto a = decide(*solo, std::span(queries).subspan(i, std::min(batch, queries.size() - i)));
    single.insert(single.end(), a.begin(), a.end());
  }
  ASSERT_EQ(single.size(), queries.size());
  EXPECT_GT(linked(expected), 200u) << "the workload links little: it would test little";
  std::size_t differ = 0;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (single[i] != expected[i]) {
      if (++differ <= 5) {
        ADD_FAILURE() << "query " << i << " (" << queries[i].id.value << "): Redis "
                      << (single[i] ? single[i]->value : "root") << ", in memory "
                      << (expected[i] ? expected[i]->value : "root");
      }
    }
  }
  EXPECT_EQ(differ, 0u) << "of " << queries.size();

  // Two instances taking turns by batch, the first restarted half-way, and
  // each batch replayed by the other instance (a rebalance's re-read): the
  // replay answers as before, and everything as the single index.
  const std::string pairPrefix = "safestream:test:dedupe:" + core::randomUuid().substr(0, 8) + ":";
  auto first = redisIndex(pairPrefix);
  auto second = redisIndex(pairPrefix);
  Answers pair;
  for (std::size_t i = 0, turn = 0; i < queries.size(); i += batch, ++turn) {
    if (i >= queries.size() / 2 && i < queries.size() / 2 + batch) first = redisIndex(pairPrefix);  // restart
    const auto qs = std::span(queries).subspan(i, std::min(batch, queries.size() - i));
    auto& one = turn % 2 ? *second : *first;
    auto& other = turn % 2 ? *first : *second;
    auto a = decide(one, qs);
    EXPECT_EQ(decide(other, qs), a) << "a replay on the other instance changed the answers of batch " << turn;
    pair.insert(pair.end(), a.begin(), a.end());
  }
  EXPECT_TRUE(pair == single) << "two instances and a restart decided otherwise than one";
  dropKeys(soloPrefix);
  dropKeys(pairPrefix);
}

// A root's record and its bucket entry have TTLs of their own (the record's
// refreshed when the report is seen, the bucket's when a root joins it), so
// a root can outlive its record. Seen again then, it is decided afresh: a
// root still, never a near-duplicate of itself.
TEST(RedisDuplicateIndex, ARootWhoseRecordExpiredIsNoDuplicateOfItself) {
  const std::string prefix = "safestream:test:dedupe:" + core::randomUuid().substr(0, 8) + ":";
  auto index = redisIndex(prefix);
  const std::string run = core::randomUuid().substr(0, 8);
  const auto t0 = *core::parseTimestamp("2016-02-01T12:00:00Z");
  const DuplicateQuery root{core::reportIdFor("expiry-it", run + "-a"), "theft", {41.8781, -87.6298}, t0};
  const DuplicateQuery near{core::reportIdFor("expiry-it", run + "-b"), "theft", {41.8782, -87.6298}, t0 + 1min};
  ASSERT_EQ(decide(*index, std::span(&root, 1)), Answers{std::nullopt});

  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  auto del = redis.command({"DEL", prefix + "r:" + root.id.value});
  ASSERT_TRUE(del.ok());
  ASSERT_EQ(del->integer, 1) << "the record's key is not where the layout says";

  EXPECT_EQ(decide(*index, std::span(&root, 1)), Answers{std::nullopt}) << "the root became a near-duplicate of itself";
  EXPECT_EQ(decide(*index, std::span(&near, 1)), Answers{root.id}) << "the root is no longer a candidate";
  dropKeys(prefix);
}

// A flood at one spot: the candidates stay the roots, so the millionth
// report costs what the first did (measured by the time of equal batches
// at the start and the end of 20,000 reports, generously bounded).
TEST(RedisDuplicateIndex, AFloodAtOneSpotStaysCheap) {
  const std::string prefix = "safestream:test:dedupe:" + core::randomUuid().substr(0, 8) + ":";
  auto index = redisIndex(prefix);
  const core::GeoPoint spot{41.8781, -87.6298};
  const auto t0 = *core::parseTimestamp("2016-01-01T12:00:00Z");
  const std::string run = core::randomUuid().substr(0, 8);
  std::vector<DuplicateQuery> qs;
  for (int i = 0; i < 20000; ++i) {
    qs.push_back({core::reportIdFor("flood-it", run + std::to_string(i)), "theft", spot, t0 + std::chrono::milliseconds(i)});
  }
  auto timed = [&](std::size_t from) {
    const auto start = std::chrono::steady_clock::now();
    auto a = decide(*index, std::span(qs).subspan(from, 1000));
    EXPECT_EQ(linked(a), from == 0 ? 999u : 1000u);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double firstBatch = timed(0);
  for (std::size_t i = 1000; i < 19000; i += 1000) (void)decide(*index, std::span(qs).subspan(i, 1000));
  const double lastBatch = timed(19000);
  std::cout << "flood: first 1,000 in " << firstBatch * 1000 << " ms, last 1,000 in " << lastBatch * 1000 << " ms\n";
  EXPECT_LT(lastBatch, std::max(0.25, 4 * firstBatch)) << "the check grows with the flood";
  dropKeys(prefix);
}

}  // namespace
}  // namespace safestream
