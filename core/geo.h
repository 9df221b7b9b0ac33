#pragma once
// The one geometry of the project: a spherical Earth and the great-circle
// distance on it. Subscription circles (core/subscription), near-duplicate
// radii (processor/dedupe_window and the Redis index's Lua script, which
// receives kEarthRadiusMetres), near= searches (api/report_query) and map
// simplification (api/geo_simplify) all measure with this.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/report.h"

namespace safestream::core {

// Mean Earth radius (IUGG), in metres.
inline constexpr double kEarthRadiusMetres = 6371008.8;
inline constexpr double kRadiansPerDegree = std::numbers::pi / 180;

// Haversine distance in metres, written as S2LatLng::GetDistance computes it
// (each coordinate to radians first, then the differences), so it gives the
// same double as S2 and as the Lua copy in processor/redis_duplicate_index.cc
// (tests/unit/processor/neighbourhood_index_test.cc compares them bit for bit).
inline double distanceMetres(GeoPoint a, GeoPoint b) {
  const double lat1 = kRadiansPerDegree * a.lat, lat2 = kRadiansPerDegree * b.lat;
  const double dlat = std::sin(0.5 * (lat2 - lat1));
  const double dlng = std::sin(0.5 * (kRadiansPerDegree * b.lon - kRadiansPerDegree * a.lon));
  const double x = dlat * dlat + dlng * dlng * std::cos(lat1) * std::cos(lat2);
  return 2 * std::asin(std::sqrt(std::min(1.0, x))) * kEarthRadiusMetres;
}

}  // namespace safestream::core
