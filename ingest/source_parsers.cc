#include "ingest/source_parsers.h"

#include <cctype>
#include <deque>
#include <nlohmann/json.hpp>

#include "core/report_id.h"
#include "core/json_depth.h"

namespace safestream::ingest {
namespace {

using nlohmann::json;

core::Result<json> parseBody(std::string_view body, const std::string& what) {
  // nlohmann ends the input at a NUL byte ("[...]\0garbage" would parse).
  if (body.find('\0') != std::string_view::npos) {
    return core::makeError("bad_body", what + " response is not JSON: it holds a NUL byte", "", true);
  }
  // Records are dumped into each report's raw field, and dump() recurses
  // once per level: a deeply nested body would overflow the stack.
  if (core::jsonTooDeep(body)) {
    return core::makeError("bad_body", what + " response is nested deeper than " + std::to_string(core::kMaxJsonDepth) +
                                           " levels", "", true);
  }
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return core::makeError("bad_body", what + " response is not JSON: " + describeBadBody(body), "", true);
  }
  return j;
}

// The value of a flat record field as text: strings as is, numbers and
// booleans as their JSON text, null/objects/arrays as absent.
std::optional<std::string> textOf(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_boolean()) return v.dump();
  if (v.is_number_float()) {
    // dump() keeps full precision (17 digits) so coordinates round-trip.
    return v.dump();
  }
  return std::nullopt;
}

void addRecord(ParsedBatch& out, const ColumnMapping& mapping, const json& rec, std::size_t index) {
  if (!rec.is_object()) {
    out.rejections.push_back({"not_an_object", "record #" + std::to_string(index) + " is not a JSON object", "",
                              "#" + std::to_string(std::hash<std::string>{}(rec.dump()))});
    return;
  }
  std::deque<std::string> keep;  // backing store: deque keeps handed-out views valid
  FieldGetter get = [&](const std::string& name) -> std::optional<std::string_view> {
    auto it = rec.find(name);
    if (it == rec.end()) return std::nullopt;
    auto t = textOf(*it);
    if (!t) return std::string_view();
    keep.push_back(std::move(*t));
    return std::string_view(keep.back());
  };
  auto r = mapRecord(mapping, get);
  if (!r) {
    std::string id;
    if (auto it = rec.find(mapping.id); it != rec.end()) id = textOf(*it).value_or("");
    std::string key;
    if (id.empty()) key = "#" + std::to_string(std::hash<std::string>{}(rec.dump()));
    out.rejections.push_back({r.error().code, r.error().message, id, key});
    return;
  }
  r->rawJson = rec.dump();
  out.reports.push_back(std::move(*r));
}

}  // namespace

std::string describeBadBody(std::string_view body) {
  std::size_t i = 0;
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  if (i == body.size()) return "empty body";
  if (body[i] == '<') return "an HTML/XML page (" + std::to_string(body.size()) + " bytes)";
  if (body[i] == '{' || body[i] == '[') {
    return "truncated or malformed JSON (" + std::to_string(body.size()) + " bytes)";
  }
  return "unexpected text starting with '" + std::string(body.substr(i, std::min<std::size_t>(20, body.size() - i))) + "'";
}

core::Result<ParsedBatch> parseSpotCrime(std::string_view body, const std::string& timeZone,
                                         const std::string& source) {
  auto doc = parseBody(body, "SpotCrime");
  if (!doc) return doc.error();
  const json& j = *doc;
  if (!j.is_object() || !j.contains("crimes") || !j["crimes"].is_array()) {
    return core::makeError("bad_body", "SpotCrime response has no \"crimes\" array", "", true);
  }
  ColumnMapping m;
  m.source = source;
  m.id = "cdid";
  m.time = "date";
  // 12-hour clock with AM/PM: %I, never %H.
  m.timeFormat = "%m/%d/%y %I:%M %p";
  m.timeZone = timeZone;
  m.type = "type";
  m.lat = "lat";
  m.lon = "lon";
  m.address = "address";
  m.url = "link";
  ParsedBatch out;
  const json& crimes = j["crimes"];
  out.reports.reserve(crimes.size());
  for (std::size_t i = 0; i < crimes.size(); ++i) addRecord(out, m, crimes[i], i);
  return out;
}

core::Result<ParsedBatch> parseJsonRecords(std::string_view body, const ColumnMapping& mapping,
                                           const std::string& recordsKey) {
  auto doc = parseBody(body, mapping.source);
  if (!doc) return doc.error();
  const json* records = &*doc;
  if (!recordsKey.empty()) {
    if (!records->is_object() || !records->contains(recordsKey)) {
      return core::makeError("bad_body", mapping.source + " response has no \"" + recordsKey + "\" field", "", true);
    }
    records = &(*records)[recordsKey];
  }
  if (!records->is_array()) {
    // Many APIs answer errors with 200 and an object such as {"message": ...}.
    std::string hint;
    if (records->is_object() && records->contains("message")) hint = ": " + textOf((*records)["message"]).value_or("");
    return core::makeError("bad_body", mapping.source + " response is not an array of records" + hint, "", true);
  }
  ParsedBatch out;
  out.reports.reserve(records->size());
  for (std::size_t i = 0; i < records->size(); ++i) addRecord(out, mapping, (*records)[i], i);
  return out;
}

core::Result<ZipGrades> parseZipGrades(std::string_view body, const std::string& zip) {
  auto doc = parseBody(body, "ZIP grades");
  if (!doc) return doc.error();
  const json& j = *doc;
  if (!j.is_object() || !j.contains("Overall") || !j["Overall"].is_object()) {
    return core::makeError("bad_body", "ZIP grades response for " + zip + " has no \"Overall\" object", "", true);
  }
  ZipGrades g;
  g.zip = zip;
  for (const auto& [k, v] : j["Overall"].items()) {
    if (auto t = textOf(v)) g.overall[k] = *t;
  }
  if (auto it = g.overall.find("Zipcode"); it != g.overall.end() && !it->second.empty() && it->second != zip) {
    return core::makeError("bad_body", "ZIP grades response is for " + it->second + ", asked for " + zip);
  }
  if (auto it = g.overall.find("Overall Crime Grade"); it != g.overall.end()) g.overallGrade = it->second;
  g.breakdownJson = j.contains("Crime BreakDown") ? j["Crime BreakDown"].dump() : "null";
  g.rawJson = j.dump();
  return g;
}

}  // namespace safestream::ingest
