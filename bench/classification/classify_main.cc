// safestream-classify: reads one city's export the way the importer does
// (its committed column mapping, or the SpotCrime parser), classifies every
// record with the processor's taxonomy and general rules, and prints one
// JSON line per record: {"type","code","description","category","rule",
// "mapped","type_catchall"}. bench/classification/report.py turns those into the report.
//
//   safestream-classify --file data/la_crimes_sample.csv --mapping ingest/config/los_angeles_mapping.json
//       [--spotcrime-zone America/Chicago]   (the file is a SpotCrime JSON body)
//       [--taxonomy schemas/taxonomy.v1.csv] [--classifier schemas/classifier.v1.csv]
//       [--exclude-origin los-angeles ...]   (leave out the rules only that city prompted)
//       [--general-only]                     (no per-source rules: the source is renamed)
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/result.h"
#include "ingest/column_mapping.h"
#include "ingest/csv_reader.h"
#include "ingest/source_parsers.h"
#include "processor/taxonomy.h"

int main(int argc, char** argv) {
  using namespace safestream;
  std::string file, mapping, spotcrimeZone, taxonomyPath = std::string(SAFESTREAM_SOURCE_DIR) + "/schemas/taxonomy.v1.csv",
                                            classifierPath = std::string(SAFESTREAM_SOURCE_DIR) + "/schemas/classifier.v1.csv";
  std::vector<std::string> exclude;
  bool generalOnly = false;
  CLI::App app{"Classify every record of a city export (classification report driver)", "safestream-classify"};
  app.add_option("--file", file, "CSV export, or SpotCrime JSON with --spotcrime-zone")->required();
  app.add_option("--mapping", mapping, "Column mapping (ingest/config/*.json)");
  app.add_option("--spotcrime-zone", spotcrimeZone, "The file is a SpotCrime body; its times are in this zone");
  app.add_option("--taxonomy", taxonomyPath, "Taxonomy CSV");
  app.add_option("--classifier", classifierPath, "General rules CSV");
  app.add_option("--exclude-origin", exclude, "Leave out the rules whose every origin is one of these");
  app.add_flag("--general-only", generalOnly, "Ignore per-source rules (score the general rules alone)");
  CLI11_PARSE(app, argc, argv);
  try {
    processor::Taxonomy taxonomy = processor::Taxonomy::load(taxonomyPath);
    processor::ClassifierOptions options;
    options.excludeOrigins.insert(exclude.begin(), exclude.end());
    taxonomy.loadClassifier(classifierPath, options);
    // The same rules on their own, to say whether a type is a catch-all.
    const auto rules = processor::TextClassifier::load(classifierPath, taxonomy.categories(), options);

    std::vector<core::Report> reports;
    std::size_t rejected = 0;
    if (!spotcrimeZone.empty()) {
      std::ifstream in(file, std::ios::binary);
      std::stringstream body;
      body << in.rdbuf();
      auto batch = ingest::parseSpotCrime(body.str(), spotcrimeZone);
      if (!batch) throw core::ConfigError(batch.error().message);
      reports = std::move(batch->reports);
      rejected = batch->rejections.size();
    } else {
      if (mapping.empty()) throw core::ConfigError("--mapping is required for a CSV file");
      const ingest::ColumnMapping m = ingest::loadColumnMapping(mapping);
      std::ifstream in(file, std::ios::binary);
      if (!in) throw core::ConfigError("cannot read " + file);
      ingest::CsvReader reader(in);
      std::vector<std::string> header, fields;
      if (!reader.next(header)) throw core::ConfigError(file + ": no header");
      std::unordered_map<std::string, std::size_t> column;
      for (std::size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
      while (reader.next(fields)) {
        if (fields.size() != header.size()) {
          ++rejected;
          continue;
        }
        auto r = ingest::mapRecord(m, [&](const std::string& name) -> std::optional<std::string_view> {
          auto it = column.find(name);
          if (it == column.end()) return std::nullopt;
          return std::string_view(fields[it->second]);
        });
        if (r) reports.push_back(std::move(*r));
        else ++rejected;
      }
    }
    for (auto& r : reports) {
      if (generalOnly) r.source = "csv:unseen";
      const auto c = taxonomy.classify(r);
      bool catchAll = false;
      rules.classifyText(r.rawType, &catchAll);
      nlohmann::json line{{"type", r.rawType},      {"code", r.rawCode.value_or("")},
                          {"description", r.description}, {"category", c.category},
                          {"severity", c.severity}, {"rule", c.rule},
                          {"mapped", c.mapped},     {"type_catchall", catchAll}};
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
    std::cerr << "{\"records\":" << reports.size() << ",\"rejected\":" << rejected << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "safestream-classify: " << e.what() << '\n';
    return 1;
  }
}
