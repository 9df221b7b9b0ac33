#include "core/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace safestream::core {
namespace {

TEST(JsonDepth, CountsBracketsOutsideStrings) {
  EXPECT_EQ(jsonNestingDepth(""), 0u);
  EXPECT_EQ(jsonNestingDepth("1"), 0u);
  EXPECT_EQ(jsonNestingDepth("{}"), 1u);
  EXPECT_EQ(jsonNestingDepth(R"({"a":[1,{"b":[]}],"c":{}})"), 4u);
  EXPECT_EQ(jsonNestingDepth(R"({"a":"[[[[{{{{"})"), 1u) << "brackets in strings do not count";
  EXPECT_EQ(jsonNestingDepth(R"({"a":"\"[[[["})"), 1u) << "an escaped quote does not end the string";
  EXPECT_EQ(jsonNestingDepth(R"({"a":"\\"}[[)"), 2u) << "an escaped backslash does";
  EXPECT_EQ(jsonNestingDepth("]]]][["), 2u) << "stray closers do not go below zero";
}

TEST(JsonDepth, StopsAtTheLimit) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(jsonNestingDepth(deep), kMaxJsonDepth + 1);
  EXPECT_TRUE(jsonTooDeep(deep));
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_FALSE(jsonTooDeep(ok));
  EXPECT_TRUE(jsonTooDeep("[" + ok + "]"));
}

}  // namespace
}  // namespace safestream::core
