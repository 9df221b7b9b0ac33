#pragma once
// gzip (RFC 1952) of a whole buffer with zlib: once and cached for the web
// app's files and the city boundaries, per response for the API's JSON.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_types.h"

namespace safestream::api {

// Level 9: these bodies are compressed once and served many times, so the
// slowest level costs nothing per request. Throws std::runtime_error only if
// zlib cannot allocate.
std::string gzipCompress(std::string_view data, int level = 9);

// Per-response gzip of the API's JSON. Level 1, as nginx's default
// gzip_comp_level: on a page of 100 synthetic reports (39 KB of JSON with
// random ids, places and times) level 1 gave 7.1 KB in 0.54 ms, level 6
// gave 6.0 KB in 1.5 ms (zlib, the shared 2-core machine), so 1 keeps most
// of the saving for a third of the CPU of every request.
inline constexpr int kJsonGzipLevel = 1;
// Below about one TCP segment, compressing saves no round trip.
inline constexpr std::size_t kMinJsonGzipBytes = 1024;

// Gzips `r` in place when it is JSON (application/json, application/geo+json),
// not encoded already, without an ETag, at least `minBytes` long, and `acceptEncoding` allows
// gzip; adds Content-Encoding. Every JSON response that long gets
// "Vary: Accept-Encoding" (the answer depends on it), compressed or not.
// Returns true when it compressed. A body that would not shrink is left as is.
bool gzipJsonResponse(std::string_view acceptEncoding, HttpResponse& r, std::size_t minBytes = kMinJsonGzipBytes,
                      int level = kJsonGzipLevel);

// A JSON body the answer caches keep, with its gzip made once beside it (by
// gzipJsonResponse's rules and level): the map's answers are asked by many
// browsers, all of which take gzip, and compressing one for each of them
// cost more than the rest of the hit (GET /v1/reports?bbox= with 100
// reports, 35 KB: 7,100-8,100 answers/s with gzip against 19,200 without).
struct CachedJson {
  std::string body;
  std::string gzip;  // empty: too small to compress, or it would not shrink
};
std::shared_ptr<const CachedJson> cacheJson(std::string body);
// The 200 answer for `c`: gzipped when `acceptEncoding` allows it, with the
// Vary and Content-Encoding headers gzipJsonResponse would give.
HttpResponse cachedJsonResponse(const CachedJson& c, std::string_view acceptEncoding);

}  // namespace safestream::api
