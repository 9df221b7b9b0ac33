#include "processor/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "core/report_id.h"
#include "processor/commit_rule.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream::processor {
namespace {

using namespace std::chrono_literals;

// Moves one millisecond on every reading: backoff and deadlines pass
// without real sleeps, and a test never depends on how fast the machine is.
class SteppingClock final : public core::Clock {
 public:
  core::Timestamp now() const override {
    return *core::parseTimestamp("2026-01-01T00:00:00Z") + std::chrono::milliseconds(ms_.fetch_add(1));
  }

 private:
  mutable std::atomic<long long> ms_{0};
};

// reports.raw in memory: messages are handed out in order; commit records.
class FakeSource final : public RecordSource {
 public:
  std::deque<core::InMessage> pending;
  core::OffsetMap committed;
  std::atomic<int> pauses = 0, resumes = 0;
  std::atomic<bool> paused = false;
  std::function<void(const core::OffsetMap&)> onCommit;

  // Thread-safe against the pipeline thread (tests add while it runs).
  void add(int partition, std::string value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& next = nextOffset_[partition];
    pending.push_back({"reports.raw", partition, next++, "k", std::move(value), std::nullopt, {}});
  }
  // Simulates a rebalance inside the n-th poll (eager: nothing fetched past
  // the committed offsets is kept by the fake, so nothing must be rewound).
  int revokeAtPoll = -1, polls = 0;
  core::OffsetMap committedAtRevoke;
  std::function<void()> onRevoke;
  void setRevokeHandler(std::function<void()> h) override { onRevoke = std::move(h); }

  std::vector<core::InMessage> poll(std::size_t max, std::chrono::milliseconds) override {
    if (++polls == revokeAtPoll && onRevoke) {
      onRevoke();
      committedAtRevoke = committed;
      return {};
    }
    std::vector<core::InMessage> out;
    std::lock_guard<std::mutex> lock(mu_);
    while (!paused && !pending.empty() && out.size() < max) {
      out.push_back(pending.front());
      pending.pop_front();
    }
    return out;
  }
  core::Status commit(const core::OffsetMap& next) override {
    if (onCommit) onCommit(next);
    for (const auto& [tp, off] : next) {
      committed[tp] = off;
      if (tp.partition == 0) committedP0.store(off);
    }
    return core::okStatus();
  }
  std::atomic<std::int64_t> committedP0{0};  // readable from other threads
  core::Status seek(const core::OffsetMap&) override { return core::okStatus(); }
  void pause() override {
    paused = true;
    ++pauses;
  }
  void resume() override {
    paused = false;
    ++resumes;
  }
  std::map<core::TopicPartition, std::int64_t> lag() const override { return {}; }

