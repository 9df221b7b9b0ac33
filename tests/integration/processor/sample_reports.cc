#include "tests/integration/processor/sample_reports.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/report_id.h"
#include "core/time.h"
#include "tests/support/stack_env.h"

namespace safestream::testing {
namespace {

std::vector<std::string> parseCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// "03/14/2014 11:52:00 PM" or "10/19/15 09:07 PM" -> "2014-03-14T23:52:00" (local, no offset).
std::string localIso(const std::string& text) {
  int mo = 0, d = 0, y = 0, h = 0, mi = 0, s = 0;
  char ampm[3] = {};
  if (std::sscanf(text.c_str(), "%d/%d/%d %d:%d:%d %2s", &mo, &d, &y, &h, &mi, &s, ampm) != 7) {
    s = 0;
    if (std::sscanf(text.c_str(), "%d/%d/%d %d:%d %2s", &mo, &d, &y, &h, &mi, ampm) != 6) return "";
  }
  if (y < 100) y += 2000;
  if (std::string(ampm) == "PM" && h != 12) h += 12;
  if (std::string(ampm) == "AM" && h == 12) h = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, s);
  return buf;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<SampleMessage> chicagoSample(const std::string& tag) {
  std::istringstream in(readFile(sourcePath("data/chicago_crimes_2014_sample.csv")));
  std::string line;
  std::getline(in, line);  // header
  std::vector<SampleMessage> out;
  const std::string now = core::formatTimestamp(core::nowUtc());
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto c = parseCsvLine(line);
    if (c.size() < 22) continue;
    SampleMessage m;
    m.sourceId = tag + c[0];
    m.id = core::reportIdFor("chicago", m.sourceId).value;
    nlohmann::json j{{"id", m.id},           {"source", "chicago"},      {"source_id", m.sourceId},
                     {"raw_type", c[5]},     {"raw_code", c[4]},         {"description", c[6]},
                     {"occurred_at", localIso(c[2])}, {"time_zone", "America/Chicago"},
                     {"reported_at", localIso(c[18])}, {"ingested_at", now}, {"address", c[3]},
                     {"arrest", c[8] == "true"}};
    if (!c[19].empty() && !c[20].empty()) {
      j["lat"] = std::stod(c[19]);
      j["lon"] = std::stod(c[20]);
      m.geocoded = true;
    }
    m.json = j.dump();
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<SampleMessage> spotcrimeSample(const std::string& tag) {
  auto doc = nlohmann::json::parse(readFile(sourcePath("data/spotcrime_austin_2015_sample.json")));
  std::vector<SampleMessage> out;
  const std::string now = core::formatTimestamp(core::nowUtc());
  for (const auto& c : doc["crimes"]) {
    SampleMessage m;
    m.sourceId = tag + std::to_string(c["cdid"].get<long long>());
    m.id = core::reportIdFor("spotcrime", m.sourceId).value;
    nlohmann::json j{{"id", m.id},
                     {"source", "spotcrime"},
                     {"source_id", m.sourceId},
                     {"raw_type", c["type"]},
                     {"occurred_at", localIso(c["date"].get<std::string>())},
                     {"time_zone", "America/Chicago"},
                     {"ingested_at", now},
                     {"address", c["address"]},
                     {"url", c["link"]},
                     {"lat", c["lat"]},
                     {"lon", c["lon"]}};
    m.geocoded = true;
    m.json = j.dump();
    out.push_back(std::move(m));
  }
  return out;
}

void produceAll(const std::string& bootstrap, const std::vector<SampleMessage>& messages, const std::string& topic) {
  core::KafkaProducer producer({bootstrap, {}}, {});
  std::vector<core::OutMessage> batch;
  for (const auto& m : messages) batch.push_back({topic, m.id, m.json, {}});
  auto results = producer.sendAndWait(batch, std::chrono::seconds(60));
  for (const auto& r : results) ASSERT_TRUE(r.ok) << r.error;
}

}  // namespace safestream::testing
