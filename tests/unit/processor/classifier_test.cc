#include "processor/classifier.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/result.h"
#include "processor/taxonomy.h"
#include "tests/support/stack_env.h"

namespace safestream::processor {
namespace {

// The shipped taxonomy with the shipped general rules attached.
const Taxonomy& shipped() {
  static const Taxonomy t = [] {
    Taxonomy x = Taxonomy::load(testing::sourcePath("schemas/taxonomy.v1.csv"));
    x.loadClassifier(testing::sourcePath("schemas/classifier.v1.csv"));
    return x;
  }();
  return t;
}

core::Report report(std::string source, std::string type, std::string description = "",
                    std::optional<std::string> code = std::nullopt) {
  core::Report r;
  r.source = std::move(source);
  r.rawType = std::move(type);
  r.description = std::move(description);
  r.rawCode = std::move(code);
  return r;
}

Classification ofText(const std::string& type, const std::string& description = "",
                      std::optional<std::string> code = std::nullopt) {
  return shipped().classify(report("csv:unseen", type, description, std::move(code)));
}

struct Case {
  const char* text;
  const char* category;
  const char* rule;  // expected classified_by
};

// Each row exercises one rule or one step of the reading: a wrong weight,
// stem, alias, abbreviation or tie-break makes exactly that row fail.
TEST(Classifier, TextsOfEveryShapeReachTheirRule) {
  const Case cases[] = {
      // amounts and codes in upper case; the longest phrase wins
      {"THEFT FROM MOTOR VEHICLE - GRAND ($950.01 AND OVER)", "theft", "phrase:from motor vehicle"},
      {"BURGLARY FROM VEHICLE", "theft", "phrase:from vehicle"},
      {"VEHICLE - STOLEN", "vehicle-theft", "phrase:vehicle stolen"},
      {"VEHICLE - ATTEMPT STOLEN", "vehicle-theft", "phrase:vehicle stolen"},  // "attempt" ignored
      {"BIKE - STOLEN", "theft", "phrase:stolen"},
      {"THEFT OF IDENTITY", "fraud", "phrase:theft identity"},
      {"GRAND LARCENY OF MOTOR VEHICLE", "vehicle-theft", "phrase:larceny motor vehicle"},
      {"UNAUTHORIZED USE OF A VEHICLE", "vehicle-theft", "phrase:unauthorized use vehicle"},
      // title case, plural stems
      {"Thefts", "theft", "phrase:theft"},
      {"Burglaries", "burglary", "phrase:burglary"},
      {"Other Assaults", "assault", "phrase:other assault"},
      {"Receiving Stolen Property", "theft", "phrase:stolen property"},
      {"Narcotic / Drug Law Violations", "drugs", "phrase:drug*"},
      {"Forgery and Counterfeiting", "fraud", "phrase:forgery"},
      {"Larceny Theft", "theft", "phrase:theft"},
      {"Malicious Mischief", "vandalism", "phrase:mischief"},
      {"Drug Offense", "drugs", "phrase:drug*"},
      {"Weapons Offense", "weapons", "phrase:weapon*"},
      {"Sex Offense", "sexual-offense", "phrase:sex offense"},
      {"DRIVING UNDER THE INFLUENCE", "disturbance", "phrase:driving under influence"},
      // slugs
      {"theft-items-from-vehicle", "theft", "phrase:from vehicle"},
      {"criminal-damage-arson", "vandalism", "phrase:criminal damage"},
      {"violence-and-sexual-offences", "sexual-offense", "phrase:sexual"},
      // ties go to the graver category (UCR hierarchy)
      {"Robbery Firearm", "robbery", "phrase:robbery"},
      {"ASSAULT WITH DEADLY WEAPON, AGGRAVATED ASSAULT", "assault", "phrase:aggravated assault"},
      {"CRIMINAL THREATS - NO WEAPON DISPLAYED", "assault", "phrase:threat*"},
      {"THEFT-GRAND ($950.01 & OVER)EXCPT,GUNS,FOWL,LIVESTK,PROD", "theft", "phrase:theft"},
      {"DISCHARGE FIREARMS/SHOTS FIRED", "shooting", "phrase:shot fired"},
      // prefixes and weights
      {"EMBEZZLEMENT, GRAND THEFT ($950.01 & OVER)", "fraud", "phrase:embezzl*"},
      {"SHOPLIFTING - PETTY THEFT ($950 & UNDER)", "theft", "phrase:petty theft"},
      {"KIDNAPPING & RELATED OFFENSES", "assault", "phrase:kidnap*"},
      // abbreviations, doubled letters and texts cut short by the portal
      {"OFF. AGNST PUB ORD SENSBLTY &", "disturbance", "phrase:against public order"},
      {"HARRASSMENT 2", "assault", "phrase:harassment"},
      {"CRIM SEXUAL ASSAULT", "sexual-offense", "phrase:sexual assault"},
      {"CRIMINAL MISCHIEF & RELATED OF", "vandalism", "phrase:mischief"},
      {"OFFENSES AGAINST PUBLIC ADMINI", "disturbance", "phrase:against public admin*"},
      {"OTHER OFFENSES RELATED TO THEF", "theft", "phrase:theft"},
      {"MURDER & NON-NEGL. MANSLAUGHTER", "homicide", "phrase:non negligent manslaughter"},
      {"AGG ASSAULT", "assault", "phrase:aggravated assault"},
      // a word the rules use is itself, not an abbreviation ("non" of "noncriminal")
      {"Burglary Non-Residential", "burglary", "phrase:burglary"},
      {"THEFT-GRAND ($950.01 & OVER)EXCPT,GUNS,FOWL,LIVESTK,PROD", "theft", "phrase:theft"},
      // not crimes
      {"LOST PROPERTY", "non-crime", "phrase:lost property"},
      {"Missing Person", "non-crime", "phrase:missing person"},
      {"WARRANT ARREST - NARCOTICS", "non-crime", "phrase:warrant"},
      {"TRAFFIC COLLISION - INJURY", "non-crime", "phrase:traffic collision"},
      {"Courtesy Report", "non-crime", "phrase:courtesy report"},
      {"CASE CLOSURE", "non-crime", "phrase:case closure"},
      {"NON-CRIMINAL", "non-crime", "phrase:non criminal"},
      {"RECOVERED STOLEN VEHICLE", "non-crime", "phrase:recovered stolen"},
      {"Arrest", "non-crime", "phrase:arrest"},
      {"RESISTING ARREST", "disturbance", "phrase:resisting arrest"},
      {"VEHICLE AND TRAFFIC LAWS", "disturbance", "phrase:traffic"},
  };
  for (const auto& c : cases) {
    const Classification got = ofText(c.text);
    EXPECT_EQ(got.category, c.category) << c.text << " (rule " << got.rule << ")";
    EXPECT_EQ(got.rule, c.rule) << c.text;
    EXPECT_TRUE(got.mapped) << c.text;
  }
}

TEST(Classifier, SeverityComesFromTheRuleElseTheCategory) {
  EXPECT_EQ(ofText("AGGRAVATED ASSAULT").severity, 4);
  EXPECT_EQ(ofText("SIMPLE ASSAULT").severity, 2);
  EXPECT_EQ(ofText("ASSAULT").severity, 3);  // assault's default
  EXPECT_EQ(ofText("KIDNAPPING").severity, 5);
  EXPECT_EQ(ofText("LOST PROPERTY").severity, 1);
}

TEST(Classifier, CatchAllTypesReadTheDescription) {
  auto c = ofText("MISCELLANEOUS PENAL LAW", "CRIMINAL MISCHIEF,UNCLASSIFIED 4");
  EXPECT_EQ(c.category, "vandalism");
  EXPECT_EQ(c.rule, "description:phrase:mischief");
  // A catch-all with nothing more to say stays "other", recognised as such.
  auto bare = ofText("All Other Offenses");
  EXPECT_EQ(bare.category, "other");
  EXPECT_EQ(bare.rule, "catchall");
  EXPECT_TRUE(bare.mapped);
  // A type the rules do not know also tries the description.
  EXPECT_EQ(ofText("ZZ-17", "BURGLARY OF A RESIDENCE").category, "burglary");
}

TEST(Classifier, NibrsCodesDecideWhenTheTextSaysNothing) {
  auto c = ofText("ZZ-17", "", "23F");
  EXPECT_EQ(c.category, "theft");
  EXPECT_EQ(c.rule, "nibrs-code:23F");
  EXPECT_EQ(ofText("ZZ-17", "", "13a").category, "assault");
  EXPECT_EQ(ofText("ZZ-17", "", "13a").severity, 4);
  // The text wins over the code; an unknown code decides nothing.
  EXPECT_EQ(ofText("ROBBERY", "", "23F").category, "robbery");
  auto none = ofText("ZZ-17", "", "624");
  EXPECT_EQ(none.category, "other");
  EXPECT_FALSE(none.mapped);
  EXPECT_EQ(none.rule, "none");
}

TEST(Classifier, PerSourceRulesStillWin) {
  // Chicago's own rule: GAMBLING is "other" there, "disturbance" elsewhere.
  EXPECT_EQ(shipped().classify(report("chicago", "GAMBLING")).category, "other");
  EXPECT_EQ(shipped().classify(report("chicago", "GAMBLING")).rule, "source-type");
  EXPECT_EQ(ofText("GAMBLING").category, "disturbance");
  // IUCR 041A: a shooting by Chicago's code rule, whatever the text says.
  EXPECT_EQ(shipped().classify(report("chicago", "BATTERY", "", "041A")).category, "shooting");
  EXPECT_EQ(shipped().classify(report("chicago", "NON-CRIMINAL")).category, "non-crime");
  // A citizen's own category comes before the general rules.
  auto citizen = report("citizen", "bike gone", "");
  citizen.category = "theft";
  EXPECT_EQ(shipped().classify(citizen).rule, "report-category");
}

TEST(Classifier, TextsNoRuleKnowsAreOtherAndUnmapped) {
  for (const char* text : {"SPACE PIRACY", "", "12345", "ZZ"}) {
    auto c = ofText(text);
    EXPECT_EQ(c.category, "other") << text;
    EXPECT_FALSE(c.mapped) << text;
  }
}

// Every phrase of the shipped file, read as a text, is decided by a rule of
// its own category: a rule shadowed by another category's (a weight or a
// stem gone wrong) fails here by name.
TEST(Classifier, EveryShippedPhraseDecidesItsOwnText) {
  std::ifstream in(testing::sourcePath("schemas/classifier.v1.csv"));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.rfind("phrase,", 0) != 0) continue;
    std::stringstream ss(line);
    std::string kind, value, category;
    std::getline(ss, kind, ',');
    std::getline(ss, value, ',');
    std::getline(ss, category, ',');
    std::string text = value;
    for (auto& ch : text) {
      if (ch == '*') ch = ' ';
    }
    if (value.find('*') != std::string::npos) {
      // a prefix rule: its stem plus a common ending
      text = value.substr(0, value.find('*')) + "ing" + value.substr(value.find('*') + 1);
    }
    auto c = ofText(text);
    EXPECT_EQ(c.category, category) << "phrase '" << value << "' is decided by " << c.rule;
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

TEST(Classifier, WordsAreStemmedAndAbbreviationsExpanded) {
  const auto& rules = TextClassifier::parse(
      "kind,value,category,severity,weight,origin\n"
      "alias,veh,vehicle,,,general\n"
      "ignore,of,,,,general\n"
      "phrase,theft,theft,,,general\n",
      {"theft", "other"});
  EXPECT_EQ(rules.words("THEFTS OF VEH. $950.01"), (std::vector<std::string>{"theft", "vehicle"}));
  EXPECT_EQ(stemWord("burglaries"), "burglary");
  EXPECT_EQ(stemWord("offenses"), "offense");
  EXPECT_EQ(stemWord("glass"), "glass");
  EXPECT_EQ(stemWord("bus"), "bus");
}

TEST(Classifier, OriginsCanBeLeftOutForOutOfSampleScoring) {
  const std::string csv =
      "kind,value,category,severity,weight,origin\n"
      "phrase,bunco,fraud,,,los-angeles\n"
      "phrase,swindle,fraud,,,general|los-angeles\n"
      "phrase,theft,theft,,,general\n";
  auto all = TextClassifier::parse(csv, {"fraud", "theft", "other"});
  auto unseen = TextClassifier::parse(csv, {"fraud", "theft", "other"}, "t", {{"los-angeles"}});
  EXPECT_EQ(all.classifyText("BUNCO")->category, "fraud");
  EXPECT_FALSE(unseen.classifyText("BUNCO").has_value()) << "written from Los Angeles only";
  EXPECT_TRUE(unseen.classifyText("SWINDLE").has_value()) << "also general";
  EXPECT_EQ(unseen.size(), 2u);
}

TEST(Classifier, BadRuleFilesAreErrorsNamingTheLine) {
  auto fails = [](const std::string& body, const std::string& needle) {
    try {
      TextClassifier::parse("kind,value,category,severity,weight,origin\n" + body, {"theft", "other"}, "rules.csv");
      ADD_FAILURE() << "accepted: " << body;
    } catch (const core::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  fails("phrase,theft,theft\n", "rules.csv:2: expected 6 columns");
  fails("phrase,theft,robbery,,,general\n", "unknown category 'robbery'");
  fails("phrase,theft,theft,9,,general\n", "severity must be 1..5");
  fails("phrase,theft,theft,x,,general\n", "not a number");
  fails("phrase,theft,theft,,,\n", "needs an origin");
  fails("phrase,th*eft,theft,,,general\n", "'*' may only end a word");
  fails("phrase,$$,theft,,,general\n", "at least one word");
  fails("alias,two words,x,,,general\n", "an alias maps one word");
  fails("regex,.*,theft,,,general\n", "unknown kind 'regex'");
  fails("nibrs-code,23F,robbery,,,general\n", "unknown category");
  EXPECT_THROW(TextClassifier::load("/nonexistent/rules.csv", {"other"}), core::ConfigError);
}

}  // namespace
}  // namespace safestream::processor