 private:
  std::mutex mu_;
  std::map<int, std::int64_t> nextOffset_;
};

class FakeDlq final : public core::MessageSink {
 public:
  std::vector<core::OutMessage> sent;
  std::vector<core::DeliveryResult> sendAndWait(const std::vector<core::OutMessage>& batch,
                                                std::chrono::milliseconds) override {
    sent.insert(sent.end(), batch.begin(), batch.end());
    return std::vector<core::DeliveryResult>(batch.size(), core::DeliveryResult{true, "", false, 0, 0});
  }
};

class FakeSink final : public ReportSink {
 public:
  explicit FakeSink(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  core::Status write(const SinkBatch& batch) override {
    ++attempts;
    if (onWrite) onWrite(batch);
    if (failuresLeft > 0 || (failNow && failNow())) {
      if (failuresLeft > 0) --failuresLeft;
      return core::makeError("down", name_ + " is down", "", true);
    }
    std::lock_guard<std::mutex> lock(mu);
    batches.push_back(batch);
    return core::okStatus();
  }
  core::Status writeAll(std::span<const BatchPtr> batches) override {
    ++writes;  // one lane write, of one or more batches
    return ReportSink::writeAll(batches);
  }
  core::Status flush(std::chrono::milliseconds) override {
    ++flushes;
    return core::okStatus();
  }
  void partitionsRevoked() override { ++revokes; }
  std::vector<std::int64_t> offsets() const {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::int64_t> out;
    for (const auto& b : batches) {
      for (const auto& r : b.reports) out.push_back(r.offset);
    }
    return out;
  }
  mutable std::mutex mu;
  std::vector<SinkBatch> batches;
  std::atomic<int> attempts = 0, writes = 0, flushes = 0, revokes = 0, failuresLeft = 0;
  std::function<bool()> failNow;
  std::function<void(const SinkBatch&)> onWrite;

 private:
  std::string name_;
};

std::string reportJson(const std::string& sourceId, double lat = 41.88, double lon = -87.63,
                       const std::string& type = "THEFT") {
  nlohmann::json j{{"id", core::reportIdFor("chicago", sourceId).value},
                   {"source", "chicago"},
                   {"source_id", sourceId},
                   {"raw_type", type},
                   {"occurred_at", "2014-03-14T23:52:00"},
                   {"time_zone", "America/Chicago"},
                   {"lat", lat},
                   {"lon", lon}};
  return j.dump();
}

const core::TopicPartition kP0{"reports.raw", 0};

struct PipelineTest : ::testing::Test {
  Taxonomy taxonomy = Taxonomy::load(testing::sourcePath("schemas/taxonomy.v1.csv"));
  SteppingClock clock;
  Enricher enricher{taxonomy, nullptr, clock};
  prometheus::Registry registry;
  ProcessorMetrics metrics{registry};
  FakeSource source;
  FakeDlq dlq;
  FakeSink pg{"postgres"}, s3{"s3"};
  std::atomic<bool> stop{false};
  static PipelineSettings settings() {
    PipelineSettings s;
    s.batchSize = 100;
    s.pollTimeout = 1ms;
    s.backoffInitial = 1ms;
    s.backoffMax = 4ms;
    s.flushTimeout = 200ms;
    s.commitInterval = 0ms;
    s.pauseAfter = 0ms;
    return s;
  }
  Pipeline pipeline{source, dlq, {&pg, &s3}, enricher, clock, metrics, settings(), [this] { return stop.load(); }};
  void addReports(int n, const std::string& prefix, int partition = 0) {
    for (int i = 0; i < n; ++i) source.add(partition, reportJson(prefix + std::to_string(i), 41.70 + i * 0.001, -87.64));
  }
};

// Runs a pipeline's loop on a thread of its own until the test ends.
struct Running {
  Pipeline& p;
  std::atomic<bool>& stop;
  std::thread t;
  Running(Pipeline& pipeline, std::atomic<bool>& s) : p(pipeline), stop(s), t([this] { p.run(); }) {}
  ~Running() {
    stop = true;
    t.join();
  }
};

std::int64_t durableAt(const core::OffsetMap& m, const core::TopicPartition& tp = kP0) {
  auto it = m.find(tp);
  return it == m.end() ? -1 : it->second;
}

TEST(CommitRule, TheLowestDurableOffsetOfEveryLanePerPartition) {
  const core::TopicPartition a{"t", 0}, b{"t", 1}, c{"t", 2};
  EXPECT_TRUE(committable({}).empty());
  const auto out = committable({{{a, 10}, {b, 7}, {c, 3}}, {{a, 4}, {b, 9}}, {{a, 6}, {b, 8}, {c, 5}}});
  EXPECT_EQ(out.size(), 2u) << "a partition one lane made nothing durable for is not committed";
  EXPECT_EQ(out.at(a), 4);
  EXPECT_EQ(out.at(b), 7);
}

TEST_F(PipelineTest, ValidReportsReachEverySinkInvalidOnesTheDlqThenCommit) {
  source.add(0, reportJson("1"));
  source.add(0, "{not json");
  source.add(1, reportJson("2", 41.70, -87.64));
  source.add(1, reportJson("3", 95.0, -87.64));  // lat out of range
  EXPECT_EQ(pipeline.runOnce(), 4u);
  ASSERT_EQ(pg.batches.size(), 1u);
  ASSERT_EQ(s3.batches.size(), 1u);
  ASSERT_EQ(pg.batches[0].reports.size(), 2u);
  EXPECT_EQ(pg.batches[0].reports[0].report.sourceId, "1");
  EXPECT_EQ(pg.batches[0].reports[0].report.enrichment->category, "theft");
  EXPECT_EQ(pg.batches[0].reports[1].offset, 0);
  EXPECT_EQ(pg.batches[0].reports[1].source.partition, 1);
  // Ranges cover every consumed offset, the invalid ones too.
  ASSERT_EQ(pg.batches[0].ranges.size(), 2u);
  EXPECT_EQ(pg.batches[0].ranges[0].firstOffset, 0);
  EXPECT_EQ(pg.batches[0].ranges[0].lastOffset, 1);
  ASSERT_EQ(dlq.sent.size(), 2u);
  auto d0 = nlohmann::json::parse(dlq.sent[0].value);
  EXPECT_EQ(d0["original"], "{not json");
  EXPECT_EQ(d0["error"]["code"], "invalid_json");
  EXPECT_EQ(d0["source"]["offset"], 1);
  auto d1 = nlohmann::json::parse(dlq.sent[1].value);
  EXPECT_EQ(d1["error"]["field"], "lat");
  EXPECT_EQ(d1["source"]["partition"], 1);
  EXPECT_EQ(dlq.sent[1].topic, "reports.dlq");
  EXPECT_EQ((source.committed[{"reports.raw", 0}]), 2);
  EXPECT_EQ((source.committed[{"reports.raw", 1}]), 2);
  EXPECT_EQ(metrics.consumed.Value(), 4);
  EXPECT_EQ(metrics.valid.Value(), 2);
  EXPECT_EQ(metrics.dlq("invalid_field:lat").Value(), 1);
  EXPECT_EQ(durableAt(pipeline.laneDurable("dlq")), 2);
  EXPECT_EQ(pipeline.runOnce(), 0u) << "idle";
}

TEST_F(PipelineTest, AFailingLaneHoldsTheCommitIsRetriedAloneAndMarksNotReady) {
  source.add(0, reportJson("1"));
  source.add(0, reportJson("2", 41.70, -87.64));
  s3.failuresLeft = 3;
  std::atomic<int> checks = 0;
  s3.onWrite = [&](const SinkBatch&) {
    // While the S3 lane is failing nothing may be committed, even though
    // PostgreSQL made the batch durable, and the processor is not ready.
    EXPECT_EQ(source.committedP0.load(), 0);
    if (s3.attempts > 1) {
      EXPECT_FALSE(pipeline.ready());
      EXPECT_NE(pipeline.problem().find("s3: s3 is down"), std::string::npos) << pipeline.problem();
      EXPECT_TRUE(pipeline.laneFailing("s3"));
      ++checks;
    }
  };
  EXPECT_EQ(pipeline.runOnce(), 2u);
  EXPECT_EQ(s3.attempts, 4);
  EXPECT_EQ(checks, 3);
  EXPECT_EQ(pg.attempts, 1) << "a lane that made the batch durable does not write it again";
  ASSERT_EQ(s3.batches.size(), 1u);
  EXPECT_EQ(s3.batches[0].reports.size(), 2u);
  EXPECT_EQ((source.committed[kP0]), 2);
  EXPECT_TRUE(pipeline.ready());
  EXPECT_EQ(source.pauses, 0) << "a failing lane with room in its queue does not pause consumption";
  EXPECT_EQ(metrics.sinkErrors("s3").Value(), 3);
}

TEST_F(PipelineTest, StopWhileASinkIsDownCommitsNothingOfWhatItHolds) {
  source.add(0, reportJson("1"));
  pg.failuresLeft = 1000000;
  pg.onWrite = [&](const SinkBatch&) {
    if (pg.attempts == 3) stop = true;
  };
  pipeline.run();
  EXPECT_TRUE(source.committed.empty());
  EXPECT_EQ(s3.batches.size(), 1u) << "lanes write independently; s3's write is idempotent";
  EXPECT_EQ(durableAt(pipeline.laneDurable("s3")), 1);
  EXPECT_EQ(durableAt(pipeline.laneDurable("postgres")), -1);
  EXPECT_FALSE(pipeline.ready());
  EXPECT_GE(s3.flushes, 1) << "an idle lane flushes on shutdown";
}

TEST_F(PipelineTest, NearDuplicatesAreLinkedAndStillGoToEverySink) {
  source.add(0, reportJson("a", 30.2241217, -97.8026378));
  source.add(0, reportJson("b", 30.2239306481, -97.802238734));
  pipeline.runOnce();
  ASSERT_EQ(pg.batches.size(), 1u);
  ASSERT_EQ(s3.batches[0].reports.size(), 2u);
  const auto& b = s3.batches[0].reports[1].report;
  ASSERT_TRUE(b.enrichment->duplicateOf.has_value());
  EXPECT_EQ(b.enrichment->duplicateOf->value, core::reportIdFor("chicago", "a").value);
  EXPECT_EQ(metrics.duplicatesLinked.Value(), 1);
}

TEST_F(PipelineTest, UnmappedTypesAndUngeocodedRowsAreCountedNotDropped) {
  nlohmann::json j = nlohmann::json::parse(reportJson("x", 0, 0, "SPACE PIRACY"));
  j.erase("lat");
  j.erase("lon");
  source.add(0, j.dump());
  pipeline.runOnce();
  ASSERT_EQ(pg.batches.size(), 1u);
  EXPECT_EQ(pg.batches[0].reports[0].report.enrichment->category, "other");
  EXPECT_EQ(metrics.unmapped("chicago").Value(), 1);
  EXPECT_EQ(metrics.ungeocoded.Value(), 1);
}

TEST_F(PipelineTest, TimesTheStoresCannotHoldGoToTheDlqInsteadOfBlockingTheBatch) {
  nlohmann::json j = nlohmann::json::parse(reportJson("y"));
  j["occurred_at"] = "0000-01-01T00:00:00Z";  // PostgreSQL could not store it: the codec rejects it
  source.add(0, j.dump());
  j["occurred_at"] = "2014-01-01T00:00:00Z";
  j["reported_at"] = "1850-01-01T00:00:00Z";
  source.add(0, j.dump());
  source.add(0, reportJson("z"));
  pipeline.runOnce();
  ASSERT_EQ(dlq.sent.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(dlq.sent[0].value)["error"]["field"], "occurred_at");
  EXPECT_EQ(nlohmann::json::parse(dlq.sent[1].value)["error"]["field"], "reported_at");
  ASSERT_EQ(pg.batches.size(), 1u);
  EXPECT_EQ(pg.batches[0].reports.size(), 1u);
}

TEST_F(PipelineTest, AllInvalidBatchIsCommittedAfterTheDlq) {
  source.add(0, std::string("\xff\xfe\x00\x01", 4));
  pipeline.runOnce();
  ASSERT_EQ(pg.batches.size(), 1u) << "every lane sees every batch (its offsets)";
  EXPECT_TRUE(pg.batches[0].reports.empty());
  ASSERT_EQ(dlq.sent.size(), 1u);
  auto d = nlohmann::json::parse(dlq.sent[0].value);
  EXPECT_EQ(d["original_encoding"], "base64");
  EXPECT_EQ(d["original"], "//4AAQ==");
  EXPECT_EQ((source.committed[kP0]), 1);
}

// An encoded UTF-16 surrogate (ED A0 80) is not UTF-8. The DLQ's own check
// once let it through as text, and the JSON writer then replaced it with
// U+FFFD: the original bytes were lost. It must travel as base64, byte-exact.
TEST_F(PipelineTest, ASurrogateInAMessageReachesTheDlqByteExact) {
  const std::string bad = "{\"id\":\"\xed\xa0\x80\"}";
  source.add(0, bad);
  pipeline.runOnce();
  ASSERT_EQ(dlq.sent.size(), 1u);
  auto d = nlohmann::json::parse(dlq.sent[0].value);
  EXPECT_EQ(d["original_encoding"], "base64");
  EXPECT_EQ(d["original"], "eyJpZCI6Iu2ggCJ9");
}

TEST_F(PipelineTest, ARevokeFlushesTheLanesCommitsTheDurablePrefixAndForgetsTheRest) {
  addReports(3, "r");
  auto s = settings();
  s.pollMax = 1;
  // Poll 1 reads the first report; the revoke comes inside poll 2.
  source.revokeAtPoll = 2;
  Pipeline p(source, dlq, {&pg, &s3}, enricher, clock, metrics, s, [&] { return source.committed[kP0] >= 3; });
  p.run();
  EXPECT_EQ((source.committedAtRevoke[kP0]), 1) << "what the lanes made durable was committed inside the revoke";
  EXPECT_EQ(pg.revokes, 1);
  EXPECT_EQ(s3.revokes, 1);
  EXPECT_EQ(pg.offsets(), (std::vector<std::int64_t>{0, 1, 2})) << "each report written once";
  EXPECT_EQ((source.committed[kP0]), 3);
}

TEST_F(PipelineTest, ARevokeWhileALaneIsDownCommitsOnlyWhatEveryLaneMadeDurable) {
  addReports(2, "v");
  auto s = settings();
  s.pollMax = 1;
  s.batchSize = 1;  // one report per write
  source.revokeAtPoll = 4;
  std::atomic<bool> pgDown{false};
  pg.failNow = [&] { return pgDown.load(); };
  pg.onWrite = [&](const SinkBatch& b) {
    if (b.reports.front().offset == 1) pgDown = true;  // the second report never gets in
  };
  Pipeline p(source, dlq, {&pg, &s3}, enricher, clock, metrics, s, [&] { return source.polls >= 4; });
  p.run();
  EXPECT_EQ((source.committedAtRevoke[kP0]), 1) << "the durable prefix of every lane, not more";
  EXPECT_EQ(durableAt(p.laneDurable("postgres")), -1) << "after the revoke a lane remembers nothing";
  EXPECT_EQ(s3.offsets(), (std::vector<std::int64_t>{0, 1})) << "the healthy lane did not wait for the failing one";
}

// A gate a test holds shut: the sink's write blocks until it opens.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

TEST_F(PipelineTest, ASlowLaneHoldsTheCommitButNotTheOtherLanes) {
  addReports(6, "s");
  auto s = settings();
  s.pollMax = 2;
  FakeSink slow{"slow"};
  Gate gate;
  slow.onWrite = [&](const SinkBatch&) { gate.wait(); };
  Pipeline p(source, dlq, {&pg, &slow, &s3}, enricher, clock, metrics, s, [&] { return stop.load(); });
  {
    Running running(p, stop);
    // The fast lanes make everything durable while the slow one is stuck in its first write.
    ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("postgres")) == 6; }, 10s, 1ms));
    ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("s3")) == 6; }, 10s, 1ms));
    EXPECT_EQ(pg.offsets(), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(durableAt(p.laneDurable("slow")), -1);
    EXPECT_EQ(source.committedP0.load(), 0) << "nothing committed past the slow lane's durable offset";
    EXPECT_TRUE(p.ready()) << "slow is not failing";
    gate.release();
    ASSERT_TRUE(testing::waitUntil([&] { return source.committedP0.load() == 6; }, 10s, 1ms));
    EXPECT_EQ(slow.offsets(), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  }
}

