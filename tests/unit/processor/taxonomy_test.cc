#include "processor/taxonomy.h"

#include <gtest/gtest.h>

#include "core/result.h"
#include "tests/support/stack_env.h"

namespace safestream::processor {
namespace {

const Taxonomy& shipped() {
  static const Taxonomy t = Taxonomy::load(testing::sourcePath("schemas/taxonomy.v1.csv"));
  return t;
}

core::Report report(std::string source, std::string type, std::optional<std::string> code = std::nullopt) {
  core::Report r;
  r.source = std::move(source);
  r.rawType = std::move(type);
  r.rawCode = std::move(code);
  return r;
}

TEST(Taxonomy, ChicagoPrimaryTypesMap) {
  EXPECT_EQ(shipped().classify(report("chicago", "THEFT")).category, "theft");
  EXPECT_EQ(shipped().classify(report("chicago", "BATTERY")).category, "assault");
  EXPECT_EQ(shipped().classify(report("chicago", "MOTOR VEHICLE THEFT")).category, "vehicle-theft");
  EXPECT_EQ(shipped().classify(report("chicago", "CRIMINAL DAMAGE")).category, "vandalism");
  EXPECT_EQ(shipped().classify(report("chicago", "NARCOTICS")).category, "drugs");
  EXPECT_EQ(shipped().classify(report("chicago", "DECEPTIVE PRACTICE")).category, "fraud");
  EXPECT_EQ(shipped().classify(report("chicago", "CRIM SEXUAL ASSAULT")).category, "sexual-offense");
  auto h = shipped().classify(report("chicago", "HOMICIDE"));
  EXPECT_EQ(h.category, "homicide");
  EXPECT_EQ(h.severity, 5);
  EXPECT_TRUE(h.mapped);
}

TEST(Taxonomy, ChicagoIucrCodeRefinesThePrimaryType) {
  // BATTERY with IUCR 041A (aggravated, handgun) is a shooting, not a plain assault.
  auto c = shipped().classify(report("chicago", "BATTERY", "041A"));
  EXPECT_EQ(c.category, "shooting");
  EXPECT_EQ(c.severity, 5);
  EXPECT_EQ(shipped().classify(report("chicago", "BATTERY", "0486")).category, "assault");
}

TEST(Taxonomy, SpotCrimeRapidApiAndCitizenMap) {
  EXPECT_EQ(shipped().classify(report("spotcrime", "Theft")).category, "theft");
  EXPECT_EQ(shipped().classify(report("spotcrime", "Shooting")).category, "shooting");
  EXPECT_EQ(shipped().classify(report("spotcrime", "Arrest")).category, "non-crime");  // an arrest, not an offense
  EXPECT_TRUE(shipped().classify(report("spotcrime", "Arrest")).mapped);
  EXPECT_EQ(shipped().classify(report("rapidapi", "vehicle-crime")).category, "vehicle-theft");
  EXPECT_EQ(shipped().classify(report("rapidapi", "anti-social-behaviour")).category, "disturbance");
  EXPECT_EQ(shipped().classify(report("citizen", "Shots fired")).category, "shooting");
  // A citizen may name a taxonomy category directly.
  auto r = report("citizen", "someone kicked my door in");
  r.category = "burglary";
  auto c = shipped().classify(r);
  EXPECT_EQ(c.category, "burglary");
  EXPECT_EQ(c.severity, 3);
}

TEST(Taxonomy, MatchingIgnoresCaseAndSpacing) {
  EXPECT_EQ(shipped().classify(report("chicago", "  motor   vehicle THEFT ")).category, "vehicle-theft");
  EXPECT_EQ(foldTypeText("  Motor \t Vehicle theft"), "motor vehicle theft");
}

TEST(Taxonomy, UnknownTypeBecomesOtherAndIsFlagged) {
  auto c = shipped().classify(report("chicago", "JAYWALKING ON MARS"));
  EXPECT_EQ(c.category, "other");
  EXPECT_EQ(c.severity, 1);
  EXPECT_FALSE(c.mapped);
  // An unknown category given by a citizen is not trusted either.
  auto r = report("citizen", "???");
  r.category = "not-a-category";
  EXPECT_FALSE(shipped().classify(r).mapped);
}

TEST(Taxonomy, GenericRulesApplyToUnknownSources) {
  EXPECT_EQ(shipped().classify(report("csv:austin", "Burglary")).category, "burglary");
}

TEST(Taxonomy, EverySampleTypeIsMapped) {
  for (const char* t : {"BATTERY", "THEFT", "NARCOTICS", "CRIMINAL DAMAGE", "OTHER OFFENSE", "DECEPTIVE PRACTICE",
                        "ASSAULT", "BURGLARY", "MOTOR VEHICLE THEFT", "ROBBERY", "CRIMINAL TRESPASS",
                        "OFFENSE INVOLVING CHILDREN", "WEAPONS VIOLATION", "PUBLIC PEACE VIOLATION",
                        "CRIM SEXUAL ASSAULT", "INTERFERENCE WITH PUBLIC OFFICER", "PROSTITUTION", "SEX OFFENSE",
                        "LIQUOR LAW VIOLATION", "KIDNAPPING", "ARSON", "HOMICIDE", "STALKING", "INTIMIDATION",
                        "OBSCENITY", "PUBLIC INDECENCY", "GAMBLING"}) {
    EXPECT_TRUE(shipped().classify(report("chicago", t)).mapped) << t;
  }
  for (const char* t : {"Arrest", "Arson", "Assault", "Burglary", "Other", "Robbery", "Shooting", "Theft", "Vandalism"}) {
    EXPECT_TRUE(shipped().classify(report("spotcrime", t)).mapped) << t;
  }
}

TEST(Taxonomy, BadFilesAreRejectedNamingTheLine) {
  const std::string base = "category,,,other,1\ncategory,,,theft,2\n";
  EXPECT_THROW(Taxonomy::parse(base + "type,chicago,THEFT,stealing,\n"), core::ConfigError);
  EXPECT_THROW(Taxonomy::parse(base + "type,chicago,THEFT,theft,9\n"), core::ConfigError);
  EXPECT_THROW(Taxonomy::parse("category,,,theft,2\n"), core::ConfigError);  // no "other"
  try {
    Taxonomy::parse(base + "type,chicago,THEFT\n", "t.csv");
    ADD_FAILURE() << "a short row was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv:3"), std::string::npos) << e.what();
  }
  auto t = Taxonomy::parse(base + "type,chicago,THEFT,theft,\n");
  EXPECT_EQ(t.classify(report("chicago", "theft")).category, "theft");
}

}  // namespace
}  // namespace safestream::processor
