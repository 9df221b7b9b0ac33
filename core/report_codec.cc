#include "core/report_codec.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "core/cities.h"
#include "core/report_id.h"

namespace safestream::core {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxShort = 256;
constexpr std::size_t kMaxDescription = 8192;
constexpr std::size_t kMaxAddress = 512;
constexpr std::size_t kMaxUrl = 2048;

Error fieldError(const std::string& field, const std::string& what) {
  return makeError("invalid_field", field + " " + what, field);
}

using simdjson::dom::element;
using simdjson::dom::object;

// A field's value; nullopt when absent or null. (With a key given twice,
// the first counts.)
std::optional<element> fieldOf(const object& o, std::string_view field) {
  element v;
  if (o.at_key(field).get(v) != simdjson::SUCCESS || v.is_null()) return std::nullopt;
  return v;
}

// Reads an optional string field; an error when present with the wrong type
// or too long. The view points into the parser: valid until its next parse.
std::optional<Error> readView(const object& o, const char* field, std::size_t maxLen,
                              std::optional<std::string_view>& out) {
  auto v = fieldOf(o, field);
  if (!v) return std::nullopt;
  std::string_view s;
  if (v->get_string().get(s) != simdjson::SUCCESS) return fieldError(field, "must be a string");
  if (s.size() > maxLen) {
    return fieldError(field, "is " + std::to_string(s.size()) + " bytes, over the " +
                                 std::to_string(maxLen) + "-byte limit");
  }
  out = s;
  return std::nullopt;
}

std::optional<Error> readString(const object& o, const char* field, std::size_t maxLen,
                                std::optional<std::string>& out) {
  std::optional<std::string_view> v;
  if (auto e = readView(o, field, maxLen, v)) return e;
  if (v) out = std::string(*v);
  return std::nullopt;
}

std::optional<Error> readRequiredString(const object& o, const char* field, std::size_t maxLen,
                                        std::string& out) {
  std::optional<std::string_view> v;
  if (auto e = readView(o, field, maxLen, v)) return e;
  if (!v || v->empty()) return fieldError(field, "is required and must be a non-empty string");
  out = std::string(*v);
  return std::nullopt;
}

std::optional<Error> readTime(const object& o, const char* field, std::string_view zone,
                              std::optional<Timestamp>& out) {
  std::optional<std::string_view> text;
  if (auto e = readView(o, field, 64, text)) return e;
  if (!text) return std::nullopt;
  auto t = parseTimestamp(*text, zone);
  if (!t) return fieldError(field, "is not a valid time: " + t.error().message);
  // PostgreSQL rejects year 0 and partition/archive names assume four-digit
  // years: a time outside this range would fail every sink, so it is invalid.
  static const Timestamp kMin = *parseTimestamp("1900-01-01T00:00:00Z");
  static const Timestamp kMax = *parseTimestamp("9999-12-31T00:00:00Z");
  if (*t < kMin || *t > kMax) return fieldError(field, "must be between 1900-01-01 and 9999-12-31");
  out = *t;
  return std::nullopt;
}

// A coordinate: any JSON number (integers too) within [-limit, limit].
std::optional<double> coordinate(const element& v, double limit) {
  double d;
  if (v.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d) || std::fabs(d) > limit) return std::nullopt;
  return d;
}