TEST_F(PipelineTest, AFailingLanePausesConsumptionOnlyWhenItsQueueIsFull) {
  auto s = settings();
  s.pollMax = 1;
  s.batchSize = 1;
  s.laneQueueMessages = 3;
  std::atomic<bool> pgDown{true};
  pg.failNow = [&] { return pgDown.load(); };
  Pipeline p(source, dlq, {&pg, &s3}, enricher, clock, metrics, s, [&] { return stop.load(); });
  Running running(p, stop);
  // Two reports: one in the failing lane's hand, one queued; room is left.
  addReports(2, "q");
  ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("s3")) == 2 && pg.attempts >= 3; }, 10s, 1ms));
  EXPECT_FALSE(p.ready());
  EXPECT_FALSE(source.paused) << "a failing lane with room in its queue does not stop the others";
  EXPECT_EQ(source.pauses, 0);
  // Eight more: the failing lane's queue fills up, and then consumption pauses.
  addReports(8, "w");
  ASSERT_TRUE(testing::waitUntil([&] { return source.paused.load(); }, 10s, 1ms));
  const double consumed = metrics.consumed.Value();
  EXPECT_GE(consumed, 3 + 1) << "paused before the queue was full";
  EXPECT_LE(consumed, 3 + 2) << "kept reading into a full queue";
  EXPECT_EQ(source.committedP0.load(), 0);
  ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("s3")) == consumed; }, 10s, 1ms))
      << "the healthy lane wrote everything consumed";
  pgDown = false;
  ASSERT_TRUE(testing::waitUntil([&] { return source.committedP0.load() == 10; }, 10s, 1ms));
  EXPECT_FALSE(source.paused);
  EXPECT_EQ(source.resumes, source.pauses.load());
  ASSERT_TRUE(testing::waitUntil([&] { return p.ready(); }, 10s, 1ms));
  EXPECT_EQ(pg.offsets().size(), 10u);
}

