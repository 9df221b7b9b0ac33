#include "ingest/checkpoint_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/report_id.h"

namespace safestream::ingest {
namespace {

std::string tempDir() {
  auto p = std::filesystem::temp_directory_path() / ("ingest-cp-" + core::randomUuid());
  return p.string();
}

TEST(RecentIds, BoundedOldestEvictedFirst) {
  RecentIds r(3);
  for (const char* id : {"a", "b", "c", "a", "d"}) r.add(id);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_FALSE(r.contains("a"));
  EXPECT_TRUE(r.contains("b"));
  EXPECT_TRUE(r.contains("d"));
}

TEST(CheckpointStore, RoundTripSurvivesANewStoreAndKeysAreSafeFileNames) {
  const std::string dir = tempDir();
  {
    CheckpointStore store(dir, 100);
    Checkpoint cp;
    cp.highWater = core::fromEpochMillis(1'400'000'000'000);
    cp.recent.add("x");
    cp.recent.add("y");
    cp.fileOffset = 42;
    cp.fileRows = 7;
    cp.fileFingerprint = "abc";
    ASSERT_TRUE(store.save("spotcrime/austin:downtown", cp).ok());
  }
  CheckpointStore again(dir, 100);
  EXPECT_EQ(std::filesystem::path(again.pathFor("spotcrime/austin:downtown")).filename(), "spotcrime_austin_downtown.json");
  auto cp = again.load("spotcrime/austin:downtown");
  ASSERT_TRUE(cp.ok()) << cp.error().message;
  EXPECT_EQ(cp->highWater, core::fromEpochMillis(1'400'000'000'000));
  EXPECT_TRUE(cp->recent.contains("x"));
  EXPECT_TRUE(cp->recent.contains("y"));
  EXPECT_EQ(cp->fileOffset, 42u);
  EXPECT_EQ(cp->fileRows, 7u);
  EXPECT_EQ(cp->fileFingerprint, "abc");
  EXPECT_FALSE(std::filesystem::exists(again.pathFor("spotcrime/austin:downtown") + ".tmp"));

  auto missing = again.load("never-saved");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->highWater);

  std::ofstream(again.pathFor("broken")) << "{\"high_water_ms\": ";
  auto broken = again.load("broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("broken.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace safestream::ingest
