#include "processor/rules_csv.h"

#include <sstream>

#include "core/result.h"

namespace safestream::processor {
namespace {

std::vector<std::string> splitLine(std::string_view line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto comma = line.find(',', start);
    std::string v(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r' || v.back() == '\t')) v.pop_back();
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
    out.push_back(std::move(v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

void failRulesRow(const std::string& origin, int line, const std::string& why) {
  throw core::ConfigError(origin + ":" + std::to_string(line) + ": " + why);
}

void readRulesCsv(std::string_view csv, const std::string& origin, std::size_t columns, std::string_view header,
                  const std::function<void(const RulesRow&)>& row) {
  std::istringstream in{std::string(csv)};
  std::string line;
  RulesRow r;
  bool headerSeen = false;
  while (std::getline(in, line)) {
    ++r.line;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    r.cols = splitLine(line);
    if (r.cols.size() != columns) {
      failRulesRow(origin, r.line,
                   "expected " + std::to_string(columns) + " columns (" + std::string(header) + "), got " +
                       std::to_string(r.cols.size()));
    }
    if (!headerSeen && r.cols[0] == "kind") {
      headerSeen = true;
      continue;
    }
    row(r);
  }
}

}  // namespace safestream::processor
