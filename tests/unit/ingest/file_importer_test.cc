// File import on a fake sink: a mapped CSV of another city (built at run time
// from the Chicago sample, with deliberately bad rows), rejection reasons,
// resume after an interruption, nothing new on a second import; and the demo
// replay's re-timing.
#include "ingest/file_importer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/report_id.h"
#include "ingest/csv_reader.h"
#include "ingest/replayer.h"
#include "tests/support/stack_env.h"

namespace safestream::ingest {
namespace {

using namespace std::chrono_literals;

class RecordingSink final : public core::MessageSink {
 public:
  std::vector<core::OutMessage> sent;
  std::vector<core::DeliveryResult> sendAndWait(const std::vector<core::OutMessage>& batch, std::chrono::milliseconds) override {
    std::vector<core::DeliveryResult> out;
    for (const auto& m : batch) {
      sent.push_back(m);
      out.push_back({true, "", false, 0, static_cast<std::int64_t>(sent.size())});
    }
    return out;
  }
};

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("ingest-imp-" + core::randomUuid());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A "city" CSV in another layout: id;when(ISO local);what;lat;lon — from the
// first 300 Chicago rows, plus bad rows.
std::string writeCityCsv(const std::filesystem::path& dir, std::size_t& good) {
  std::ifstream in(testing::sourcePath("data/chicago_crimes_2014_sample.csv"), std::ios::binary);
  CsvReader reader(in);
  std::vector<std::string> h, row;
  reader.next(h);
  const std::string file = (dir / "city.csv").string();
  std::ofstream out(file);
  out << "case_id,occurred,offense,latitude,longitude,notes\n";
  good = 0;
  while (good < 300 && reader.next(row)) {
    out << row[0] << "," << row[2] << "," << row[5] << "," << row[19] << "," << row[20] << ",\"a, quoted\n note\"\n";
    ++good;
  }
  out << ",03/15/2014 01:00:00 AM,THEFT,41.9,-87.7,no id\n";
  out << "X1,2014-03-15 25:00,THEFT,41.9,-87.7,bad time\n";
  out << "X2,03/15/2014 01:00:00 AM,THEFT,141.9,-87.7,impossible latitude\n";
  out << "X3,03/15/2014 01:00:00 AM,,41.9,-87.7,no type\n";
  out << "X4,03/15/2014 01:00:00 AM,THEFT\n";
  out << "X5,03/15/2030 01:00:00 AM,THEFT,41.9,-87.7,far future\n";
  return file;
}

TEST(FileImporter, MappedCsvPublishesGoodRowsRejectsBadOnesAndResumes) {
  TempDir tmp;
  std::size_t good = 0;
  const std::string file = writeCityCsv(tmp.path, good);
  const std::string mappingFile = (tmp.path / "mapping.json").string();
  std::ofstream(mappingFile) << R"({"source": "csv:testcity", "id": "case_id", "time": "occurred",
    "time_format": "%m/%d/%Y %I:%M:%S %p", "time_zone": "America/Chicago", "type": "offense",
    "lat": "latitude", "lon": "longitude"})";
  ImportOptions opt;
  opt.file = file;
  opt.mapping = loadColumnMapping(mappingFile);
  opt.batchRows = 100;

  RecordingSink sink;
  Publisher publisher(sink, "reports.raw", nullptr);
  CheckpointStore checkpoints((tmp.path / "state").string());
  // Interrupted after the first batch (as by SIGTERM): the checkpoint holds it.
  int batches = 0;
  FileImporter first(publisher, checkpoints, nullptr, [&] { return ++batches >= 1; });
  auto r1 = first.run(opt);
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_TRUE(r1->stopped);
  EXPECT_EQ(r1->published, 100u);

  FileImporter rest(publisher, checkpoints, nullptr);
  auto r2 = rest.run(opt);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->alreadyImported, 100u);
  EXPECT_EQ(r2->published, good - 100);
  EXPECT_EQ(r2->rejected, 6u);  // missing_id, bad_time, bad_coordinates, missing_type, wrong_column_count, invalid_report

  std::set<std::string> keys;
  for (const auto& m : sink.sent) keys.insert(m.key);
  EXPECT_EQ(keys.size(), good) << "each good row exactly once";
  EXPECT_EQ(sink.sent.size(), good);
  EXPECT_TRUE(keys.count(core::reportIdFor("csv:testcity", "9532593").value));

  auto r3 = rest.run(opt);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->published, 0u);
  EXPECT_EQ(sink.sent.size(), good);

  // A mapping naming a column the file lacks is refused before anything is sent.
  opt.mapping.lat = "lat_wgs84";
  auto bad = rest.run(opt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("lat_wgs84"), std::string::npos);
}

