#include "ingest/csv_reader.h"

#include <gtest/gtest.h>

#include <sstream>

namespace safestream::ingest {
namespace {

std::vector<std::vector<std::string>> readAll(const std::string& text, std::vector<std::string>* errors = nullptr,
                                              std::size_t max = 1 << 20) {
  std::istringstream in(text);
  CsvReader r(in, max);
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> f;
  while (r.next(f)) {
    out.push_back(f);
    if (errors) errors->push_back(r.error());
  }
  return out;
}

TEST(CsvReader, QuotesCommasNewlinesAndCrLf) {
  auto rows = readAll("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n2,\"two\nlines\",\n3,,last");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "two\nlines", ""}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"3", "", "last"}));
}

TEST(CsvReader, ByteOrderMarkAndLineNumbersAndOffsets) {
  std::istringstream in("\xEF\xBB\xBFID,Date\n1,\"a\nb\"\n2,c\n");
  CsvReader r(in);
  std::vector<std::string> f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f[0], "ID");
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(r.line(), 2u);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(r.line(), 4u);
  EXPECT_EQ(r.bytesRead(), in.str().size());
  EXPECT_FALSE(r.next(f));
}

TEST(CsvReader, UnterminatedQuoteAndHugeRecordAreMalformedNotFatal) {
  std::vector<std::string> errors;
  auto rows = readAll("1,ok\n2,\"never closed\n3,x\n", &errors);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(errors[0].empty());
  EXPECT_NE(errors[1].find("unterminated"), std::string::npos);

  errors.clear();
  auto big = readAll("1,\"" + std::string(100, 'x') + "\n2,after\n", &errors, 50);
  ASSERT_GE(big.size(), 2u);
  EXPECT_NE(errors[0].find("longer than"), std::string::npos);
  EXPECT_EQ(big.back(), (std::vector<std::string>{"2", "after"}));  // resynchronised
}

}  // namespace
}  // namespace safestream::ingest
