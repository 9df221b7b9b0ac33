#include "processor/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>
#include <nlohmann/json.hpp>

#include "core/report_id.h"
#include "tests/support/stack_env.h"

namespace safestream::processor {
namespace {

using namespace std::chrono_literals;

class FixedClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return *core::parseTimestamp("2026-01-01T00:00:00Z"); }
};

// reports.raw in memory: messages are handed out in order; commit records.
class FakeSource final : public RecordSource {
 public:
  std::deque<core::InMessage> pending;
  core::OffsetMap committed;
  int pauses = 0, resumes = 0;
  bool paused = false;

  void add(int partition, std::string value) {
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
    while (!paused && !pending.empty() && out.size() < max) {
      out.push_back(pending.front());
      pending.pop_front();
    }
    return out;
  }
  core::Status commit(const core::OffsetMap& next) override {
    for (const auto& [tp, off] : next) {
      committed[tp] = off;
      if (tp.partition == 0) committedP0.store(off);
    }
    return core::okStatus();
  }
  std::atomic<std::int64_t> committedP0{0};  // readable from sink threads
  core::Status seek(const core::OffsetMap&) override { return core::okStatus(); }
  void pause() override { paused = true; ++pauses; }
  void resume() override { paused = false; ++resumes; }
  std::map<core::TopicPartition, std::int64_t> lag() const override { return {}; }

 private:
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
    if (failuresLeft > 0) {
      --failuresLeft;
      return core::makeError("down", name_ + " is down", "", true);
    }
    batches.push_back(batch);
    return core::okStatus();
  }
  core::Status flush(std::chrono::milliseconds) override {
    ++flushes;
    return core::okStatus();
  }
  bool writesAfterCommitOnly() const override { return afterCommit; }
  std::vector<SinkBatch> batches;
  std::atomic<int> attempts = 0;
  int flushes = 0, failuresLeft = 0;
  bool afterCommit = false;
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

struct PipelineTest : ::testing::Test {
  Taxonomy taxonomy = Taxonomy::load(testing::sourcePath("schemas/taxonomy.v1.csv"));
  FixedClock clock;
  Enricher enricher{taxonomy, nullptr, clock};
  prometheus::Registry registry;
  ProcessorMetrics metrics{registry};
  FakeSource source;
  FakeDlq dlq;
  FakeSink pg{"postgres"}, s3{"s3"};
  std::atomic<bool> stop{false};
  PipelineSettings settings() {
    PipelineSettings s;
    s.batchSize = 100;
    s.batchTimeout = 1ms;
    s.pollTimeout = 1ms;
    s.backoffInitial = 1ms;
    s.backoffMax = 4ms;
    return s;
  }
  Pipeline pipeline{source, dlq, {&pg, &s3}, enricher, clock, metrics, settings(), [this] { return stop.load(); }};
};

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
  EXPECT_EQ(pipeline.runOnce(), 0u) << "idle";
}

TEST_F(PipelineTest, CommitsOnlyAfterEverySinkAndRetriesAFailingSink) {
  source.add(0, reportJson("1"));
  source.add(0, reportJson("2", 41.70, -87.64));
  s3.failuresLeft = 3;
  int checks = 0;
  s3.onWrite = [&](const SinkBatch&) {
    // While the S3 sink is failing nothing may be committed, even though
    // PostgreSQL acknowledged, and the processor must report not-ready.
    EXPECT_TRUE(source.committed.empty());
    if (s3.attempts > 1) {
      EXPECT_FALSE(pipeline.ready());
      EXPECT_NE(pipeline.problem().find("s3 is down"), std::string::npos) << pipeline.problem();
      EXPECT_TRUE(source.paused);
      ++checks;
    }
  };
  EXPECT_EQ(pipeline.runOnce(), 2u);
  EXPECT_EQ(s3.attempts, 4);
  EXPECT_EQ(checks, 3);
  EXPECT_EQ(pg.attempts, 1) << "a sink that acknowledged is not written again";
  ASSERT_EQ(s3.batches.size(), 1u);
  EXPECT_EQ(s3.batches[0].reports.size(), 2u);
  EXPECT_EQ((source.committed[{"reports.raw", 0}]), 2);
  EXPECT_TRUE(pipeline.ready());
  EXPECT_EQ(source.pauses, 1);
  EXPECT_EQ(source.resumes, 1);
  EXPECT_EQ(metrics.sinkErrors("s3").Value(), 3);
}

