#pragma once
// The alert subscription model shared by the API (which validates requests
// and writes rows of schemas/sql/0300_subscriptions.sql) and the processor
// (which loads rows, covers their areas with S2 cells and matches reports).
// Pure: no vendor headers here; JSON and OpenSSL stay inside the .cc.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/geo.h"
#include "core/report.h"
#include "core/result.h"

namespace safestream::core {

enum class AreaType { circle, neighbourhood, polygon };

// "circle" | "neighbourhood" | "polygon" (the area_type column).
std::string_view areaTypeName(AreaType type);
std::optional<AreaType> parseAreaType(std::string_view name);

// A ring is closed: front() == back(), at least 4 points. The first ring of a
// polygon is the outer boundary, the others are holes.
using Ring = std::vector<GeoPoint>;

// Minutes after local midnight, 0..1439. start > end wraps midnight
// (22:00-07:00); start == end is rejected (it would mean "never" or "always").
struct QuietHours {
  int startMinute = 0;
  int endMinute = 0;
  bool operator==(const QuietHours&) const = default;
  // True when `localMinute` (0..1439) falls in [start, end).
  bool contains(int localMinute) const;
};

// Limits, also enforced by CHECK constraints in 0300_subscriptions.sql.
inline constexpr double kMinRadiusM = 50;
inline constexpr double kMaxRadiusM = 20000;
inline constexpr int kMaxPerHourLimit = 10000;
// A polygon may span at most this much (diagonal of its bounding box), so its
// cell covering stays as small as the largest circle's.
inline constexpr double kMaxPolygonExtentM = 60000;
inline constexpr std::size_t kMaxPolygonVertices = 2000;
inline constexpr std::size_t kMaxCategories = 32;

struct Subscription {
  std::string id;         // UUID; empty until stored
  std::string tokenHash;  // SHA-256 hex of the bearer token; empty in requests
  AreaType areaType = AreaType::circle;
  GeoPoint center;        // circle
  double radiusM = 0;     // circle
  std::string neighbourhood;   // neighbourhood: upper-case name as in the boundary files
  // neighbourhood: the city id (core/cities.h). Empty in a request: the
  // processor takes the only city having that name, and rejects a name two
  // cities share ("HYDE PARK": Chicago and Austin).
  std::string city;
  std::vector<Ring> polygon;   // polygon: [outer, holes...]
  std::vector<std::string> categories;  // empty: every category
  int minSeverity = 1;                  // 1..5
  std::string timeZone = "UTC";         // IANA zone for quiet hours
  std::optional<QuietHours> quietHours;
  std::optional<int> maxPerHour;        // throttle; empty: unlimited
  // Paused on the server ("paused": true): the processor matches it to no
  // report (no alert, no surge alert) and drops its pending digest. Resuming
  // does not replay what was skipped: only reports processed after the
  // resume can alert.
  bool paused = false;
  bool operator==(const Subscription&) const = default;
};

// The taxonomy categories a subscription may filter on (the processor's
// schemas/taxonomy: theft, burglary, robbery, ...).
std::span<const std::string_view> alertCategories();
// Records that are not crimes (lost property, traffic collisions...): a
// subscription without categories does not receive them; one that lists
// this category does.
inline constexpr std::string_view kNonCrimeCategory = "non-crime";
bool isAlertCategory(std::string_view category);

// Parses and validates a subscription request body, e.g.
//   {"area": {"type": "circle", "lat": 41.88, "lon": -87.63, "radius_m": 500},
//    "categories": ["theft", "robbery"], "min_severity": 2,
//    "time_zone": "America/Chicago",
//    "quiet_hours": {"start": "22:00", "end": "07:00"},   (or "22:00-07:00")
//    "max_per_hour": 5, "paused": false}
// Other areas: {"type": "neighbourhood", "city": "chicago", "name": "LOOP"} and
// {"type": "polygon", "coordinates": [[[lon, lat], ...], ...]} (GeoJSON
// Polygon coordinates: outer ring first, then holes). Unknown fields are
// rejected so typos do not silently widen a subscription. Errors have code
// "invalid_field" and name the field, e.g. "area.radius_m".
Result<Subscription> parseSubscriptionRequest(std::string_view json);

// The same rules on an already built subscription (rows loaded from
// PostgreSQL, tests). Errors name the field as parseSubscriptionRequest does.
Status validateSubscription(const Subscription& subscription);

// Polygon <-> GeoJSON "coordinates" text (the polygon jsonb column).
std::string polygonToJson(const std::vector<Ring>& polygon);
Result<std::vector<Ring>> parsePolygonJson(std::string_view json, std::string_view field = "area.coordinates");

// The public view of a subscription (no token hash), in the request format
// plus "id"; parseSubscriptionRequest accepts it back without "id".
std::string subscriptionToJson(const Subscription& subscription);

// "HH:MM" -> minutes after midnight.
Result<int> parseClockTime(std::string_view text, std::string_view field);
std::string formatClockTime(int minute);

// Tokens: a new random bearer token (43 chars of base64url, 256 bits), and
// its SHA-256 hex (what the database stores). tokenMatches compares in
// constant time.
std::string generateToken();
std::string hashToken(std::string_view token);
bool tokenMatches(std::string_view token, std::string_view storedHash);


}  // namespace safestream::core
