// The JSON Schema in schemas/ and the C++ codec must agree: every required
// field in the schema is required by the decoder, and every property the
// encoder writes is declared in the schema.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/report_codec.h"
#include "tests/support/stack_env.h"

namespace safestream::core {
namespace {

nlohmann::json loadSchema() {
  std::ifstream in(testing::sourcePath("schemas/report.v1.json"));
  return nlohmann::json::parse(in);
}

const char* kFull = R"({"id":"6f1c2a8e-5b7d-5c1e-9a3f-0d2b4c6e8f10","source":"citizen","source_id":"a",
 "raw_type":"assault","raw_code":"x","category":"assault","description":"d","occurred_at":"2014-03-14T23:52:00Z",
 "time_zone":"UTC","reported_at":"2014-03-14T23:52:00Z","ingested_at":"2014-03-14T23:52:00Z","lat":1,"lon":2,
 "address":"a","url":"u","arrest":true,"contact":"c","raw":{},"city":"chicago","district":"d",
 "enrichment":{"category":"assault","severity":3,"cell_l10":"1","cell_l13":"1","cell_l16":"1",
 "neighbourhood":"n","city":"chicago","classified_by":"source-type","local_hour":1,"local_weekday":1,"duplicate_of":"6f1c2a8e-5b7d-5c1e-9a3f-0d2b4c6e8f10",
 "processed_at":"2014-03-14T23:52:00Z"}})";

TEST(SchemaContract, DecoderRequiresWhatTheSchemaRequires) {
  auto schema = loadSchema();
  auto full = nlohmann::json::parse(kFull);
  ASSERT_TRUE(decodeReport(full.dump()).ok());
  for (const auto& field : schema["required"]) {
    auto j = full;
    j.erase(field.get<std::string>());
    auto r = decodeReport(j.dump());
    ASSERT_FALSE(r.ok()) << "decoder accepted a report without " << field;
    EXPECT_EQ(r.error().field, field.get<std::string>());
  }
}

TEST(SchemaContract, EncoderWritesOnlyDeclaredProperties) {
  auto schema = loadSchema();
  auto decoded = decodeReport(kFull);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  auto out = nlohmann::json::parse(encodeReport(*decoded));
  for (const auto& [key, value] : out.items()) {
    EXPECT_TRUE(schema["properties"].contains(key)) << key << " is not in report.v1.json";
  }
  for (const auto& [key, value] : out["enrichment"].items()) {
    EXPECT_TRUE(schema["properties"]["enrichment"]["properties"].contains(key)) << "enrichment." << key;
  }
  // And everything declared round-trips (nothing in the schema is ignored).
  for (const auto& [key, value] : schema["properties"].items()) {
    EXPECT_TRUE(out.contains(key)) << key << " is declared but the codec drops it";
  }
}

}  // namespace
}  // namespace safestream::core