// The broker stops acknowledging in the middle of an import: the import fails
// with the reason, the checkpoint stays at the last acknowledged batch, and a
// re-run publishes the rest (re-sending at most the failed batch).
class FlakySink final : public core::MessageSink {
 public:
  std::size_t failFrom = SIZE_MAX;  // messages accepted before the broker "goes down"
  std::vector<core::OutMessage> acked;
  std::vector<core::DeliveryResult> sendAndWait(const std::vector<core::OutMessage>& batch, std::chrono::milliseconds) override {
    std::vector<core::DeliveryResult> out;
    for (const auto& m : batch) {
      const bool ok = acked.size() < failFrom;
      if (ok) acked.push_back(m);
      out.push_back({ok, ok ? "" : "Local: Message timed out", !ok, 0, 0});
    }
    return out;
  }
};

TEST(FileImporter, BrokerFailureMidImportKeepsTheCheckpointAtTheLastAckedBatch) {
  TempDir tmp;
  ImportOptions opt;
  opt.file = testing::sourcePath("data/chicago_crimes_2014_sample.csv");
  opt.mapping = chicagoMapping();
  opt.batchRows = 1000;
  FlakySink sink;
  sink.failFrom = 2500;  // the third batch is half acknowledged
  Publisher publisher(sink, "reports.raw", nullptr);
  CheckpointStore checkpoints((tmp.path / "state").string());
  FileImporter importer(publisher, checkpoints, nullptr);
  auto failed = importer.run(opt);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "delivery_failed");
  EXPECT_NE(failed.error().message.find("timed out"), std::string::npos) << failed.error().message;

  sink.failFrom = SIZE_MAX;  // the broker is back
  auto resumed = importer.run(opt);
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_EQ(resumed->alreadyImported, 2000u);  // two whole batches were acknowledged
  EXPECT_EQ(resumed->published, 6957u - 2000u);
  std::set<std::string> keys;
  for (const auto& m : sink.acked) keys.insert(m.key);
  EXPECT_EQ(keys.size(), 6957u) << "nothing lost";
  EXPECT_EQ(sink.acked.size() - keys.size(), 500u) << "re-sent only the acknowledged part of the failed batch";
}

TEST(ColumnMappingFile, ErrorsNameFileLineAndKey) {
  TempDir tmp;
  const std::string f = (tmp.path / "m.json").string();
  std::ofstream(f) << "{\n  \"source\": \"csv:x\",\n  \"id\": \"id\",\n  \"time\": \"t\",\n  \"time_zone\": \"Mars/Olympus\"\n}\n";
  try {
    loadColumnMapping(f);
    FAIL() << "accepted an unknown zone";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(f + ":5: key 'time_zone'"), std::string::npos) << e.what();
  }
}

TEST(Replay, KeepsOrderAndSpacingCompressedAndGivesFreshIds) {
  auto items = loadReplay(testing::sourcePath("data/spotcrime_austin_2015_sample.json"), "America/Chicago",
                          testing::sourcePath("data/chicago_crimes_2014_sample.csv"), 3000, "run1");
  ASSERT_EQ(items.size(), 1582u + 6957u);
  for (std::size_t i = 1; i < items.size(); ++i) ASSERT_LE(items[i - 1].offset, items[i].offset);
  EXPECT_EQ(items.front().offset, 0ms);
  // The samples span about 20 days: at 3000x that is about 10 minutes.
  EXPECT_GT(items.back().offset, 8min);
  EXPECT_LT(items.back().offset, 11min);
  std::map<std::string, std::chrono::milliseconds> offsetOf;
  for (const auto& it : items) offsetOf[it.report.sourceId] = it.offset;
  // 10/19/15 09:07 PM and 06:10 PM are 2 h 57 min apart: 3.54 s at 3000x.
  ASSERT_TRUE(offsetOf.count("69098992~run1"));
  EXPECT_EQ(offsetOf["69098992~run1"] - offsetOf["69111676~run1"], 3540ms);
  for (const auto& it : items) {
    ASSERT_EQ(it.report.id, core::reportIdFor(it.report.source, it.report.sourceId));
  }
  auto again = loadReplay(testing::sourcePath("data/spotcrime_austin_2015_sample.json"), "America/Chicago", "", 3000, "run2");
  EXPECT_NE(again.front().report.id, items.front().report.id);
}