TEST_F(PipelineTest, TheCommittedOffsetIsNeverPastAnyLanesDurableOffset) {
  auto s = settings();
  s.pollMax = 7;
  s.batchSize = 20;
  FakeSink a{"a"}, b{"b"}, c{"c"};
  std::mt19937 rng(13);
  std::mutex rngMu;
  auto flaky = [&](int percent) {
    return [&rng, &rngMu, percent] {
      std::lock_guard<std::mutex> lock(rngMu);
      return static_cast<int>(rng() % 100) < percent;
    };
  };
  a.failNow = flaky(30);
  b.failNow = flaky(10);
  c.failNow = flaky(50);
  Pipeline* pp = nullptr;
  std::atomic<int> commits = 0, violations = 0;
  source.onCommit = [&](const core::OffsetMap& next) {
    ++commits;
    for (const char* lane : {"dlq", "a", "b", "c"}) {
      const auto d = pp->laneDurable(lane);
      for (const auto& [tp, off] : next) {
        auto it = d.find(tp);
        if (it == d.end() || it->second < off) ++violations;
      }
    }
  };
  for (int i = 0; i < 300; ++i) {
    source.add(i % 3, i % 17 == 0 ? std::string("{broken") : reportJson("n" + std::to_string(i), 41.7 + i * 1e-4, -87.6));
  }
  Pipeline p(source, dlq, {&a, &b, &c}, enricher, clock, metrics, s, [&] {
    return source.committed[{"reports.raw", 0}] == 100 && source.committed[{"reports.raw", 1}] == 100 &&
           source.committed[{"reports.raw", 2}] == 100;
  });
  pp = &p;
  p.run();
  EXPECT_GT(commits.load(), 3);
  EXPECT_EQ(violations.load(), 0);
  for (const FakeSink* sink : {&a, &b, &c}) {
    // A retry writes the lane's batches again (sinks are idempotent), so
    // the same report may arrive twice; none is missing.
    std::set<std::pair<int, std::int64_t>> seen;
    for (const auto& batch : sink->batches) {
      for (const auto& r : batch.reports) seen.insert({r.source.partition, r.offset});
    }
    EXPECT_EQ(seen.size(), 300u - 18u) << sink->name() << ": every valid report";
  }
}

