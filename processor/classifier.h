#pragma once
// The rules that classify a report from a source without rules of its own
// (schemas/classifier.v1.csv): offense texts of every shape ("THEFT FROM
// MOTOR VEHICLE - GRAND ($950.01 AND OVER)", "Thefts", "theft-from-vehicle",
// "CRIMINAL MISCHIEF & RELATED OF") are normalised into word stems, and
// phrase rules written once for every city (FBI UCR Part I/II and NIBRS
// offense names, plain English offense words) pick the category. NIBRS
// offense codes ("23F") decide when the text says nothing.
//
// How a text is read:
//   1. lower case; anything but letters and digits separates words; words
//      made of digits only (amounts, degrees, section numbers) are dropped;
//   2. `alias` rules rewrite words (abbreviations); `ignore` rules drop
//      words that never decide ("attempted", "of", "the");
//   3. each word is stemmed (plural endings: "burglaries" -> "burglary",
//      "thefts" -> "theft") and its doubled letters read as one, so
//      "harrassment" meets "harassment";
//   4. a rule matches when its words occur in a row; a rule word ending in
//      `*` matches any word it begins; a text word is also taken as an
//      abbreviation of a rule word it begins (at least 3 letters, "pub" ->
//      "public") or, when it has no vowel after its first letter, whose
//      letters it spells in order ("agnst" -> "against", "chld" -> "child"),
//      unless the rules use that word themselves ("non", "gun");
//      the last word of a long text may be cut short ("ADMINI").
//   5. the matching rule with the highest weight wins (default weight: its
//      number of words, so "theft from motor vehicle" beats "theft"); a tie
//      goes to the graver category in the UCR hierarchy order of the
//      categories below, then to the earlier rule.
//   6. `catchall` rules ("all other offenses", "miscellaneous") mark a
//      text that says nothing: the description is read instead.
//
// Explainable: every decision names its rule ("phrase:theft from motor
// vehicle", "nibrs-code:23F", "description:phrase:burglary"). Rules carry
// the origin they were written from ("general", or a city whose data
// prompted them), so a report can score a city with the rules written on
// the others (bench/classification/report.py).
//
// Pure domain logic, no vendor headers. Immutable after parse: safe to
// share between threads.
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace safestream::processor {

struct TextDecision {
  std::string category;
  int severity = 0;  // 0: the category's default
  std::string rule;  // "phrase:larceny", "nibrs-code:23F", ...
};

struct ClassifierOptions {
  // Rules whose every origin is in this set are left out (out-of-sample
  // scoring: the city being scored).
  std::set<std::string> excludeOrigins;
};

class TextClassifier {
 public:
  // Parses the CSV text (kind,value,category,severity,weight,origin).
  // `categories` are the taxonomy's categories: a rule naming another is an
  // error. Throws core::ConfigError naming `origin` and the line. Also the
  // fuzz entry point for the rules file.
  static TextClassifier parse(std::string_view csv, const std::set<std::string>& categories,
                              const std::string& origin = "classifier", const ClassifierOptions& options = {});
  static TextClassifier load(const std::string& path, const std::set<std::string>& categories,
                             const ClassifierOptions& options = {});

  // The category of an offense text; none when no rule matches or only a
  // catch-all does (`catchAll` then says so).
  std::optional<TextDecision> classifyText(std::string_view text, bool* catchAll = nullptr) const;
  // A NIBRS offense code ("23F", "13a", "09A"); none for any other code.
  std::optional<TextDecision> classifyCode(std::string_view code) const;

  // The words a text is read as (steps 1-3), for tests and the report.
  std::vector<std::string> words(std::string_view text) const;
  std::size_t size() const { return phrases_.size() + codes_.size(); }

 private:
  struct Phrase {
    std::vector<std::string> words;  // stems; a trailing '*' = prefix
    std::string category;
    int severity = 0;
    int weight = 0;
    int rank = 0;  // category hierarchy: lower is graver
    std::size_t order = 0;
    bool catchAll = false;
    std::string text;  // as written, for the decision's rule name
  };
  std::vector<Phrase> phrases_;
  std::map<std::string, std::vector<std::string>, std::less<>> aliases_;
  std::set<std::string, std::less<>> ignored_;
  std::map<std::string, TextDecision, std::less<>> codes_;  // upper-case NIBRS code
  std::map<std::string, int, std::less<>> ranks_;
  // Every word the rules spell out: such a word in a text is itself, never
  // an abbreviation of a longer one ("non" is not "noncriminal").
  std::set<std::string, std::less<>> vocabulary_;

  bool wordMatches(const std::string& ruleWord, const std::string& word, bool lastOfLongText) const;
};

// The light stemmer of step 3 (exposed for tests).
std::string stemWord(std::string_view word);

}  // namespace safestream::processor
