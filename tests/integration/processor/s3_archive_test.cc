// The S3 archive sink against the stack's S3: segments rotated by size, age
// and hour; a replay after a crash writes exactly the lost objects; runs of
// a topic whose offsets start again never share a name.
#include <gtest/gtest.h>

#include <regex>

#include "core/report_id.h"
#include "core/s3_client.h"
#include "processor/s3_archive_sink.h"
#include "tests/support/daemon_process.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

class ManualClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return t; }
  core::Timestamp t = *core::parseTimestamp("2026-03-01T10:00:00Z");
};

core::S3Settings s3Settings() {
  core::S3Settings s;
  s.endpoint = testing::requireStackEnv("SAFESTREAM_S3_ENDPOINT");
  s.bucket = testing::requireStackEnv("SAFESTREAM_S3_BUCKET");
  s.region = testing::stackEnv("SAFESTREAM_S3_REGION").value_or("us-east-1");
  s.accessKey = testing::requireStackEnv("SAFESTREAM_S3_ACCESS_KEY");
  s.secretKey = testing::requireStackEnv("SAFESTREAM_S3_SECRET_KEY");
  return s;
}

const core::TopicPartition kTp{"reports.raw", 3};
const long long kTen = core::toEpochMillis(*core::parseTimestamp("2026-03-01T10:00:00Z"));

// Offsets [from, to] of kTp; every seventh is invalid (no report, only in
// the range, as after the DLQ). Record timestamps from `tsMs`, +1 s each.
processor::SinkBatch batch(std::int64_t from, std::int64_t to, long long tsMs, const std::string& tag = "r") {
  processor::SinkBatch b;
  for (std::int64_t o = from; o <= to; ++o) {
    if (o % 7 == 6) continue;
    processor::ProcessedReport p;
    p.source = kTp;
    p.offset = o;
    p.timestampMs = tsMs + (o - from) * 1000;
    p.publicJson = R"({"source_id":")" + tag + std::to_string(o) + R"(","pad":")" + std::string(200, 'x') + "\"}";
    b.reports.push_back(std::move(p));
  }
  b.ranges.push_back({kTp, from, to});
  return b;
}

struct Archive {
  struct Object {
    std::string key;
    std::int64_t first, last;
    std::vector<std::string> lines;
  };
  std::vector<Object> objects;
};

Archive readArchive(const std::string& prefix) {
  core::S3Client s3(s3Settings());
  Archive a;
  auto keys = s3.list(prefix + "/");
  EXPECT_TRUE(keys.ok());
  static const std::regex kName(R"(/([^/]+)-(\d+)-(\d+)-(\d+)\.ndjson\.gz$)");
  for (const auto& k : *keys) {
    std::smatch m;
    if (!std::regex_search(k, m, kName)) continue;
    auto body = s3.get(k);
    EXPECT_TRUE(body.ok()) << k;
    Archive::Object o{k, std::stoll(m[3]), std::stoll(m[4]), {}};
    std::istringstream in(processor::gzipDecompress(*body));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) o.lines.push_back(line);
    }
    a.objects.push_back(std::move(o));
  }
  std::sort(a.objects.begin(), a.objects.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return a;
}

// Ranges of distinct objects follow each other from `first` to `last`
// without gap or overlap, and every valid offset's line is there once.
void expectEveryOffsetOnce(const Archive& a, std::int64_t first, std::int64_t last, const std::string& run) {
  std::int64_t next = first;
  std::map<std::string, int> lines;
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (const auto& o : a.objects) {
    EXPECT_NE(o.key.find("/" + run + ".reports.raw-3-"), std::string::npos) << o.key;
    for (const auto& l : o.lines) ++lines[l.substr(0, l.find("\",\"pad"))];
    if (!seen.insert({o.first, o.last}).second) continue;  // one segment, several hours
    EXPECT_EQ(o.first, next) << o.key << ": gap or overlap";
    next = o.last + 1;
  }
  EXPECT_EQ(next, last + 1);
  std::size_t valid = 0;
  for (std::int64_t o = first; o <= last; ++o) valid += o % 7 != 6;
  EXPECT_EQ(lines.size(), valid);
  for (const auto& [l, n] : lines) EXPECT_EQ(n, 1) << l;
}

std::string uniquePrefix(const std::string& name) { return "it/s3archive-" + name + "-" + core::randomUuid().substr(0, 8); }

