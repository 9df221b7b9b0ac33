#include "api/compression.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "api/static_files.h"

namespace safestream::api {

std::string gzipCompress(std::string_view data, int level) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const auto written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(written);
  return out;
}

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}
bool isJson(std::string_view contentType) {
  std::string ct = lower(contentType.substr(0, contentType.find(';')));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct == "application/json" || ct == "application/geo+json";
}
std::string* findHeader(HttpResponse& r, std::string_view name) {
  for (auto& [k, v] : r.headers) {
    if (lower(k) == name) return &v;
  }
  return nullptr;
}
}  // namespace

bool gzipJsonResponse(std::string_view acceptEncoding, HttpResponse& r, std::size_t minBytes, int level) {
  // An ETag names one representation; such routes encode themselves
  // (GET /v1/cities/{id}/boundaries keeps a gzipped copy with its own tag).
  if (r.body.size() < minBytes || !isJson(r.contentType) || findHeader(r, "content-encoding") || findHeader(r, "etag")) {
    return false;
  }
  if (auto* vary = findHeader(r, "vary")) {
    if (lower(*vary).find("accept-encoding") == std::string::npos) *vary += ", Accept-Encoding";
  } else {
    r.headers.emplace_back("Vary", "Accept-Encoding");
  }
  if (!acceptsGzip(acceptEncoding)) return false;
  std::string gz = gzipCompress(r.body, level);
  if (gz.size() >= r.body.size()) return false;
  r.body = std::move(gz);
  r.headers.emplace_back("Content-Encoding", "gzip");
  return true;
}

std::shared_ptr<const CachedJson> cacheJson(std::string body) {
  auto c = std::make_shared<CachedJson>();
  c->body = std::move(body);
  // Made as a response would be, so the rules (size, level, only if it
  // shrinks) stay those of gzipJsonResponse alone.
  HttpResponse r;
  r.body = c->body;
  if (gzipJsonResponse("gzip", r)) c->gzip = std::move(r.body);
  return c;
}

HttpResponse cachedJsonResponse(const CachedJson& c, std::string_view acceptEncoding) {
  HttpResponse r;
  r.status = 200;
  if (c.body.size() >= kMinJsonGzipBytes) r.headers.emplace_back("Vary", "Accept-Encoding");
  if (!c.gzip.empty() && acceptsGzip(acceptEncoding)) {
    r.body = c.gzip;
    r.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    r.body = c.body;
  }
  return r;
}

}  // namespace safestream::api
