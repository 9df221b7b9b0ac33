#include "processor/taxonomy.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "core/result.h"
#include "processor/rules_csv.h"

namespace safestream::processor {

std::string foldTypeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

Taxonomy Taxonomy::parse(std::string_view csv, const std::string& origin) {
  Taxonomy t;
  struct Pending {
    int line;
    Kind kind;
    std::string source, value, category, severity;
  };
  std::vector<Pending> pending;
  readRulesCsv(csv, origin, 5, "kind,source,value,category,severity", [&](const RulesRow& row) {
    const auto& cols = row.cols;
    auto fail = [&](const std::string& why) { failRulesRow(origin, row.line, why); };
    const std::string& kind = cols[0];
    if (kind == "category") {
      int sev = 0;
      try {
        sev = std::stoi(cols[4]);
      } catch (...) {
        fail("category " + cols[3] + " needs a severity");
      }
      if (sev < 1 || sev > 5) fail("severity of " + cols[3] + " must be 1..5");
      if (cols[3].empty()) fail("empty category name");
      t.severity_[cols[3]] = sev;
    } else if (kind == "type" || kind == "code") {
      if (cols[1].empty() || cols[2].empty()) fail("a " + kind + " rule needs a source (or *) and a value");
      pending.push_back({row.line, kind == "type" ? Kind::type : Kind::code, cols[1], cols[2], cols[3], cols[4]});
    } else {
      fail("unknown kind '" + kind + "' (category, type or code)");
    }
  });
  // Rules are resolved after every category is declared, so order in the file does not matter.
  for (const auto& p : pending) {
    auto fail = [&](const std::string& why) { failRulesRow(origin, p.line, why); };
    auto it = t.severity_.find(p.category);
    if (it == t.severity_.end()) fail("unknown category '" + p.category + "'");
    int sev = it->second;
    if (!p.severity.empty()) {
      try {
        sev = std::stoi(p.severity);
      } catch (...) {
        fail("severity '" + p.severity + "' is not a number");
      }
      if (sev < 1 || sev > 5) fail("severity must be 1..5");
    }
    const std::string value = p.kind == Kind::type ? foldTypeText(p.value) : foldTypeText(p.value);
    t.rules_[{p.kind, {p.source, value}}] = {p.category, sev};
  }
  if (!t.severity_.count("other")) throw core::ConfigError(origin + ": the taxonomy must declare the category 'other'");
  return t;
}

void Taxonomy::loadClassifier(const std::string& path, const ClassifierOptions& options) {
  classifier_ = std::make_shared<const TextClassifier>(TextClassifier::load(path, categories(), options));
}

std::set<std::string> Taxonomy::categories() const {
  std::set<std::string> out;
  for (const auto& [name, _] : severity_) out.insert(name);
  return out;
}

Taxonomy Taxonomy::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw core::ConfigError("cannot read taxonomy file " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), path);
}

std::optional<Classification> Taxonomy::find(Kind kind, const std::string& source, const std::string& value) const {
  auto it = rules_.find({kind, {source, value}});
  if (it == rules_.end()) return std::nullopt;
  std::string rule = source == "*" ? "taxonomy-" : "source-";
  rule += kind == Kind::code ? "code" : "type";
  return Classification{it->second.first, it->second.second, true, std::move(rule)};
}

Classification Taxonomy::classify(const core::Report& r) const {
  const std::string type = foldTypeText(r.rawType);
  const std::string code = r.rawCode ? foldTypeText(*r.rawCode) : std::string();
  if (!code.empty()) {
    if (auto c = find(Kind::code, r.source, code)) return *c;
  }
  if (auto c = find(Kind::type, r.source, type)) return *c;
  if (!code.empty()) {
    if (auto c = find(Kind::code, "*", code)) return *c;
  }
  if (auto c = find(Kind::type, "*", type)) return *c;
  if (r.category) {
    auto it = severity_.find(*r.category);
    if (it != severity_.end()) return Classification{it->first, it->second, true, "report-category"};
  }
  if (classifier_) {
    auto decided = [&](const TextDecision& d, const std::string& prefix) {
      auto sev = severity_.find(d.category);
      const int severity = d.severity > 0 ? d.severity : sev == severity_.end() ? 1 : sev->second;
      return Classification{d.category, severity, true, prefix + d.rule};
    };
    bool catchAll = false;
    if (auto d = classifier_->classifyText(r.rawType, &catchAll)) return decided(*d, "");
    // The type is a catch-all ("All Other Offenses") or says nothing the
    // rules know: the description may.
    if (!r.description.empty() && r.description != r.rawType) {
      if (auto d = classifier_->classifyText(r.description)) return decided(*d, "description:");
    }
    if (r.rawCode) {
      if (auto d = classifier_->classifyCode(*r.rawCode)) return decided(*d, "");
    }
    if (catchAll) return Classification{"other", severity_.at("other"), true, "catchall"};
  }
  return Classification{"other", severity_.at("other"), false, "none"};
}

}  // namespace safestream::processor