TEST(S3Archive, SegmentsCloseBySizeAgeAndHourAndCoverEveryOffsetOnce) {
  testing::loadStackEnvIntoProcess();
  ManualClock clock;
  const std::string prefix = uniquePrefix("rotate");
  processor::S3ArchiveSink sink(s3Settings(), {.prefix = prefix, .run = "runA", .rotateBytes = 1500,
                                               .rotateInterval = std::chrono::seconds(60)},
                                clock);
  // Small polls: the open segment grows across them, held in pending().
  ASSERT_TRUE(sink.write(batch(0, 4, kTen)).ok());
  EXPECT_EQ(sink.pending().at(kTp), 0);
  ASSERT_TRUE(sink.write(batch(5, 9, kTen + 5000)).ok());
  EXPECT_EQ(sink.pending().at(kTp), 0) << "not closed before its size or age";
  EXPECT_TRUE(readArchive(prefix).objects.empty());
  // Age: a tick past the interval closes it.
  clock.t += 61s;
  ASSERT_TRUE(sink.tick(clock.now()).ok());
  EXPECT_EQ(sink.pending().count(kTp), 0u);
  ASSERT_EQ(readArchive(prefix).objects.size(), 1u);
  EXPECT_EQ(readArchive(prefix).objects[0].first, 0);
  EXPECT_EQ(readArchive(prefix).objects[0].last, 9);
  // Size: 90 records of ~230 bytes close several segments of 1,500 bytes.
  ASSERT_TRUE(sink.write(batch(10, 99, kTen + 10000)).ok());
  EXPECT_GE(readArchive(prefix).objects.size(), 3u);
  // Hour: a record of the next hour closes the open segment.
  ASSERT_TRUE(sink.write(batch(100, 105, kTen + 3600 * 1000)).ok());
  ASSERT_TRUE(sink.flush(5s).ok());
  const Archive a = readArchive(prefix);
  EXPECT_GT(a.objects.size(), 3u);
  expectEveryOffsetOnce(a, 0, 105, "runA");
  EXPECT_NE(a.objects.back().key.find("/hour=11/"), std::string::npos) << a.objects.back().key;
  EXPECT_NE(a.objects.front().key.find("/dt=2026-03-01/hour=10/"), std::string::npos) << a.objects.front().key;
}

TEST(S3Archive, AReplayAfterACrashWritesExactlyTheLostObjects) {
  testing::loadStackEnvIntoProcess();
  ManualClock clock;
  const std::string prefix = uniquePrefix("replay");
  const processor::S3ArchiveOptions opts{.prefix = prefix, .run = "runB", .rotateBytes = 1 << 20,
                                         .rotateInterval = std::chrono::seconds(60)};
  std::string lostKey;
  std::int64_t lostFirst = -1;
  {
    processor::S3ArchiveSink first(s3Settings(), opts, clock);
    ASSERT_TRUE(first.write(batch(0, 19, kTen)).ok());
    clock.t += 61s;
    ASSERT_TRUE(first.write(batch(20, 39, kTen + 20000)).ok());  // closes [0,19] before taking 20
    clock.t += 61s;
    ASSERT_TRUE(first.tick(clock.now()).ok());  // closes [20,39]
    ASSERT_TRUE(first.write(batch(40, 44, kTen + 40000)).ok());  // open when the process dies
    EXPECT_EQ(first.pending().at(kTp), 40);
    // The crash came between the marker of [20,39] and its object: the
    // object is missing (as if never written).
    const Archive a = readArchive(prefix);
    ASSERT_EQ(a.objects.size(), 2u);
    lostKey = a.objects[1].key;
    lostFirst = a.objects[1].first;  // 21: offset 20 is invalid and closed the segment before it
    core::S3Client s3(s3Settings());
    ASSERT_TRUE(s3.remove(lostKey).ok());
  }  // destroyed without flush: [40,44] is lost with the process
  // The commit stood at 20 (another lane was behind): the replay starts there.
  processor::S3ArchiveSink second(s3Settings(), opts, clock);
  ASSERT_TRUE(second.write(batch(20, 32, kTen + 20000)).ok());
  EXPECT_EQ(second.pending().at(kTp), lostFirst) << "the segment of the marker is formed again";
  ASSERT_TRUE(second.write(batch(33, 50, kTen + 33000)).ok());
  ASSERT_TRUE(second.flush(5s).ok());
  const Archive a = readArchive(prefix);
  expectEveryOffsetOnce(a, 0, 50, "runB");
  EXPECT_TRUE(std::any_of(a.objects.begin(), a.objects.end(), [&](const auto& o) { return o.key == lostKey; }))
      << "the lost object was written again under its own name";

  // A replay that starts past the marker's first offset (the commit passed
  // it, so that segment was complete) skips to after it.
  processor::S3ArchiveSink third(s3Settings(), opts, clock);
  const std::int64_t markerFirst = a.objects.back().first;
  ASSERT_TRUE(third.write(batch(markerFirst + 1, 60, kTen + 60000)).ok());
  ASSERT_TRUE(third.flush(5s).ok());
  expectEveryOffsetOnce(readArchive(prefix), 0, 60, "runB");
}

TEST(S3Archive, OffsetsThatStartAgainUnderANewRunNeverShareAName) {
  testing::loadStackEnvIntoProcess();
  ManualClock clock;
  const std::string prefix = uniquePrefix("runs");
  {
    processor::S3ArchiveSink old(s3Settings(), {.prefix = prefix, .run = "clusterOld"}, clock);
    ASSERT_TRUE(old.write(batch(0, 9, kTen, "old")).ok());
    ASSERT_TRUE(old.flush(5s).ok());
  }
  // A new broker: offsets begin at 0 again, the same hour.
  processor::S3ArchiveSink fresh(s3Settings(), {.prefix = prefix, .run = "clusterNew"}, clock);
  ASSERT_TRUE(fresh.write(batch(0, 4, kTen, "new")).ok());
  ASSERT_TRUE(fresh.flush(5s).ok());
  const Archive a = readArchive(prefix);
  ASSERT_EQ(a.objects.size(), 2u);
  std::set<std::string> lines;
  for (const auto& o : a.objects) lines.insert(o.lines.begin(), o.lines.end());
  EXPECT_EQ(lines.size(), 9u + 5u) << "both runs kept (offset 6 is invalid in the first)";
  EXPECT_THROW(processor::S3ArchiveSink(s3Settings(), {.prefix = prefix, .run = "bad/run"}, clock), core::ConfigError);
}

}  // namespace
}  // namespace safestream