// A sink that holds what it takes (as the archive holds an open object)
// until a tick finds it due.
class HoldingSink final : public ReportSink {
 public:
  std::string name() const override { return "holding"; }
  core::Status write(const SinkBatch& b) override {
    for (const auto& r : b.ranges) heldFrom.try_emplace(r.partition, r.firstOffset);
    return core::okStatus();
  }
  core::Status flush(std::chrono::milliseconds) override {
    heldFrom.clear();
    return core::okStatus();
  }
  core::OffsetMap pending() const override { return heldFrom; }
  core::Status tick(core::Timestamp) override {
    if (release) heldFrom.clear();
    ++ticks;
    return core::okStatus();
  }
  core::OffsetMap heldFrom;
  std::atomic<bool> release{false};
  std::atomic<int> ticks{0};
};

TEST_F(PipelineTest, ALaneThatHoldsDataHoldsTheCommitUntilItsSinkMakesItDurable) {
  auto s = settings();
  s.tickInterval = 1ms;
  HoldingSink hold;
  Pipeline p(source, dlq, {&pg, &hold}, enricher, clock, metrics, s, [&] { return stop.load(); });
  Running running(p, stop);
  addReports(4, "h");
  ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("postgres")) == 4; }, 10s, 1ms));
  ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("holding")) == 0 && hold.ticks > 2; }, 10s, 1ms))
      << "held from its first offset";
  EXPECT_EQ(source.committedP0.load(), 0);
  hold.release = true;
  ASSERT_TRUE(testing::waitUntil([&] { return source.committedP0.load() == 4; }, 10s, 1ms));
}


