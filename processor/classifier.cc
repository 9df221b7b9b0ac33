#include "processor/classifier.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/result.h"
#include "processor/rules_csv.h"

namespace safestream::processor {
namespace {

// The UCR hierarchy (graver first), used to break ties between rules of
// equal weight: "ROBBERY - ASSAULT" is a robbery.
constexpr std::string_view kHierarchy[] = {"homicide", "sexual-offense", "robbery", "shooting", "assault",
                                           "burglary", "theft", "vehicle-theft", "arson", "weapons",
                                           "drugs", "fraud", "vandalism", "disturbance", "non-crime", "other"};

bool isVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; }

// Step 1: lower-case words of letters and digits; digit-only words dropped.
std::vector<std::string> rawWords(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    bool digits = !cur.empty();
    for (char c : cur) digits = digits && c >= '0' && c <= '9';
    if (!cur.empty() && !digits) out.push_back(cur);
    cur.clear();
  };
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') cur.push_back(static_cast<char>(c - 'A' + 'a'));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) cur.push_back(static_cast<char>(c));
    else if (c == '\'') continue;  // "driver's" -> "drivers"
    else flush();
  }
  flush();
  return out;
}

// Doubled letters read as one, so spellings that double a letter or not
// agree ("harrassment", "harassment").
std::string collapseDoubles(std::string s) {
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

}  // namespace

std::string stemWord(std::string_view w) {
  std::string s(w);
  const auto ends = [&](std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (s.size() > 4 && ends("ies")) return s.substr(0, s.size() - 3) + "y";   // burglaries, robberies
  if (s.size() > 4 && (ends("sses") || ends("xes") || ends("ches") || ends("shes"))) return s.substr(0, s.size() - 2);
  if (s.size() > 3 && ends("s") && !ends("ss") && !ends("us") && !ends("is")) return s.substr(0, s.size() - 1);
  return s;
}

TextClassifier TextClassifier::parse(std::string_view csv, const std::set<std::string>& categories,
                                     const std::string& origin, const ClassifierOptions& options) {
  TextClassifier t;
  int rank = 0;
  for (auto c : kHierarchy) t.ranks_[std::string(c)] = rank++;
  readRulesCsv(csv, origin, 6, "kind,value,category,severity,weight,origin", [&](const RulesRow& row) {
    const auto& cols = row.cols;
    auto fail = [&](const std::string& why) { failRulesRow(origin, row.line, why); };
    const std::string& kind = cols[0];
    const std::string& value = cols[1];
    if (value.empty()) fail("a rule needs a value");
    if (cols[5].empty()) fail("a rule needs an origin (general, or the city it was written from)");
    // origin: one or more names separated by '|'
    std::set<std::string> origins;
    {
      std::stringstream os(cols[5]);
      std::string o;
      while (std::getline(os, o, '|')) {
        if (!o.empty()) origins.insert(o);
      }
    }
    bool excluded = !options.excludeOrigins.empty() && !origins.empty();
    for (const auto& o : origins) excluded = excluded && options.excludeOrigins.count(o) > 0;

    auto parseInt = [&](const std::string& text, int lo, int hi, const char* what) {
      if (text.empty()) return 0;
      int v = 0;
      try {
        std::size_t used = 0;
        v = std::stoi(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
      } catch (...) {
        fail(std::string(what) + " '" + text + "' is not a number");
      }
      if (v < lo || v > hi) fail(std::string(what) + " must be " + std::to_string(lo) + ".." + std::to_string(hi));
      return v;
    };
    if (kind == "alias") {
      auto from = rawWords(value);
      auto to = rawWords(cols[2]);
      if (from.size() != 1 || to.empty()) fail("an alias maps one word (value) to words (category column)");
      if (!excluded) t.aliases_[from.front()] = to;
    } else if (kind == "ignore") {
      auto w = rawWords(value);
      if (w.size() != 1) fail("an ignore rule names one word");
      if (!excluded) t.ignored_.insert(w.front());
    } else if (kind == "phrase" || kind == "catchall") {
      const std::string& category = kind == "catchall" ? std::string("other") : cols[2];
      if (kind == "phrase" && !categories.count(category)) fail("unknown category '" + category + "'");
      Phrase p;
      p.category = category;
      p.severity = parseInt(cols[3], 1, 5, "severity");
      p.catchAll = kind == "catchall";
      p.text = value;
      // A rule's words go through the same steps as a text's, except that
      // a trailing '*' marks a prefix.
      std::string cur;
      std::vector<std::string> words;
      for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || ch == '*') cur.push_back(static_cast<char>(std::tolower(c)));
        else if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
      }
      if (!cur.empty()) words.push_back(std::move(cur));
      // Words the ignore rules above drop from texts are dropped here too.
      words.erase(std::remove_if(words.begin(), words.end(), [&](const std::string& w) { return t.ignored_.count(w) > 0; }),
                  words.end());
      for (auto& w : words) {
        const bool prefix = w.size() > 1 && w.back() == '*';
        if (prefix) w.pop_back();
        if (w.empty() || w.find('*') != std::string::npos) fail("'*' may only end a word");
        if (!prefix) w = stemWord(w);
        w = collapseDoubles(std::move(w));
        if (prefix) w.push_back('*');
      }
      if (words.empty()) fail("a phrase needs at least one word");
      for (const auto& w : words) t.vocabulary_.insert(w.back() == '*' ? w.substr(0, w.size() - 1) : w);
      p.words = std::move(words);
      p.weight = parseInt(cols[4], 1, 100, "weight");
      if (p.weight == 0) p.weight = static_cast<int>(p.words.size());
      auto r = t.ranks_.find(p.category);
      p.rank = r == t.ranks_.end() ? static_cast<int>(std::size(kHierarchy)) : r->second;
      p.order = t.phrases_.size();
      if (!excluded) t.phrases_.push_back(std::move(p));
    } else if (kind == "nibrs-code") {
      if (!categories.count(cols[2])) fail("unknown category '" + cols[2] + "'");
      std::string code;
      for (char c : value) code.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      const int sev = parseInt(cols[3], 1, 5, "severity");
      if (!excluded) t.codes_[code] = TextDecision{cols[2], sev, "nibrs-code:" + code};
    } else {
      fail("unknown kind '" + kind + "' (phrase, catchall, alias, ignore or nibrs-code)");
    }
  });
  return t;
}

