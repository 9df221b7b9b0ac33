// A column mapping file (ingest/column_mapping: JSON naming the fields, time
// format and zone of a city's export) and a record mapped with it: the
// input is "<mapping JSON>\n---\n<record as a JSON object of strings>".
#include "bench/fuzz/fuzz_support.h"
#include "core/report_codec.h"
#include "core/result.h"
#include "ingest/column_mapping.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [mappingText, recordText] = fuzz::split(fuzz::text(data, size), "\n---\n");
  ingest::ColumnMapping mapping;
  try {
    mapping = ingest::parseColumnMapping(mappingText, "fuzz-mapping.json");
    fuzz::requireNoNul(mappingText, "a mapping file with a NUL byte was accepted");
  } catch (const core::ConfigError&) {
    return 0;  // documented: a bad mapping file is a configuration error
  }
  const auto record = nlohmann::json::parse(recordText, nullptr, false);
  if (!record.is_object()) return 0;
  auto get = [&](const std::string& name) -> std::optional<std::string_view> {
    auto it = record.find(name);
    if (it == record.end() || !it->is_string()) return std::nullopt;
    return std::string_view(it->get_ref<const std::string&>());
  };
  auto report = ingest::mapRecord(mapping, get);
  if (report) fuzz::requireJson(core::encodeReport(*report), "a mapped record encoded to invalid JSON");
  return 0;
}