bool isCategorySlug(const std::string& s) {
  if (s.empty() || s.size() > 40 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

std::optional<Error> readEnrichment(const element& v, Enrichment& e) {
  object j;
  if (v.get_object().get(j) != simdjson::SUCCESS) return fieldError("enrichment", "must be an object");
  std::optional<std::string> s;
  if (auto err = readString(j, "category", 40, s)) return fieldError("enrichment." + err->field, "must be a short string");
  if (s) e.category = *s;
  auto readInt = [&](const char* f, int lo, int hi, int& out) -> std::optional<Error> {
    auto it = fieldOf(j, f);
    if (!it) return std::nullopt;
    std::int64_t n;
    if (!it->is_int64() || it->get_int64().get(n) != simdjson::SUCCESS || n < lo || n > hi) {
      return fieldError(std::string("enrichment.") + f,
                        "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    out = static_cast<int>(n);
    return std::nullopt;
  };
  if (auto err = readInt("severity", 0, 5, e.severity)) return err;
  if (auto err = readInt("local_hour", -1, 23, e.localHour)) return err;
  if (auto err = readInt("local_weekday", 0, 7, e.localWeekday)) return err;
  for (auto [name, dst] : {std::pair{"cell_l10", &e.cellL10}, std::pair{"cell_l13", &e.cellL13},
                           std::pair{"cell_l16", &e.cellL16}}) {
    std::optional<std::string_view> tok;
    if (readView(j, name, 16, tok)) return fieldError(std::string("enrichment.") + name, "must be an S2 token");
    if (tok) {
      *dst = cellFromToken(*tok);
      if (*dst == 0) return fieldError(std::string("enrichment.") + name, "is not an S2 cell token");
    }
  }
  if (readString(j, "neighbourhood", kMaxShort, e.neighbourhood)) {
    return fieldError("enrichment.neighbourhood", "must be a string");
  }
  if (readString(j, "city", 64, e.city) || (e.city && !isCitySlug(*e.city))) {
    return fieldError("enrichment.city", "must be a city id (lower-case slug)");
  }
  std::optional<std::string> by;
  if (readString(j, "classified_by", kMaxShort, by)) return fieldError("enrichment.classified_by", "must be a string");
  if (by) e.classifiedBy = *by;
  std::optional<std::string> dup;
  if (readString(j, "duplicate_of", 36, dup) || (dup && !isUuid(*dup))) {
    return fieldError("enrichment.duplicate_of", "must be a report id (UUID)");
  }
  if (dup) e.duplicateOf = ReportId{*dup};
  if (auto err = readTime(j, "processed_at", {}, e.processedAt)) {
    return fieldError("enrichment.processed_at", err->message);
  }
  return std::nullopt;
}

}  // namespace

// Hand-written instead of std::regex: this runs for every message.
bool isSourceName(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string cellToken(std::uint64_t id) {
  if (id == 0) return "X";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) out[static_cast<size_t>(i)] = kHex[id & 0xF];
  out.erase(out.find_last_not_of('0') + 1);
  return out;
}

std::uint64_t cellFromToken(std::string_view token) {
  if (token.empty() || token.size() > 16) return 0;
  std::uint64_t id = 0;
  for (char c : token) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return 0;
    id = (id << 4) | static_cast<std::uint64_t>(v);
  }
  return id << (4 * (16 - token.size()));
}

Result<Report> decodeReport(std::string_view text, const DecodeOptions& opt) {
  if (text.size() > opt.maxBytes) {
    return makeError("too_large", "message is " + std::to_string(text.size()) + " bytes, over the " +
                                      std::to_string(opt.maxBytes) + "-byte limit");
  }
  // simdjson's DOM parser validates the whole document (syntax, UTF-8) like
  // a full parse, then fields are looked up on its tape. It needs
  // SIMDJSON_PADDING readable bytes after the text: a per-thread buffer,
  // reused, instead of the copy parse() would allocate per message.
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING) padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded.data(), text.data(), text.size());
  element doc;
  if (parser.parse(padded.data(), text.size(), /*realloc_if_needed=*/false).get(doc) != simdjson::SUCCESS) {
    return makeError("invalid_json", "message is not valid JSON");
  }
  object j;
  if (doc.get_object().get(j) != simdjson::SUCCESS) return makeError("invalid_json", "message must be a JSON object");

  Report r;
  std::string id;
  if (auto e = readRequiredString(j, "source", 64, r.source)) return *e;
  if (!isSourceName(r.source)) return fieldError("source", "must match ^[a-z][a-z0-9_.:-]{0,63}$");
  if (auto e = readRequiredString(j, "source_id", kMaxShort, r.sourceId)) return *e;
  if (auto e = readRequiredString(j, "id", 36, id)) return *e;
  if (!isUuid(id)) return fieldError("id", "must be a lower-case UUID");
  r.id = ReportId{id};
  if (auto e = readRequiredString(j, "raw_type", kMaxShort, r.rawType)) return *e;
  if (auto e = readString(j, "raw_code", 64, r.rawCode)) return *e;
  if (auto e = readString(j, "category", 40, r.category)) return *e;
  if (r.category && !isCategorySlug(*r.category)) return fieldError("category", "must be a lower-case category slug");
  std::optional<std::string_view> desc;
  if (auto e = readView(j, "description", kMaxDescription, desc)) return *e;
  r.description = std::string(desc.value_or(""));
  if (auto e = readString(j, "city", 64, r.city)) return *e;
  if (r.city && !isCitySlug(*r.city)) return fieldError("city", "must be a city id (lower-case slug like los-angeles)");
  if (auto e = readString(j, "district", kMaxShort, r.district)) return *e;
  if (auto e = readString(j, "time_zone", 64, r.timeZone)) return *e;
  if (r.timeZone && !isKnownTimeZone(*r.timeZone)) return fieldError("time_zone", "is not a known IANA time zone");

  std::optional<Timestamp> occurred, reported;
  if (!fieldOf(j, "occurred_at")) return fieldError("occurred_at", "is required");
  if (auto e = readTime(j, "occurred_at", r.timeZone.value_or(""), occurred)) return *e;
  r.occurredAt = *occurred;
  const Timestamp now = opt.now == Timestamp{} ? nowUtc() : opt.now;
  if (r.occurredAt > now + opt.maxFuture) return fieldError("occurred_at", "is in the future");
  if (auto e = readTime(j, "reported_at", r.timeZone.value_or(""), reported)) return *e;
  r.reportedAt = reported.value_or(r.occurredAt);
  if (auto e = readTime(j, "ingested_at", {}, r.ingestedAt)) return *e;

  const auto lat = fieldOf(j, "lat");
  const auto lon = fieldOf(j, "lon");
  if (lat.has_value() != lon.has_value()) {
    return fieldError(lat ? "lon" : "lat", "is required when the other coordinate is given");
  }
  if (lat) {
    const auto la = coordinate(*lat, 90);
    if (!la) return fieldError("lat", "must be a number between -90 and 90");
    const auto lo = coordinate(*lon, 180);
    if (!lo) return fieldError("lon", "must be a number between -180 and 180");
    r.location = GeoPoint{*la, *lo};
  }
  if (auto e = readString(j, "address", kMaxAddress, r.address)) return *e;
  if (auto e = readString(j, "url", kMaxUrl, r.url)) return *e;
  if (auto e = readString(j, "contact", kMaxAddress, r.contact)) return *e;
  if (auto v = fieldOf(j, "arrest")) {
    bool b;
    if (v->get_bool().get(b) != simdjson::SUCCESS) return fieldError("arrest", "must be true or false");
    r.arrest = b;
  }
  if (auto v = fieldOf(j, "raw")) r.rawJson = simdjson::minify(*v);
  if (auto v = fieldOf(j, "enrichment")) {
    Enrichment e;
    if (auto err = readEnrichment(*v, e)) return *err;
    r.enrichment = std::move(e);
  }
  return r;
}