TEST_F(PipelineTest, StopWhileASinkIsDownCommitsNothing) {
  source.add(0, reportJson("1"));
  pg.failuresLeft = 1000000;
  pg.onWrite = [&](const SinkBatch&) {
    if (pg.attempts == 3) stop = true;
  };
  pipeline.run();
  EXPECT_TRUE(source.committed.empty());
  EXPECT_EQ(s3.batches.size(), 1u) << "sinks write in parallel; s3's write is idempotent";
  EXPECT_FALSE(pipeline.ready());
  EXPECT_EQ(pg.flushes, 1);
  EXPECT_EQ(s3.flushes, 1);
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

TEST_F(PipelineTest, ARevokeWhileABatchIsWrittenCommitsItBeforeThePartitionsGo) {
  for (int i = 0; i < 3; ++i) source.add(0, reportJson("r" + std::to_string(i)));
  auto s = settings();
  s.batchSize = 1;
  // Poll 1 reads batch 1; poll 2 is the read-ahead during its write: revoke there.
  source.revokeAtPoll = 2;
  Pipeline p(source, dlq, {&pg, &s3}, enricher, clock, metrics, s,
             [&] { return source.committed[{"reports.raw", 0}] >= 3; });
  p.run();
  EXPECT_EQ((source.committedAtRevoke[{"reports.raw", 0}]), 1) << "the batch in flight was committed inside the revoke";
  std::size_t written = 0;
  for (const auto& b : pg.batches) written += b.reports.size();
  EXPECT_EQ(written, 3u) << "each report written once";
  EXPECT_EQ((source.committed[{"reports.raw", 0}]), 3);
}

TEST_F(PipelineTest, AllInvalidBatchIsCommittedAfterTheDlq) {
  source.add(0, std::string("\xff\xfe\x00\x01", 4));
  pipeline.runOnce();
  EXPECT_TRUE(pg.batches.empty());
  ASSERT_EQ(dlq.sent.size(), 1u);
  auto d = nlohmann::json::parse(dlq.sent[0].value);
  EXPECT_EQ(d["original_encoding"], "base64");
  EXPECT_EQ(d["original"], "//4AAQ==");
  EXPECT_EQ((source.committed[{"reports.raw", 0}]), 1);
}

std::vector<std::int64_t> offsetsOf(const FakeSink& sink) {
  std::vector<std::int64_t> out;
  for (const auto& b : sink.batches) {
    for (const auto& r : b.reports) out.push_back(r.offset);
  }
  return out;
}

// Two batches in flight: a sink starts batch N+1 once it has written N,
// without waiting for slower sinks; a sink that asks for it only after N is
// committed. Every sink sees every batch once, in order; commits in order.
TEST_F(PipelineTest, ASinkStartsTheNextBatchWithoutWaitingForSlowerOnes) {
  for (int i = 0; i < 8; ++i) source.add(0, reportJson("o" + std::to_string(i), 41.70 + i * 0.01, -87.64));
  auto s = settings();
  s.batchSize = 1;
  FakeSink slow{"slow"}, archive{"archive"};
  archive.afterCommit = true;
  std::atomic<int> slowDone{0}, overlapped{0}, archiveTooEarly{0};
  slow.onWrite = [&](const SinkBatch&) {
    std::this_thread::sleep_for(30ms);
    ++slowDone;
  };
  pg.onWrite = [&](const SinkBatch& b) {
    // pg is writing batch k while the slow sink has not finished batch k-1.
    if (slowDone.load() < b.reports.front().offset) ++overlapped;
  };
  archive.onWrite = [&](const SinkBatch& b) {
    if (source.committedP0.load() != b.reports.front().offset) ++archiveTooEarly;
  };
  Pipeline p(source, dlq, {&pg, &slow, &archive}, enricher, clock, metrics, s,
             [&] { return source.committedP0.load() >= 8; });
  p.run();
  const std::vector<std::int64_t> all{0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(offsetsOf(pg), all);
  EXPECT_EQ(offsetsOf(slow), all);
  EXPECT_EQ(offsetsOf(archive), all);
  EXPECT_EQ((source.committed[{"reports.raw", 0}]), 8);
  EXPECT_GT(overlapped.load(), 0) << "pg never ran ahead of the slow sink";
  EXPECT_EQ(archiveTooEarly.load(), 0) << "the archive wrote a batch before the one before it was committed";
}

TEST_F(PipelineTest, AFailingSinkWritesItsBatchesInOrderAndLosesNone) {
  for (int i = 0; i < 6; ++i) source.add(0, reportJson("f" + std::to_string(i), 41.70 + i * 0.01, -87.64));
  auto s = settings();
  s.batchSize = 1;
  pg.failuresLeft = 3;
  s3.afterCommit = true;
  Pipeline p(source, dlq, {&pg, &s3}, enricher, clock, metrics, s, [&] { return source.committedP0.load() >= 6; });
  p.run();
  const std::vector<std::int64_t> all{0, 1, 2, 3, 4, 5};
  EXPECT_EQ(offsetsOf(pg), all);
  EXPECT_EQ(offsetsOf(s3), all);
  EXPECT_EQ((source.committed[{"reports.raw", 0}]), 6);
  EXPECT_EQ(metrics.sinkErrors("postgres").Value(), 3)
      << "a write that only waited for its failed predecessor is not an error of its own";
}

TEST_F(PipelineTest, StopWhileASinkIsDownWithTwoBatchesInFlightCommitsNeither) {
  for (int i = 0; i < 3; ++i) source.add(0, reportJson("t" + std::to_string(i), 41.70 + i * 0.01, -87.64));
  auto s = settings();
  s.batchSize = 1;
  pg.failuresLeft = 1000000;
  s3.afterCommit = true;
  Pipeline p(source, dlq, {&pg, &s3}, enricher, clock, metrics, s, [&] { return pg.attempts.load() >= 5; });
  p.run();
  EXPECT_TRUE(source.committed.empty()) << "nothing past the batch that was never written";
  EXPECT_EQ(offsetsOf(s3), std::vector<std::int64_t>{0}) << "the archive waits for a commit that never came";
}

}  // namespace
}  // namespace safestream::processor
