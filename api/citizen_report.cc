#include "api/citizen_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "core/report_id.h"
#include "core/json_depth.h"
#include "core/subscription.h"

namespace safestream::api {

using core::makeError;

// The processor's taxonomy, shared with subscriptions, so a citizen's
// category matches subscription filters without a mapping step.
const std::vector<std::string>& citizenCategories() {
  static const std::vector<std::string> kCategories = [] {
    std::vector<std::string> out;
    for (auto c : core::alertCategories()) out.emplace_back(c);
    return out;
  }();
  return kCategories;
}

bool isCitizenCategory(std::string_view category) {
  const auto& c = citizenCategories();
  return std::find(c.begin(), c.end(), category) != c.end();
}

namespace {

// Rejects control characters (other than newline/tab in descriptions) and
// invalid UTF-8 is left to nlohmann, which refuses it while parsing.
bool hasControlChars(std::string_view s, bool allowNewlines) {
  for (unsigned char c : s) {
    if (c == 0x7f) return true;
    if (c < 0x20 && !(allowNewlines && (c == '\n' || c == '\t' || c == '\r'))) return true;
  }
  return false;
}

core::Status checkText(const std::string& value, std::string_view field, std::size_t max, bool required,
                       bool allowNewlines) {
  if (required && value.find_first_not_of(" \t\r\n") == std::string::npos) {
    return makeError("invalid_field", std::string(field) + " must not be empty", std::string(field));
  }
  if (value.size() > max) {
    return makeError("invalid_field", std::string(field) + " is longer than " + std::to_string(max) + " bytes",
                     std::string(field));
  }
  if (hasControlChars(value, allowNewlines)) {
    return makeError("invalid_field", std::string(field) + " contains control characters", std::string(field));
  }
  return core::okStatus();
}

core::Status checkCoordinates(double lat, double lon) {
  if (!std::isfinite(lat) || lat < -90 || lat > 90) {
    return makeError("invalid_field", "lat must be a number from -90 to 90", "lat");
  }
  if (!std::isfinite(lon) || lon < -180 || lon > 180) {
    return makeError("invalid_field", "lon must be a number from -180 to 180", "lon");
  }
  if (lat == 0 && lon == 0) return makeError("invalid_field", "lat/lon 0,0 is not a place", "lat");
  return core::okStatus();
}

core::Result<core::Timestamp> checkOccurredAt(const std::string& text, std::string_view field, core::Timestamp now,
                                              const CitizenReportLimits& limits) {
  auto t = core::parseTimestamp(text);
  if (!t) {
    return makeError("invalid_field", std::string(field) + " must be an RFC 3339 time with an offset, e.g. 2026-11-22T10:00:00Z",
                     std::string(field));
  }
  if (*t > now + limits.maxFuture) return makeError("invalid_field", std::string(field) + " is in the future", std::string(field));
  if (*t < now - limits.maxAge) return makeError("invalid_field", std::string(field) + " is more than a year ago", std::string(field));
  return *t;
}

core::Report baseReport(const std::string& sourceId, core::Timestamp now) {
  core::Report r;
  r.source = "citizen";
  r.sourceId = sourceId;
  r.id = core::reportIdFor("citizen", sourceId);
  r.reportedAt = now;
  r.ingestedAt = now;
  return r;
}

}  // namespace

core::Result<core::Report> parseCitizenReport(std::string_view json, const std::string& sourceId, core::Timestamp now,
                                              const CitizenReportLimits& limits) {
  nlohmann::json doc;
  // nlohmann's lexer ends the input at a NUL byte, so "{...}\0garbage"
  // would parse; a raw NUL is never valid JSON text.
  if (json.find('\0') != std::string_view::npos) return makeError("malformed_json", "body contains a NUL byte");
  if (core::jsonTooDeep(json)) {
    return makeError("malformed_json", "body is nested deeper than " + std::to_string(core::kMaxJsonDepth) + " levels");
  }
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    return makeError("malformed_json", std::string("body is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return makeError("malformed_json", "body must be a JSON object");

  static const std::vector<std::string> kKnown = {"category", "description", "lat", "lon", "occurred_at",
                                                  "address", "contact"};
  for (const auto& [key, _] : doc.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      return makeError("unknown_field", "unknown field '" + key.substr(0, 64) + "'", key.substr(0, 64));
    }
  }
  auto requireString = [&](const char* key) -> core::Result<std::string> {
    if (!doc.contains(key)) return makeError("invalid_field", std::string(key) + " is required", key);
    if (!doc[key].is_string()) return makeError("invalid_field", std::string(key) + " must be a string", key);
    return doc[key].get<std::string>();
  };
  auto optionalString = [&](const char* key) -> core::Result<std::optional<std::string>> {
    if (!doc.contains(key) || doc[key].is_null()) return std::optional<std::string>();
    if (!doc[key].is_string()) return makeError("invalid_field", std::string(key) + " must be a string", key);
    return std::optional<std::string>(doc[key].get<std::string>());
  };
  auto requireNumber = [&](const char* key) -> core::Result<double> {
    if (!doc.contains(key)) return makeError("invalid_field", std::string(key) + " is required", key);
    if (!doc[key].is_number()) return makeError("invalid_field", std::string(key) + " must be a number", key);
    return doc[key].get<double>();
  };

  auto category = requireString("category");
  if (!category) return category.error();
  if (!isCitizenCategory(*category)) {
    std::string list;
    for (const auto& c : citizenCategories()) list += (list.empty() ? "" : ", ") + c;
    return makeError("invalid_field", "category must be one of: " + list, "category");
  }
  auto description = requireString("description");
  if (!description) return description.error();
  if (auto s = checkText(*description, "description", limits.maxDescription, true, true); !s) return s.error();
  auto lat = requireNumber("lat");
  if (!lat) return lat.error();
  auto lon = requireNumber("lon");
  if (!lon) return lon.error();
  if (auto s = checkCoordinates(*lat, *lon); !s) return s.error();
  auto occurred = requireString("occurred_at");
  if (!occurred) return occurred.error();
  auto occurredAt = checkOccurredAt(*occurred, "occurred_at", now, limits);
  if (!occurredAt) return occurredAt.error();
  auto address = optionalString("address");
  if (!address) return address.error();
  if (*address) {
    if (auto s = checkText(**address, "address", limits.maxAddress, false, false); !s) return s.error();
  }
  auto contact = optionalString("contact");
  if (!contact) return contact.error();
  if (*contact) {
    if (auto s = checkText(**contact, "contact", limits.maxContact, false, false); !s) return s.error();
  }

  core::Report r = baseReport(sourceId, now);
  r.category = *category;
  r.rawType = *category;
  r.description = *description;
  r.location = core::GeoPoint{*lat, *lon};
  r.occurredAt = *occurredAt;
  if (*address && !(*address)->empty()) r.address = **address;
  if (*contact && !(*contact)->empty()) r.contact = **contact;
  return r;
}

core::Result<core::Report> parseOpen311Request(const std::map<std::string, std::string>& form,
                                               const std::string& sourceId, core::Timestamp now,
                                               const CitizenReportLimits& limits) {
  auto get = [&](const char* key) -> std::optional<std::string> {
    auto it = form.find(key);
    if (it == form.end()) return std::nullopt;
    return it->second;
  };
  auto code = get("service_code");
  if (!code || code->empty()) return makeError("invalid_field", "service_code is required", "service_code");
  if (!isCitizenCategory(*code)) return makeError("invalid_field", "service_code '" + code->substr(0, 40) + "' is not a service; see services.json", "service_code");
  auto parseNumber = [](const std::string& s, double& out) {
    if (s.empty() || s.size() > 32) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
  };
  auto latText = get("lat"), lonText = get("long");
  // GeoReport v2 allows address_string instead of lat/long; SafeStream needs
  // a point to alert on, so a location is required.
  if (!latText || !lonText) return makeError("invalid_field", "lat and long are required", !latText ? "lat" : "long");
  double lat = 0, lon = 0;
  if (!parseNumber(*latText, lat)) return makeError("invalid_field", "lat must be a number", "lat");
  if (!parseNumber(*lonText, lon)) return makeError("invalid_field", "long must be a number", "long");
  if (auto s = checkCoordinates(lat, lon); !s) {
    auto e = s.error();
    if (e.field == "lon") e = makeError("invalid_field", "long must be a number from -180 to 180", "long");
    return e;
  }
  std::string description = get("description").value_or("");
  if (auto s = checkText(description, "description", limits.maxDescription, true, true); !s) return s.error();
  core::Report r = baseReport(sourceId, now);
  r.category = *code;
  r.rawType = *code;
  r.description = description;
  r.location = core::GeoPoint{lat, lon};
  r.occurredAt = now;
  if (auto t = get("requested_datetime"); t && !t->empty()) {
    auto at = checkOccurredAt(*t, "requested_datetime", now, limits);
    if (!at) return at.error();
    r.occurredAt = *at;
  }
  if (auto a = get("address_string"); a && !a->empty()) {
    if (auto s = checkText(*a, "address_string", limits.maxAddress, false, false); !s) return s.error();
    r.address = *a;
  }
  std::string contact;
  for (const char* key : {"first_name", "last_name", "email", "phone"}) {
    if (auto v = get(key); v && !v->empty()) contact += (contact.empty() ? "" : " ") + *v;
  }
  if (!contact.empty()) {
    if (auto s = checkText(contact, "email", limits.maxContact, false, false); !s) return s.error();
    r.contact = contact;
  }
  return r;
}

}  // namespace safestream::api