namespace {

// JSON text written directly (the hot path of every sink and producer), in
// the form nlohmann::json's dump gave before: keys in sorted order, no
// spaces, invalid UTF-8 replaced. Plain printable ASCII is copied as is;
// any other string goes through nlohmann's serializer.
void putString(std::string& out, std::string_view s) {
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

void putDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectWriter() { out_ += '}'; }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  std::string& key(const char* k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += k;
    out_ += "\":";
    return out_;
  }
  void str(const char* k, std::string_view v) { putString(key(k), v); }
  void optStr(const char* k, const std::optional<std::string>& v) {
    if (v) str(k, *v);
  }
  void time(const char* k, Timestamp t) { str(k, formatTimestamp(t)); }
  void integer(const char* k, long long v) { key(k) += std::to_string(v); }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

std::string encodeReport(const Report& r, bool includePrivate) {
  std::string out;
  out.reserve(640);
  {
    ObjectWriter o(out);  // keys in sorted order
    o.optStr("address", r.address);
    if (r.arrest) o.key("arrest") += *r.arrest ? "true" : "false";
    o.optStr("category", r.category);
    o.optStr("city", r.city);
    if (includePrivate) o.optStr("contact", r.contact);
    o.str("description", r.description);
    o.optStr("district", r.district);
    if (r.enrichment) {
      const Enrichment& e = *r.enrichment;
      o.key("enrichment");
      ObjectWriter x(out);
      x.str("category", e.category);
      if (e.cellL10) x.str("cell_l10", cellToken(e.cellL10));
      if (e.cellL13) x.str("cell_l13", cellToken(e.cellL13));
      if (e.cellL16) x.str("cell_l16", cellToken(e.cellL16));
      x.optStr("city", e.city);
      if (!e.classifiedBy.empty()) x.str("classified_by", e.classifiedBy);
      if (e.duplicateOf) x.str("duplicate_of", e.duplicateOf->value);
      x.integer("local_hour", e.localHour);
      x.integer("local_weekday", e.localWeekday);
      x.optStr("neighbourhood", e.neighbourhood);
      if (e.processedAt) x.time("processed_at", *e.processedAt);
      x.integer("severity", e.severity);
    }
    o.str("id", r.id.value);
    if (r.ingestedAt) o.time("ingested_at", *r.ingestedAt);
    if (r.location) {
      putDouble(o.key("lat"), r.location->lat);
      putDouble(o.key("lon"), r.location->lon);
    }
    o.time("occurred_at", r.occurredAt);
    if (includePrivate && r.rawJson) {
      json raw = json::parse(*r.rawJson, nullptr, false);
      o.key("raw") += (raw.is_discarded() ? json(*r.rawJson) : raw).dump(-1, ' ', false, json::error_handler_t::replace);
    }
    o.optStr("raw_code", r.rawCode);
    o.str("raw_type", r.rawType);
    o.time("reported_at", r.reportedAt);
    o.str("source", r.source);
    o.str("source_id", r.sourceId);
    o.optStr("time_zone", r.timeZone);
    o.optStr("url", r.url);
  }
  return out;
}

}  // namespace safestream::core
