// `safestream-ingest import` against the real broker: the Chicago sample is
// published exactly once (every row the documented rule accepts), and a
// second import of the same file publishes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/report_id.h"
#include "core/time.h"
#include "ingest/csv_reader.h"
#include "tests/integration/ingest/topic_probe.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"

namespace safestream {
namespace {

using namespace std::chrono_literals;

// The documented rejection rule (docs/ingest.md), written independently of
// the importer: a row is published unless it has the wrong number of columns,
// no ID, a Date that is not "MM/DD/YYYY hh:mm:ss AM/PM", no Primary Type, or
// coordinates that are half-given or out of range.
std::set<std::string> idsTheRuleAccepts(const std::string& file, const std::string& source) {
  std::ifstream in(file, std::ios::binary);
  ingest::CsvReader reader(in);
  std::vector<std::string> header, row;
  EXPECT_TRUE(reader.next(header));
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  std::set<std::string> ids;
  while (reader.next(row)) {
    if (reader.malformed() || row.size() != header.size()) continue;
    const std::string& id = row[col["ID"]];
    if (id.empty() || row[col["Primary Type"]].empty()) continue;
    if (!core::parseLocalTime(row[col["Date"]], "%m/%d/%Y %I:%M:%S %p", "America/Chicago")) continue;
    const std::string& lat = row[col["Latitude"]];
    const std::string& lon = row[col["Longitude"]];
    if (lat.empty() != lon.empty()) continue;
    if (!lat.empty() && (std::fabs(std::stod(lat)) > 90 || std::fabs(std::stod(lon)) > 180)) continue;
    ids.insert(core::reportIdFor(source, id).value);
  }
  return ids;
}

long long summaryField(const std::string& output, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex("\"" + name + "\":([0-9]+)"))) return -1;
  return std::stoll(m[1]);
}

TEST(IngestImport, ChicagoSampleIsPublishedExactlyOnce) {
  const std::string bootstrap = testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
  const std::string file = testing::sourcePath("data/chicago_crimes_2014_sample.csv");
  // A source name of this test only, so other tests' messages on the shared
  // topic (and earlier runs of this one) are not counted.
  const std::string source = "chicago.test" + core::randomUuid().substr(0, 8);
  const auto stateDir = std::filesystem::temp_directory_path() / ("ingest-import-" + core::randomUuid());
  const std::set<std::string> expected = idsTheRuleAccepts(file, source);
  ASSERT_EQ(expected.size(), 6957u) << "the sample has no row the rule rejects (data/README.md)";

  testing::TopicCollector collector(bootstrap, "reports.raw", {source});
  const std::string cmd = "SAFESTREAM_KAFKA_BOOTSTRAP=" + bootstrap + " " +
                          testing::binaryPath("ingest/safestream-ingest") + " import --file " + file +
                          " --format chicago --source " + source + " --state-dir " + stateDir.string() + " 2>/dev/null";
  auto first = testing::runCommand(cmd, 300);
  ASSERT_EQ(first.exitCode, 0) << first.output;
  EXPECT_EQ(summaryField(first.output, "published"), static_cast<long long>(expected.size())) << first.output;
  EXPECT_EQ(summaryField(first.output, "rejected"), 0) << first.output;

  ASSERT_TRUE(testing::waitUntil([&] { return collector.ids().size() >= expected.size(); }, 120s))
      << "consumed " << collector.ids().size() << " of " << expected.size();
  EXPECT_EQ(collector.ids(), expected);

  auto second = testing::runCommand(cmd, 300);
  ASSERT_EQ(second.exitCode, 0) << second.output;
  EXPECT_EQ(summaryField(second.output, "published"), 0) << second.output;
  EXPECT_EQ(summaryField(second.output, "already_imported"), 6957) << second.output;

  // Read the topic up to its current end: nothing more of ours may be there.
  const auto ends = testing::endOffsets(bootstrap, "reports.raw");
  ASSERT_TRUE(testing::waitUntil([&] { return collector.caughtUp(ends); }, 120s));
  EXPECT_EQ(collector.total(), expected.size()) << "duplicates on the topic";
  EXPECT_EQ(collector.undecodable(), 0u);

  // Spot check of one message's content.
  for (const auto& r : collector.reports()) {
    if (r.sourceId != "9532593") continue;
    EXPECT_EQ(core::formatTimestamp(r.occurredAt), "2014-03-15T05:00:00Z");
    EXPECT_EQ(r.timeZone.value_or(""), "America/Chicago");
    EXPECT_EQ(r.rawCode.value_or(""), "0820");
    ASSERT_TRUE(r.rawJson);
    EXPECT_NE(r.rawJson->find("BAR OR TAVERN"), std::string::npos);
    EXPECT_TRUE(r.ingestedAt.has_value());
  }
  std::filesystem::remove_all(stateDir);
}

TEST(IngestImport, BadFileAndMissingBrokerAreOneClearLine) {
  const std::string bin = testing::binaryPath("ingest/safestream-ingest");
  const auto tmp = std::filesystem::temp_directory_path() / ("ingest-bad-" + core::randomUuid() + ".csv");
  std::ofstream(tmp) << "a,b\n1,2\n";
  auto r = testing::runCommand("SAFESTREAM_KAFKA_BOOTSTRAP=" + testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP") +
                               " " + bin + " import --file " + tmp.string() + " --state-dir " + tmp.string() + ".state 2>&1");
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("the header has no column 'ID'"), std::string::npos) << r.output;
  auto down = testing::runCommand("SAFESTREAM_KAFKA_BOOTSTRAP=127.0.0.1:1 " + bin + " import --file " + tmp.string() +
                                  " --state-dir " + tmp.string() + ".state 2>&1", 60);
  EXPECT_EQ(down.exitCode, 1) << down.output;
  EXPECT_NE(down.output.find("kafka"), std::string::npos) << down.output;
  std::filesystem::remove_all(tmp.string() + ".state");
  std::filesystem::remove(tmp);
}

}  // namespace
}  // namespace safestream