// The demo's shifted timeline: each sample moved, unchanged, so that it
// ends at --end-at; the history (before the live window) first, in event
// order and paced at the history speed-up; the live records published at
// endAt - (distance to the end) / speedup, never before they occur.
TEST(Replay, ShiftedTimelineKeepsRealSpacingAndEndsEverySampleAtEndAt) {
  ReplayOptions o;
  o.spotcrimeFile = testing::sourcePath("data/spotcrime_austin_2015_sample.json");
  o.chicagoFile = testing::sourcePath("data/chicago_crimes_2014_sample.csv");
  o.csvFiles = {{testing::sourcePath("data/la_crimes_sample.csv"),
                 testing::sourcePath("ingest/config/los_angeles_mapping.json")}};
  o.speedup = 1000;
  o.historySpeedup = 20000;
  o.runTag = "s1";
  o.endAt = core::parseTimestamp("2026-03-10T12:00:00Z").value();
  o.liveWindow = 24h;
  o.historyWindow = 72h;
  const auto items = loadReplay(o);
  ASSERT_FALSE(items.empty());
  const core::Timestamp endAt = *o.endAt;
  std::map<std::string, core::Timestamp> lastOf;
  std::size_t history = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    const auto& r = it.report;
    ASSERT_GE(r.occurredAt, endAt - 72h) << "older than --history-hours";
    ASSERT_LE(r.occurredAt, endAt);
    ASSERT_EQ(it.history, r.occurredAt < endAt - 24h) << r.sourceId;
    auto& last = lastOf[r.source];
    last = std::max(last, r.occurredAt);
    if (it.history) {
      ++history;
      ASSERT_FALSE(it.publishAt);
      ASSERT_EQ(i + 1, history) << "a history record after a live one";
      if (i > 0) {
        ASSERT_LE(items[i - 1].report.occurredAt, r.occurredAt) << "history not in event order";
      }
      ASSERT_EQ(it.offset, std::chrono::duration_cast<std::chrono::milliseconds>(
                               (r.occurredAt - items.front().report.occurredAt) / 20000));
    } else {
      ASSERT_TRUE(it.publishAt);
      ASSERT_GE(*it.publishAt, r.occurredAt) << "published before it occurs";
      ASSERT_EQ(*it.publishAt, endAt - std::chrono::duration_cast<std::chrono::milliseconds>((endAt - r.occurredAt) / 1000));
      if (i > 0 && !items[i - 1].history) {
        ASSERT_LE(*items[i - 1].publishAt, *it.publishAt);
      }
    }
    ASSERT_EQ(r.id, core::reportIdFor(r.source, r.sourceId));
    ASSERT_TRUE(r.sourceId.ends_with("~s1"));
  }
  EXPECT_GT(history, 0u);
  EXPECT_LT(history, items.size());
  // Every sample, Los Angeles' mapped CSV too, ends at --end-at.
  ASSERT_EQ(lastOf.size(), 3u);
  for (const auto& [source, last] : lastOf) EXPECT_EQ(last, endAt) << source;
  EXPECT_TRUE(lastOf.count("csv:los-angeles"));
  // Real spacing: 10/19/15 09:07 PM and 06:10 PM are 2 h 57 min apart.
  std::map<std::string, core::Timestamp> at;
  for (const auto& it : items) at[it.report.sourceId] = it.report.occurredAt;
  ASSERT_TRUE(at.count("69098992~s1") && at.count("69111676~s1"));
  EXPECT_EQ(at["69098992~s1"] - at["69111676~s1"], 177min);

  // The two parts add up to the whole.
  o.part = ReplayPart::history;
  const auto h = loadReplay(o);
  o.part = ReplayPart::live;
  const auto l = loadReplay(o);
  EXPECT_EQ(h.size(), history);
  EXPECT_EQ(l.size(), items.size() - history);
  for (const auto& it : h) ASSERT_TRUE(it.history);
  for (const auto& it : l) ASSERT_FALSE(it.history);
}

}  // namespace
}  // namespace safestream::ingest
