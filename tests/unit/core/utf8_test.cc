#include "core/utf8.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace safestream::core {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsKept) {
  const std::vector<std::string> valid = {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x9A\x93 police",
                              "\xED\x9F\xBF", "\xEE\x80\x80", "\xF4\x8F\xBF\xBF", std::string("nul\0inside", 10)};
  for (const auto& s : valid) {
    EXPECT_TRUE(isValidUtf8(s)) << s;
    EXPECT_EQ(toValidUtf8(s), s);
  }
}

// The ill-formed forms of Unicode table 3-7, each with what replaces it
// (one U+FFFD per maximal ill-formed subpart).
TEST(Utf8, IllFormedSequencesAreReplaced) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xFF", kFffd},                                   // never a lead byte
      {"\x80", kFffd},                                   // stray continuation
      {"a\xC0\xAF" "b", "a" + kFffd + kFffd + "b"},      // overlong '/' (C0 never valid)
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},           // overlong 3-byte
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},           // UTF-16 surrogate D800
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\xF5\x80", kFffd + kFffd},
      {"\xE2\x82", kFffd},                               // truncated at the end: one subpart
      {"\xE2\x82" "x", kFffd + "x"},                     // truncated before ASCII
      {"\xF0\x9F\x9A", kFffd},
      {std::string("%\0\xFF", 3), std::string("%\0", 2) + kFffd},
  };
  for (const auto& [in, want] : cases) {
    EXPECT_FALSE(isValidUtf8(in));
    const auto out = toValidUtf8(in);
    EXPECT_EQ(out, want) << testing::PrintToString(in);
    EXPECT_TRUE(isValidUtf8(out));
    // nlohmann (strict) accepts the repaired text as a JSON string.
    EXPECT_NO_THROW((void)nlohmann::json(out).dump());
  }
}

TEST(Utf8, SequenceLength) {
  EXPECT_EQ(utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(utf8SequenceLength("\xC3\xA9", 0), 2u);
  EXPECT_EQ(utf8SequenceLength("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(utf8SequenceLength("\xF0\x9F\x9A\x93", 0), 4u);
  EXPECT_EQ(utf8SequenceLength("\xC3\xA9", 1), 0u);
  EXPECT_EQ(utf8SequenceLength("\xC3", 0), 0u);
  EXPECT_EQ(utf8SequenceLength("x", 1), 0u);
}

// Every byte string of length 1..2, and a sample of length 3..4, agrees with
// a decoder written from the definition (code point ranges).
TEST(Utf8, AgreesWithCodePointDefinition) {
  auto reference = [](const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > s.size()) return false;
      std::uint32_t cp = n == 1 ? c : c & (0x7F >> n);
      for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (b & 0x3F);
      }
      const std::uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      i += n;
    }
    return true;
  };
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string s(1, static_cast<char>(a));
      if (b >= 0) s.push_back(static_cast<char>(b));
      ASSERT_EQ(isValidUtf8(s), reference(s)) << testing::PrintToString(s);
    }
  }
  std::uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    for (int k = 0; k < 3 + i % 2; ++k) {
      x = x * 1103515245u + 12345u;
      const auto byte = (x >> 16) & 0xFF;
      s.push_back(static_cast<char>(i % 3 == 0 ? (0x80 | (byte & 0x3F)) : byte));  // more continuation bytes
    }
    if (i % 3 == 0) s[0] = static_cast<char>(0xE0 + (x >> 24) % 21);
    ASSERT_EQ(isValidUtf8(s), reference(s)) << testing::PrintToString(s);
    ASSERT_TRUE(isValidUtf8(toValidUtf8(s)));
  }
}

}  // namespace
}  // namespace safestream::core
