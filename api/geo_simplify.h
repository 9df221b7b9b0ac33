#pragma once
// Douglas–Peucker simplification of the city boundaries the web app draws as
// its base map (GET /v1/cities/{id}/boundaries?simplify=<metres>). Pure: no
// I/O. Chicago's 77 community areas are ~2 MB of GeoJSON (738 KB gzipped)
// at survey precision; a map at city zoom shows a few metres per pixel.
#include <string>
#include <string_view>
#include <vector>

#include "core/report.h"
#include "core/result.h"

namespace safestream::api {

// The points of `line` that Douglas–Peucker keeps for `toleranceM`: every
// dropped point is within toleranceM of the kept polyline (distances in a
// local equirectangular projection, exact enough at city scale). The first
// and last points are always kept; a closed ring stays closed. Iterative, so
// a ring of 100,000 points does not recurse that deep.
std::vector<core::GeoPoint> douglasPeucker(const std::vector<core::GeoPoint>& line, double toleranceM);

// Every ring of the Polygon and MultiPolygon geometries of a GeoJSON
// FeatureCollection, simplified with `toleranceM` (a ring that would keep
// fewer than 4 points stays as it is, so no area vanishes or turns
// invalid); coordinates written with 6 decimals (~0.1 m). Properties and
// other geometries pass unchanged. Neighbouring areas are simplified apart,
// so a shared border may differ by up to toleranceM on either side.
// Errors (code "invalid_geojson") for input that is no FeatureCollection.
core::Result<std::string> simplifyFeatureCollection(std::string_view geojson, double toleranceM);

}  // namespace safestream::api
