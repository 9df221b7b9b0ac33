#pragma once
// What a source adapter hands to the publisher: reports ready to encode, and
// the records it refused with a stable reason code. No vendor headers here.
#include <cstdint>
#include <string>
#include <vector>

#include "core/report.h"

namespace safestream::ingest {

// A record the adapter could not turn into a valid report. `reason` is a
// stable metric label ("missing_id", "bad_time", "bad_coordinates",
// "missing_type", "invalid_report", "not_an_object"); `message` names the
// record and what is wrong, for the log.
struct Rejection {
  Rejection() = default;
  Rejection(std::string r, std::string m, std::string id = {}, std::string key = {})
      : reason(std::move(r)), message(std::move(m)), sourceId(std::move(id)), dedupeKey(std::move(key)) {}
  std::string reason;
  std::string message;
  std::string sourceId;  // empty when the record had none
  // What identifies the bad record across polls when it has no id (a hash of
  // its content), so it is reported once; empty: use sourceId.
  std::string dedupeKey;
};

struct ParsedBatch {
  std::vector<core::Report> reports;
  std::vector<Rejection> rejections;
};

}  // namespace safestream::ingest
