#pragma once
// Reading of the rules files (schemas/taxonomy.v1.csv and
// schemas/classifier.v1.csv), shared by Taxonomy and TextClassifier: plain
// comma-separated values, never quoted (a rule value holds no comma); blank
// lines and lines starting with '#' are skipped; the optional first row
// starting with "kind" is the header; every value is trimmed of spaces,
// tabs and a CR. Pure, no I/O.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace safestream::processor {

struct RulesRow {
  int line = 0;                   // 1-based line of the file, for messages
  std::vector<std::string> cols;  // exactly the expected number
};

// Calls `row` for each data row, in file order. A row with another number of
// columns than `columns` throws core::ConfigError "<origin>:<line>: expected
// <columns> columns (<header>), got <n>".
void readRulesCsv(std::string_view csv, const std::string& origin, std::size_t columns, std::string_view header,
                  const std::function<void(const RulesRow&)>& row);

// core::ConfigError "<origin>:<line>: <why>", the rules files' error form.
[[noreturn]] void failRulesRow(const std::string& origin, int line, const std::string& why);

}  // namespace safestream::processor
