#pragma once
// The category taxonomy (schemas/taxonomy.v1.csv): maps every source's own
// type text or code to one category with a severity. Pure domain logic, no
// vendor headers. Immutable after load, so safe to share between threads.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "core/report.h"
#include "processor/classifier.h"

namespace safestream::processor {

struct Classification {
  std::string category;
  int severity = 1;
  bool mapped = true;  // false: nothing matched, the report became "other"
  std::string rule;    // which rule decided (enrichment.classified_by)
};

class Taxonomy {
 public:
  // Parses the CSV text; throws core::ConfigError naming the line on bad rows
  // (unknown category, severity outside 1..5, wrong column count).
  static Taxonomy parse(std::string_view csv, const std::string& origin = "taxonomy");
  static Taxonomy load(const std::string& path);

  // Look-up order: (source, code), (source, type), (*, code), (*, type), the
  // report's own category when it is a taxonomy category, then the general
  // rules of the attached classifier (the type text; the description when
  // the type is a catch-all or says nothing; a NIBRS code), else "other".
  Classification classify(const core::Report& report) const;

  // The general rules (schemas/classifier.v1.csv) for sources without
  // rules of their own; set once at start-up, before sharing.
  void setClassifier(std::shared_ptr<const TextClassifier> classifier) { classifier_ = std::move(classifier); }
  // Loads `path` against this taxonomy's categories and attaches it.
  void loadClassifier(const std::string& path, const ClassifierOptions& options = {});
  std::set<std::string> categories() const;

  bool hasCategory(std::string_view category) const { return severity_.count(std::string(category)) > 0; }
  std::size_t size() const { return rules_.size(); }

 private:
  enum class Kind { type, code };
  using Key = std::pair<std::string, std::string>;  // (source or "*", folded value)
  std::map<std::string, int> severity_;                         // category -> default severity
  std::map<std::pair<Kind, Key>, std::pair<std::string, int>> rules_;  // -> (category, severity)
  std::shared_ptr<const TextClassifier> classifier_;

  std::optional<Classification> find(Kind kind, const std::string& source, const std::string& value) const;
};

// Case-folded, trimmed, inner whitespace collapsed: "  Motor  Vehicle theft" -> "motor vehicle theft".
std::string foldTypeText(std::string_view text);

}  // namespace safestream::processor
