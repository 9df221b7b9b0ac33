#pragma once
// Validation of a citizen's POST /v1/reports body and of the Open311 form
// equivalent, into a core::Report ready to publish. Pure: no I/O.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/report.h"
#include "core/result.h"

namespace safestream::api {

struct CitizenReportLimits {
  std::size_t maxDescription = 4000;   // characters (bytes of UTF-8)
  std::size_t maxAddress = 300;
  std::size_t maxContact = 200;
  std::chrono::hours maxFuture{1};     // clock skew allowed on occurred_at
  std::chrono::hours maxAge{24 * 365};  // older reports belong to the open-data import
};

// The categories a citizen may choose (the taxonomy of schemas/report.v1.json).
bool isCitizenCategory(std::string_view category);
const std::vector<std::string>& citizenCategories();

// Parses {"category","description","lat","lon","occurred_at", "address"?, "contact"?}.
// Strict: wrong types, unknown fields, out-of-range values and control
// characters are errors (code "invalid_field"/"unknown_field"/"malformed_json",
// field named). The result has id/source/sourceId set from `sourceId`
// (a fresh UUID from the caller) and reportedAt/ingestedAt = now.
core::Result<core::Report> parseCitizenReport(std::string_view json, const std::string& sourceId,
                                              core::Timestamp now, const CitizenReportLimits& limits = {});

// Open311 POST requests.json form fields (service_code, lat, long,
// description, address_string, email, first_name, last_name, phone,
// requested_datetime?) -> the same report. Unknown form fields are ignored,
// as GeoReport v2 clients send extras (api_key, device_id, media_url...).
core::Result<core::Report> parseOpen311Request(const std::map<std::string, std::string>& form,
                                               const std::string& sourceId, core::Timestamp now,
                                               const CitizenReportLimits& limits = {});

}  // namespace safestream::api