// Time moves only when the test moves it.
class SettableClock final : public core::Clock {
 public:
  core::Timestamp start() const { return *core::parseTimestamp("2026-01-01T00:00:00Z"); }
  core::Timestamp now() const override { return start() + std::chrono::milliseconds(ms_.load()); }
  void set(std::chrono::milliseconds t) { ms_ = t.count(); }

 private:
  std::atomic<long long> ms_{0};
};

TEST_F(PipelineTest, ALingeringLaneGathersPollsIntoOneWriteOnceTheOldestIsOldEnough) {
  SettableClock at;
  auto s = settings();
  s.pollMax = 2;  // two polls, two batches
  s.laneLinger = {{"postgres", 100ms}};
  std::mutex mu;
  std::vector<core::Timestamp> writtenAt;
  pg.onWrite = [&](const SinkBatch&) {
    std::lock_guard<std::mutex> lock(mu);
    writtenAt.push_back(at.now());
  };
  addReports(4, "l");
  Pipeline p(source, dlq, {&pg, &s3}, enricher, at, metrics, s, [&] { return stop.load(); });
  Running running(p, stop);
  // The lane without linger writes at once; the clock has not moved, so
  // the lingering one cannot have written, however long this took.
  ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("s3")) == 4; }, 10s, 1ms));
  EXPECT_EQ(pg.attempts.load(), 0);
  EXPECT_EQ(source.committedP0.load(), 0) << "the commit waits for the lingering lane";
  at.set(99ms);
  at.set(100ms);
  ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("postgres")) == 4; }, 10s, 1ms));
  EXPECT_EQ(pg.writes.load(), 1) << "both polls in one write";
  EXPECT_EQ(pg.offsets(), (std::vector<std::int64_t>{0, 1, 2, 3}));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(writtenAt.size(), 2u);  // its two batches
  for (const auto& t : writtenAt) {
    EXPECT_GE(t, at.start() + 100ms) << "written before the oldest report had lingered 100 ms";
  }
}

TEST_F(PipelineTest, AFullWriteAndADrainDoNotLinger) {
  SettableClock at;
  auto s = settings();
  s.batchSize = 3;  // a lane's write holds 3 at most
  s.pollMax = 3;
  s.laneLinger = {{"postgres", std::chrono::hours(1)}};
  {
    addReports(5, "f");  // polls of 3 and 2
    Pipeline p(source, dlq, {&pg, &s3}, enricher, at, metrics, s, [&] { return stop.load(); });
    Running running(p, stop);
    // 3 fill a write: no waiting. The other 2 linger (the clock never moves).
    ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("postgres")) == 3; }, 10s, 1ms));
    ASSERT_TRUE(testing::waitUntil([&] { return durableAt(p.laneDurable("s3")) == 5; }, 10s, 1ms));
    EXPECT_EQ(pg.offsets(), (std::vector<std::int64_t>{0, 1, 2}));
  }  // stop: the shutdown drain writes what lingers
  EXPECT_EQ(pg.offsets(), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(source.committedP0.load(), 5);
}

}  // namespace
}  // namespace safestream::processor
