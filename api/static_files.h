#pragma once
// The pure rules behind serving the web app's static files (api/web_app.h
// does the file I/O): which URL path maps to which file, its media type and
// cache policy, entity tags and If-None-Match, Accept-Encoding, and the
// Content-Security-Policy. No I/O, no vendor headers: unit-tested directly.
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace safestream::api {

// The file a URL path names, relative to the web root ("index.html",
// "assets/app-3f9a1c2e.js"), or nullopt when the path could reach outside the
// root or at something that is never served: a "." or ".." segment, an empty
// segment ("//"), a backslash, a NUL or control character, a hidden name
// (".git", ".env"), or more than 16 segments. `urlPath` is the already
// percent-decoded path (so "%2e%2e" arrives here as ".."). A path ending in
// "/" names that folder's index.html.
std::optional<std::string> staticRelativePath(std::string_view urlPath);

// Media type by extension (lower-cased); application/octet-stream when unknown.
std::string_view mimeTypeFor(std::string_view path);
// Text-like types worth gzipping (images, fonts in woff2 and archives are compressed already).
bool isCompressible(std::string_view mimeType);

// True for build output named by its content hash, e.g. "assets/index-B3x9Kq_a.js"
// or "app.3f9a1c2e.css": a stem ending in [-.]<8+ chars of [A-Za-z0-9_]> with at
// least one digit. Such a file never changes under its name.
bool isHashedAsset(std::string_view relPath);
// "public, max-age=31536000, immutable" for hashed assets; "no-cache" (revalidate
// with the ETag every time) for everything else, index.html above all.
std::string cacheControlFor(std::string_view relPath);

// Strong entity tag of `bytes` ("\"<16 hex>\""); the gzip representation gets
// its own tag ("\"<16 hex>-gz\""), as RFC 9110 asks of different encodings.
std::string entityTag(std::string_view bytes, bool gzip);
// If-None-Match (RFC 9110 13.1.2, weak comparison): "*" or any listed tag
// equal to `etag` with W/ ignored.
bool etagMatches(std::string_view ifNoneMatch, std::string_view etag);
// Accept-Encoding names gzip (or *) with a non-zero q-value.
bool acceptsGzip(std::string_view acceptEncoding);

// The origin pattern of a Leaflet-style tile URL template for the CSP:
// "https://{s}.tile.example.org/{z}/{x}/{y}.png" -> "https://*.tile.example.org".
// Only http/https; a "{...}" placeholder is allowed only as the whole leftmost
// host label. Error (code invalid_config) otherwise.
core::Result<std::string> tileSourceOrigin(std::string_view tileUrl);

// The page's policy: everything from the API's own origin, no inline script
// or style, no plugins, no framing; images also from data: URLs and the tile
// origin (when one is configured), which connect-src allows too.
std::string contentSecurityPolicy(std::string_view tileOrigin);

// GET /v1/web-config: {"tile_url":…,"tile_attribution":…}; empty means null.
std::string webConfigJson(std::string_view tileUrl, std::string_view tileAttribution);

// A client-side route of the single-page app ("/dashboard", "/alerts/x"):
// GET of a path outside the API's prefixes whose last segment has no
// extension, asked for by a browser (Accept names text/html). Answered with
// index.html so a reload or a shared link works.
bool isAppRoute(std::string_view urlPath, std::string_view accept);

}  // namespace safestream::api
