// Writes N synthetic reports as PostgreSQL COPY text (tab-separated) for
// bench/api/run.sh, shaped like the Chicago sample (data/): its places
// (jittered up to ~150 m), its mix of primary types mapped through the
// taxonomy, its hours of the day, spread over the last `days` days. Rows get
// what the processor would store: S2 cells at levels 10/13/16, local hour
// and weekday in America/Chicago, the community area's name, city chicago,
// source "bench". Not the pipeline: a million rows in seconds.
//
// Usage: safestream-bench-gen-reports ROWS [DAYS (730)] [SEED (1)] > rows.tsv
// Columns (in this order): id, source, source_id, raw_type, category,
// severity, description, occurred_at, reported_at, processed_at, time_zone,
// lat, lon, address, cell_l10, cell_l13, cell_l16, neighbourhood,
// local_hour, local_weekday, city
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/report_id.h"
#include "core/time.h"

namespace {

using namespace safestream;

struct Sample {
  double lat, lon;
  std::string rawType;
  int localHour;
  std::string neighbourhood;
  std::string block;
};

// Minimal CSV (quoted fields with commas, no embedded newlines: the sample's shape).
std::vector<std::string> csvFields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::cerr << "usage: safestream-bench-gen-reports ROWS [DAYS] [SEED] > rows.tsv\n";
    return argc < 2 ? 2 : 0;
  }
  const long rows = std::stol(argv[1]);
  const int days = argc > 2 ? std::stoi(argv[2]) : 730;
  const unsigned seed = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3])) : 1;
  const std::string root = SAFESTREAM_SOURCE_DIR;
  const std::string zone = "America/Chicago";

  std::map<std::string, std::pair<std::string, int>> taxonomy;  // primary type -> (category, severity)
  {
    std::istringstream in(slurp(root + "/schemas/taxonomy.v1.csv"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto f = csvFields(line);
      if (f.size() >= 4 && f[0] == "type" && f[1] == "chicago") {
        taxonomy[f[2]] = {f[3], f.size() > 4 && !f[4].empty() ? std::stoi(f[4]) : 3};
      }
    }
  }
  std::map<int, std::string> areas;
  const auto boundaries = nlohmann::json::parse(slurp(root + "/data/chicago_community_areas.geojson"));
  for (const auto& feature : boundaries["features"]) {
    areas[feature["properties"]["area_numbe"].get<int>()] = feature["properties"]["community"].get<std::string>();
  }
  std::vector<Sample> samples;
  {
    std::istringstream in(slurp(root + "/data/chicago_crimes_2014_sample.csv"));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      auto f = csvFields(line);
      if (f.size() < 21 || f[19].empty() || f[20].empty()) continue;
      auto t = core::parseLocalTime(f[2], "%m/%d/%Y %I:%M:%S %p", zone);
      if (!t) continue;
      auto parts = core::localParts(*t, zone);
      int area = f[13].empty() ? 0 : std::stoi(f[13]);
      samples.push_back({std::stod(f[19]), std::stod(f[20]), f[5], parts ? parts->hour : 12,
                         areas.count(area) ? areas[area] : "", f[3]});
    }
  }
  if (samples.empty()) throw std::runtime_error("no usable sample rows");

  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, samples.size() - 1);
  std::uniform_real_distribution<double> jitter(-0.0013, 0.0013);  // ~150 m
  std::uniform_int_distribution<long long> dayOf(0, days - 1), minute(0, 59), second(0, 59);
  const auto now = core::nowUtc();
  const auto start = std::chrono::floor<std::chrono::days>(now) - std::chrono::days(days);
  std::string out;
  out.reserve(1 << 20);
  char buf[64];
  for (long i = 0; i < rows; ++i) {
    const Sample& s = samples[pick(rng)];
    const double lat = s.lat + jitter(rng), lon = s.lon + jitter(rng);
    // The sample's local hour on a random day (UTC day + the zone's offset,
    // close enough for the shape of the hour chart).
    auto occurred = core::Timestamp(std::chrono::time_point_cast<std::chrono::milliseconds>(
        start + std::chrono::days(dayOf(rng)) + std::chrono::hours((s.localHour + 6) % 24) +
        std::chrono::minutes(minute(rng)) + std::chrono::seconds(second(rng))));
    if (occurred > now) occurred -= std::chrono::days(1);
    auto local = core::localParts(occurred, zone);
    const auto tax = taxonomy.count(s.rawType) ? taxonomy[s.rawType] : std::pair<std::string, int>{"other", 1};
    const std::string sourceId = "bench-" + std::to_string(seed) + "-" + std::to_string(i);
    const S2CellId leaf(S2LatLng::FromDegrees(lat, lon).Normalized());
    const std::string ts = core::formatTimestamp(occurred);
    out += core::reportIdFor("bench", sourceId).value;
    out += "\tbench\t" + sourceId + "\t" + s.rawType + "\t" + tax.first + "\t" + std::to_string(tax.second) + "\t" +
           s.rawType + " (synthetic)\t" + ts + "\t" + ts + "\t" + ts + "\t" + zone + "\t";
    std::snprintf(buf, sizeof buf, "%.7f\t%.7f\t", lat, lon);
    out += buf;
    out += s.block + "\t";
    for (int level : {10, 13, 16}) out += std::to_string(static_cast<long long>(leaf.parent(level).id())) + "\t";
    out += (s.neighbourhood.empty() ? std::string("\\N") : s.neighbourhood) + "\t";
    out += local ? std::to_string(local->hour) + "\t" + std::to_string(local->weekday) : std::string("\\N\t\\N");
    out += "\tchicago\n";
    if (out.size() > (1 << 20) - 1024) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
