#include "ingest/column_mapping.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/cities.h"
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

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

core::Result<core::Timestamp> parseAnyFormat(const ColumnMapping& m, const std::string& text) {
  auto t = parseSourceTime(text, m.timeFormat, m.timeZone);
  if (t || m.moreTimeFormats.empty()) return t;
  for (const auto& f : m.moreTimeFormats) {
    if (auto u = parseSourceTime(text, f, m.timeZone)) return u;
  }
  return core::makeError(t.error().code, t.error().message + " (nor any of the " +
                                             std::to_string(m.moreTimeFormats.size()) + " other formats)");
}

}  // namespace

core::Result<core::Timestamp> parseMappedTime(const ColumnMapping& m, const std::string& dateText,
                                              const std::optional<std::string>& timeOfDayText) {
  auto day = parseAnyFormat(m, dateText);
  if (!day || m.timeOfDay.empty() || !timeOfDayText) return day;
  auto parts = core::localParts(*day, m.timeZone);
  if (!parts) return parts.error();
  const std::string& tod = *timeOfDayText;
  if (m.timeOfDayFormat == "hhmm") {
    bool digits = !tod.empty() && tod.size() <= 4;
    for (char c : tod) digits = digits && c >= '0' && c <= '9';
    const int v = digits ? std::atoi(tod.c_str()) : -1;
    if (v < 0 || v / 100 > 23 || v % 100 > 59) {
      return core::makeError("bad_time", "time of day '" + tod + "' is not HHMM (0000..2359)");
    }
    char clock[16];
    std::snprintf(clock, sizeof clock, "%02d:%02d:00", v / 100, v % 100);
    return core::parseLocalTime(parts->date + " " + clock, "%Y-%m-%d %H:%M:%S", m.timeZone);
  }
  auto t = core::parseLocalTime(parts->date + " " + tod, "%Y-%m-%d " + m.timeOfDayFormat, m.timeZone);
  if (!t) return core::makeError("bad_time", "time of day '" + tod + "' does not match '" + m.timeOfDayFormat + "'");
  return t;
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
  m.city = "chicago";
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
  auto t = parseMappedTime(m, *when, field(get, m.timeOfDay));
  if (!t) return reject("bad_time", who + "field '" + m.time + (m.timeOfDay.empty() ? "" : "' + '" + m.timeOfDay) +
                                        "': " + t.error().message);
  r.occurredAt = *t;
  r.timeZone = m.timeZone;
  r.reportedAt = r.occurredAt;
  if (auto u = field(get, m.updated)) {
    // Only a hint: a bad "updated" value does not make the report wrong.
    // A date-only "updated" (no time-of-day column of its own) that falls
    // on the day of the event is not later than the event: kept as is.
    if (auto ut = parseAnyFormat(m, *u); ut && *ut >= r.occurredAt) r.reportedAt = *ut;
  }

  auto desc = field(get, m.description);
  auto type = field(get, m.type.empty() ? m.description : m.type);
  if (!type && !m.type.empty()) type = desc;  // an empty type: the description says what it was
  if (!type) return reject("missing_type", who + "field '" + (m.type.empty() ? m.description : m.type) + "' (type) is missing or empty");
  r.rawType = *type;
  r.description = desc.value_or("");
  if (auto c = field(get, m.code)) r.rawCode = *c;

  bool missing = false;
  for (const auto& text : m.missingCoordinates) {
    for (const std::string* col : {&m.lat, &m.lon}) {
      auto v = field(get, *col);
      missing = missing || (v && *v == text);
    }
  }
  auto lat = missing ? std::nullopt : field(get, m.lat);
  auto lon = missing ? std::nullopt : field(get, m.lon);
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
  if (auto a = field(get, m.address)) {
    // Fixed-width exports pad inside the text ("1100 W  39TH      PL").
    std::string compact;
    for (char c : *a) {
      if (c == ' ' && !compact.empty() && compact.back() == ' ') continue;
      compact.push_back(c);
    }
    r.address = std::move(compact);
  }
  if (auto u = field(get, m.url)) r.url = *u;
  if (auto a = field(get, m.arrest)) {
    const std::string v = lower(*a);
    if (!m.arrestValues.empty()) {
      r.arrest = false;
      for (const auto& yes : m.arrestValues) {
        if (lower(yes) == v) r.arrest = true;
      }
    } else if (v == "true" || v == "y" || v == "yes" || v == "1") {
      r.arrest = true;
    } else if (v == "false" || v == "n" || v == "no" || v == "0") {
      r.arrest = false;
    }
  }
  if (auto d = field(get, m.district)) r.district = *d;
  if (!m.city.empty()) r.city = m.city;
  r.id = core::reportIdFor(r.source, r.sourceId);
  return r;
}

