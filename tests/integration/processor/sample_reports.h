#pragma once
// Turns the repository's real samples into report.v1 messages for reports.raw
// the way ingest publishes them (local times plus time_zone). `tag` is
// prefixed to every source_id so a test's reports are its own on a shared
// topic and database.
#include <string>
#include <vector>

#include "core/kafka.h"

namespace safestream::testing {

struct SampleMessage {
  std::string id;        // report id
  std::string sourceId;  // tagged
  std::string json;      // report.v1
  bool geocoded = false;
};

std::vector<SampleMessage> chicagoSample(const std::string& tag);
std::vector<SampleMessage> spotcrimeSample(const std::string& tag);

// Produces them to reports.raw keyed by id; fails the test on any error.
void produceAll(const std::string& bootstrap, const std::vector<SampleMessage>& messages,
                const std::string& topic = "reports.raw");

}  // namespace safestream::testing
