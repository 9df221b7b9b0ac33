#include "core/report_id.h"

#include <gtest/gtest.h>

#include <set>

namespace safestream::core {
namespace {

TEST(ReportId, DeterministicPerSourceAndId) {
  EXPECT_EQ(reportIdFor("chicago", "9512345"), reportIdFor("chicago", "9512345"));
  EXPECT_NE(reportIdFor("chicago", "9512345"), reportIdFor("spotcrime", "9512345"));
  // The separator keeps ("ab","c") and ("a","bc") apart.
  EXPECT_NE(reportIdFor("ab", "c"), reportIdFor("a", "bc"));
}

TEST(ReportId, IsAVersion5Uuid) {
  const std::string id = reportIdFor("spotcrime", "87654321").value;
  EXPECT_TRUE(isUuid(id)) << id;
  EXPECT_EQ(id[14], '5');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

TEST(ReportId, RandomUuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = randomUuid();
    ASSERT_TRUE(isUuid(u));
    ASSERT_EQ(u[14], '4');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(ReportId, IsUuidRejectsOtherText) {
  EXPECT_FALSE(isUuid("6F1C2A8E-5B7D-5C1E-9A3F-0D2B4C6E8F10"));  // upper case
  EXPECT_FALSE(isUuid("6f1c2a8e5b7d5c1e9a3f0d2b4c6e8f10"));
  EXPECT_FALSE(isUuid(""));
}

}  // namespace
}  // namespace safestream::core