namespace {

ColumnMapping mappingFrom(const ObjectReader& o) {
  o.allowOnly({"source", "id", "time", "time_format", "time_of_day", "time_of_day_format", "time_zone", "type",
               "code", "description", "lat", "lon", "missing_coordinates", "address", "arrest", "arrest_values",
               "url", "updated", "district", "city", "$comment"});
  ColumnMapping m;
  m.source = o.string("source", "");
  if (!m.source.empty() && !isValidSourceName(m.source)) {
    o.fail("source", "must match ^[a-z][a-z0-9_.:-]{0,63}$ (e.g. \"csv:austin\")");
  }
  m.id = o.string("id");
  m.time = o.string("time");
  std::vector<std::string> formats{"iso"};
  if (o.has("time_format") && o.json()["time_format"].is_array()) {
    formats = o.strings("time_format");
  } else {
    formats = {o.string("time_format", "iso")};
  }
  for (const auto& f : formats) {
    if (f != "iso" && f.find('%') == std::string::npos) {
      o.fail("time_format", "must be \"iso\" or a strptime format such as \"%m/%d/%Y %I:%M:%S %p\" (or a list of them)");
    }
  }
  m.timeFormat = formats.front();
  m.moreTimeFormats.assign(formats.begin() + 1, formats.end());
  m.timeZone = o.string("time_zone");
  if (!core::isKnownTimeZone(m.timeZone)) o.fail("time_zone", "'" + m.timeZone + "' is not a known IANA time zone");
  m.timeOfDay = o.string("time_of_day", "");
  m.timeOfDayFormat = o.string("time_of_day_format", "hhmm");
  if (m.timeOfDayFormat != "hhmm" && m.timeOfDayFormat.find('%') == std::string::npos) {
    o.fail("time_of_day_format", "must be \"hhmm\" or a strptime format such as \"%H:%M:%S\"");
  }
  if (o.has("time_of_day_format") && m.timeOfDay.empty()) o.fail("time_of_day_format", "needs 'time_of_day'");
  m.type = o.string("type", "");
  m.code = o.string("code", "");
  m.description = o.string("description", "");
  if (m.type.empty() && m.description.empty()) o.fail("type", "is required (or give 'description')");
  m.lat = o.string("lat", "");
  m.lon = o.string("lon", "");
  if (m.lat.empty() != m.lon.empty()) o.fail(m.lat.empty() ? "lat" : "lon", "must be given together with the other coordinate");
  if (o.has("missing_coordinates")) m.missingCoordinates = o.strings("missing_coordinates");
  m.address = o.string("address", "");
  m.arrest = o.string("arrest", "");
  if (o.has("arrest_values")) {
    m.arrestValues = o.strings("arrest_values");
    if (m.arrest.empty()) o.fail("arrest_values", "needs 'arrest' (the column the values are read from)");
  }
  m.district = o.string("district", "");
  m.city = o.string("city", "");
  if (!m.city.empty() && !core::isCitySlug(m.city)) {
    o.fail("city", "must be a city id of deploy/cities.json (a lower-case slug such as \"los-angeles\")");
  }
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
