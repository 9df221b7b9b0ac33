#include "ingest/column_mapping.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/report_id.h"
#include "ingest/json_config.h"

namespace safestream::ingest {
namespace {

core::Error reject(std::string reason, std::string message) {
  return core::makeError(std::move(reason), std::move(message));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<std::string> field(const FieldGetter& get, const std::string& name) {
  if (name.empty()) return std::nullopt;
  auto v = get(name);
  if (!v) return std::nullopt;
  auto t = trim(*v);
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

// Strict: the whole text must be a finite number.
std::optional<double> toDouble(const std::string& s) {
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

core::Result<core::Timestamp> parseSourceTime(const std::string& text, const std::string& format,
                                              const std::string& zone) {
  if (format == "iso") return core::parseTimestamp(text, zone);
  return core::parseLocalTime(text, format, zone);
}

bool isValidSourceName(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

ColumnMapping chicagoMapping() {
  ColumnMapping m;
  m.source = "chicago";
  m.id = "ID";
  m.time = "Date";
  m.timeFormat = "%m/%d/%Y %I:%M:%S %p";
  m.timeZone = "America/Chicago";
  m.type = "Primary Type";
  m.code = "IUCR";
  m.description = "Description";
  m.lat = "Latitude";
  m.lon = "Longitude";
  m.address = "Block";
  m.arrest = "Arrest";
  m.updated = "Updated On";
  return m;
}

core::Result<core::Report> mapRecord(const ColumnMapping& m, const FieldGetter& get) {
  core::Report r;
  r.source = m.source;
  auto id = field(get, m.id);
  if (!id) return reject("missing_id", "field '" + m.id + "' (the record id) is missing or empty");
  r.sourceId = *id;
  const std::string who = "record " + *id + ": ";

  auto when = field(get, m.time);
  if (!when) return reject("bad_time", who + "field '" + m.time + "' (time) is missing or empty");
  auto t = parseSourceTime(*when, m.timeFormat, m.timeZone);
  if (!t) return reject("bad_time", who + "field '" + m.time + "': " + t.error().message);
  r.occurredAt = *t;
  r.timeZone = m.timeZone;
  r.reportedAt = r.occurredAt;
  if (auto u = field(get, m.updated)) {
    // Only a hint: a bad "updated" value does not make the report wrong.
    if (auto ut = parseSourceTime(*u, m.timeFormat, m.timeZone); ut && *ut >= r.occurredAt) r.reportedAt = *ut;
  }

  auto desc = field(get, m.description);
  auto type = field(get, m.type.empty() ? m.description : m.type);
  if (!type) return reject("missing_type", who + "field '" + (m.type.empty() ? m.description : m.type) + "' (type) is missing or empty");
  r.rawType = *type;
  r.description = desc.value_or("");
  if (auto c = field(get, m.code)) r.rawCode = *c;

  auto lat = field(get, m.lat);
  auto lon = field(get, m.lon);
  if (lat || lon) {
    if (!lat || !lon) return reject("bad_coordinates", who + "only one of latitude/longitude is given");
    auto la = toDouble(*lat);
    auto lo = toDouble(*lon);
    if (!la || !lo || std::fabs(*la) > 90 || std::fabs(*lo) > 180) {
      return reject("bad_coordinates", who + "impossible coordinates (" + *lat + ", " + *lon + ")");
    }
    // (0, 0) is how many feeds spell "unknown"; publish it un-geocoded.
    if (!(*la == 0 && *lo == 0)) r.location = core::GeoPoint{*la, *lo};
  }
  if (auto a = field(get, m.address)) r.address = *a;
  if (auto u = field(get, m.url)) r.url = *u;
  if (auto a = field(get, m.arrest)) {
    std::string v;
    for (char c : *a) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "true" || v == "y" || v == "yes" || v == "1") r.arrest = true;
    else if (v == "false" || v == "n" || v == "no" || v == "0") r.arrest = false;
  }
  r.id = core::reportIdFor(r.source, r.sourceId);
  return r;
}

namespace {

ColumnMapping mappingFrom(const ObjectReader& o) {
  o.allowOnly({"source", "id", "time", "time_format", "time_zone", "type", "code", "description", "lat",
               "lon", "address", "arrest", "url", "updated"});
  ColumnMapping m;
  m.source = o.string("source", "");
  if (!m.source.empty() && !isValidSourceName(m.source)) {
    o.fail("source", "must match ^[a-z][a-z0-9_.:-]{0,63}$ (e.g. \"csv:austin\")");
  }
  m.id = o.string("id");
  m.time = o.string("time");
  m.timeFormat = o.string("time_format", "iso");
  m.timeZone = o.string("time_zone");
  if (!core::isKnownTimeZone(m.timeZone)) o.fail("time_zone", "'" + m.timeZone + "' is not a known IANA time zone");
  if (m.timeFormat != "iso" && m.timeFormat.find('%') == std::string::npos) {
    o.fail("time_format", "must be \"iso\" or a strptime format such as \"%m/%d/%Y %I:%M:%S %p\"");
  }
  m.type = o.string("type", "");
  m.code = o.string("code", "");
  m.description = o.string("description", "");
  if (m.type.empty() && m.description.empty()) o.fail("type", "is required (or give 'description')");
  m.lat = o.string("lat", "");
  m.lon = o.string("lon", "");
  if (m.lat.empty() != m.lon.empty()) o.fail(m.lat.empty() ? "lat" : "lon", "must be given together with the other coordinate");
  m.address = o.string("address", "");
  m.arrest = o.string("arrest", "");
  m.url = o.string("url", "");
  m.updated = o.string("updated", "");
  return m;
}

}  // namespace

ColumnMapping columnMappingFromReader(const ObjectReader& reader) { return mappingFrom(reader); }

ColumnMapping loadColumnMapping(const std::string& path) {
  JsonDoc doc = JsonDoc::fromFile(path);
  ObjectReader o(doc, doc.root(), "");
  ColumnMapping m = mappingFrom(o);
  if (m.source.empty()) o.fail("source", "is required (e.g. \"csv:austin\")");
  return m;
}

ColumnMapping parseColumnMapping(std::string_view jsonText, const std::string& where) {
  JsonDoc doc(std::string(jsonText), where);
  return mappingFrom(ObjectReader(doc, doc.root(), ""));
}

}  // namespace safestream::ingest