TextClassifier TextClassifier::load(const std::string& path, const std::set<std::string>& categories,
                                    const ClassifierOptions& options) {
  std::ifstream f(path);
  if (!f) throw core::ConfigError("cannot read classifier rules " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), categories, path, options);
}

std::vector<std::string> TextClassifier::words(std::string_view text) const {
  std::vector<std::string> out;
  for (auto& w : rawWords(text)) {
    auto alias = aliases_.find(w);
    if (alias != aliases_.end()) {
      for (const auto& a : alias->second) {
        if (!ignored_.count(a)) out.push_back(collapseDoubles(stemWord(a)));
      }
      continue;
    }
    if (ignored_.count(w)) continue;
    out.push_back(collapseDoubles(stemWord(w)));
  }
  return out;
}

bool TextClassifier::wordMatches(const std::string& rule, const std::string& word, bool lastOfLongText) const {
  const bool prefix = !rule.empty() && rule.back() == '*';
  const std::string_view r = prefix ? std::string_view(rule).substr(0, rule.size() - 1) : std::string_view(rule);
  if (word == r) return true;
  if (prefix && word.size() >= r.size() && word.compare(0, r.size(), r) == 0) return true;
  // A prefix rule is already a beginning: a shorter word does not abbreviate
  // it ("gun" is not "gunshot*").
  if (prefix || word.size() < 3 || word.size() >= r.size() || word.front() != r.front() ||
      vocabulary_.count(word) > 0) {
    // A cut-short last word: "thef" of "theft".
    return lastOfLongText && word.size() >= 3 && word.size() < r.size() && r.compare(0, word.size(), word) == 0;
  }
  // An abbreviation: a beginning of the rule word ("pub" of "public")...
  if (r.compare(0, word.size(), word) == 0) return true;
  // ...or, without vowels after its first letter, the rule word's letters in
  // order ("agnst" of "against", "chld" of "child").
  for (std::size_t i = 1; i < word.size(); ++i) {
    if (isVowel(word[i])) return false;
  }
  std::size_t k = 1;
  for (std::size_t i = 1; i < r.size() && k < word.size(); ++i) {
    if (r[i] == word[k]) ++k;
  }
  return k == word.size();
}

std::optional<TextDecision> TextClassifier::classifyText(std::string_view text, bool* catchAll) const {
  if (catchAll) *catchAll = false;
  const auto ws = words(text);
  if (ws.empty()) return std::nullopt;
  // Portals cut long texts ("OFFENSES AGAINST PUBLIC ADMINI"): the last
  // word of a text of 20 characters or more may be a beginning.
  const bool longText = text.size() >= 20;
  const Phrase* best = nullptr;
  const Phrase* bestCatchAll = nullptr;
  for (const auto& p : phrases_) {
    const std::size_t n = p.words.size();
    if (n > ws.size()) continue;
    bool found = false;
    for (std::size_t start = 0; start + n <= ws.size() && !found; ++start) {
      bool all = true;
      for (std::size_t i = 0; i < n && all; ++i) {
        all = wordMatches(p.words[i], ws[start + i], longText && start + i == ws.size() - 1);
      }
      found = all;
    }
    if (!found) continue;
    if (p.catchAll) {
      if (!bestCatchAll) bestCatchAll = &p;
      continue;
    }
    if (!best || p.weight > best->weight || (p.weight == best->weight && p.rank < best->rank)) best = &p;
  }
  if (best) return TextDecision{best->category, best->severity, "phrase:" + best->text};
  if (bestCatchAll && catchAll) *catchAll = true;
  return std::nullopt;
}

std::optional<TextDecision> TextClassifier::classifyCode(std::string_view code) const {
  std::string c;
  for (char ch : code) {
    if (ch == ' ' || ch == '\t') continue;
    c.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  auto it = codes_.find(c);
  if (it == codes_.end()) return std::nullopt;
  return it->second;
}

}  // namespace safestream::processor
